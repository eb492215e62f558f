export * from './agents/grpc-agent-connector';
export * from './config';
export * from './manager';
export * from './service/cluster-service';
