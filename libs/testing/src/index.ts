export * from './wait-for';
export * from './ports';
export * from './temp-dir';
export * from './processes';
export * from './engines';
export * from './registry';
export * from './grpc-services';
export * from './etcd';
