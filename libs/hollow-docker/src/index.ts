export * from './docker-error';
export * from './engine';
export * from './programs';
export * from './server';
export * from './fleet';
