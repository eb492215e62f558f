export * from './backoff';
export * from './clock';
export * from './human-duration';
