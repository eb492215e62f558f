export * from './flags';
export * from './security-flags';
export * from './metrics-flags';
