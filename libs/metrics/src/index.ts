export * from './metrics-registry';
export * from './metrics-endpoint';
export * from './grpc-call-metrics';
