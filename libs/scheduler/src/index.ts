export * from './expression';
export * from './filters';
export * from './placement-engine';
export * from './placement-request';
export * from './scheduler';
export * from './strategies';
export * from './static-engine';
