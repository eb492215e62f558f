export * from './flags';
export * from './security-flags';
export * from './metrics-flags';
export * from './effective';
export * from './build-info';
