export * from './address';
export * from './client';
export * from './errors';
export * from './keepalive';
export * from './logger';
export * from './server';
export * from './tls';
