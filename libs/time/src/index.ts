export * from './backoff';
export * from './clock';
