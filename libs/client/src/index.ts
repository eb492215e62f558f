// @flotilla/client: the cluster API (flotilla.cluster.v1.ClusterService) for TypeScript and Node.js.
export { ClusterClient, idempotency, type RequestOf } from './cluster-client';
export { ServerStream } from './server-stream';
export { ContainerSession, type AttachSession, type ExecSession } from './container-session';
export { ClientReason, isConnectionFailure } from './failures';
export { defaults, type CallOptions, type ClientTls, type ClusterClientOptions, type RetryOptions } from './options';
export * from '@flotilla/errors';
