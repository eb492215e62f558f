/**
 * Who may call what is read from the caller's client certificate: its subject's OU is its role,
 * as SwarmKit puts `swarm-manager` or `swarm-worker` there. One role per certificate.
 */
export const roles = ['manager', 'agent', 'discovery', 'operator', 'reader'] as const;
export type Role = (typeof roles)[number];

export function isRole(value: unknown): value is Role {
  return typeof value === 'string' && (roles as readonly string[]).includes(value);
}

/** Services serve TLS and dial other services; people and scripts only dial. */
export const serviceRoles: readonly Role[] = ['manager', 'agent', 'discovery'];

/** What each role is for, for help texts and the README. */
export const roleDescriptions: Record<Role, string> = {
  manager: 'a cluster-manager: the only caller an engine-agent obeys',
  agent: 'an engine-agent: serves its engine to managers',
  discovery: 'a discovery service: the only caller of SyncEngines',
  operator: 'a person or system that runs the cluster: the whole cluster API',
  reader: 'read-only: list, inspect, watch and explain',
};
