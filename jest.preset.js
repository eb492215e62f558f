// Shared Jest settings: TypeScript through ts-jest (type-checking happens in `build`), Node
// environment, and workspace imports resolved to sources so tests need no prior build of libs.
const path = require('node:path');

module.exports = function preset(projectDir) {
  return {
    rootDir: projectDir,
    testEnvironment: 'node',
    transform: {
      '^.+\\.ts$': ['ts-jest', { tsconfig: path.join(__dirname, 'tsconfig.jest.json') }],
    },
    moduleNameMapper: {
      // Test doubles live behind each package's `testing` entry point (package.json "exports").
      // One module per proto package: @flotilla/proto/cluster, /agent, /discovery, /version.
      '^@flotilla/proto/(cluster|agent|discovery|version)$': path.join(__dirname, 'libs/proto/src/$1.ts'),
      '^@flotilla/([a-z-]+)/testing$': [path.join(__dirname, 'libs/$1/src/testing.ts'), path.join(__dirname, 'apps/$1/src/testing.ts')],
      '^@flotilla/([a-z-]+)$': [path.join(__dirname, 'libs/$1/src/index.ts'), path.join(__dirname, 'apps/$1/src/index.ts')],
    },
    reporters: ['default', path.join(__dirname, 'tools/jest/summary-reporter.js')],
    // Every test folder lives under one folder per run, removed at the end even after a failure.
    globalSetup: path.join(__dirname, 'tools/jest/global-setup.js'),
    globalTeardown: path.join(__dirname, 'tools/jest/global-teardown.js'),
    // The deploy bundles (apps/*/deploy) hold a package.json of the app's name: not modules to resolve.
    modulePathIgnorePatterns: ['<rootDir>/deploy/'],
    testMatch: ['<rootDir>/src/**/*.test.ts', '<rootDir>/test/**/*.test.ts'],
    // Integration tests start real engines and processes; each waits on conditions with deadlines.
    testTimeout: 120000,
    maxWorkers: 1,
  };
};
