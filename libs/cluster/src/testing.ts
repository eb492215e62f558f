// Test doubles of the cluster domain, for tests and benchmarks only: `@flotilla/cluster/testing`.
// Production code imports `@flotilla/cluster`, which does not export these.
export * from './fake-agents';
