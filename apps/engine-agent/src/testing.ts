// Test doubles of the engine-agent, for tests and benchmarks only: `@flotilla/engine-agent/testing`.
// Production code imports `@flotilla/engine-agent`, which does not export these.
export * from './docker/hollow-backend';
export * from './docker/hollow-logs';
