export * from './error-code';
export * from './flotilla-error';
export * from './errors';
export * from './clip';
