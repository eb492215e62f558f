export * from './agent-connector';
export * from './cluster';
export * from './engine';
export * from './engine-address';
export * from './engine-view';
export * from './event-hub';
export * from './fake-agents';
export * from './cluster-containers';
