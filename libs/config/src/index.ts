export * from './flags';
export * from './security-flags';
