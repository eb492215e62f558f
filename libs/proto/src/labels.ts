/**
 * Container labels that are part of the contract between the manager and the agents (and any
 * other client): the create's idempotency key. A create whose labels carry it is made at most
 * once per engine: a retried create with the same key answers with the container already made.
 */
export const requestIdLabel = 'com.flotilla.request-id';
