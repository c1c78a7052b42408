/**
 * Projects: `unit` (pure tests: no Temporal server, no network, no child processes), `server` (everything that runs
 * against a real Temporal dev server, which its globalSetup starts once per run) and `durability` (the same setup;
 * scripts/test.sh runs it alone, in band, since it kills and restarts workers and servers).
 * Type checking is `npm run typecheck`; jest only transpiles, which keeps the suite fast on two cores.
 */
const shared = {
  testEnvironment: 'node',
  transform: { '^.+\\.ts$': ['ts-jest', { diagnostics: false }] },
  testMatch: ['**/*.test.ts'],
};
const withServer = {
  ...shared,
  globalSetup: '<rootDir>/test/support/global-setup.ts',
  globalTeardown: '<rootDir>/test/support/global-teardown.ts',
};

module.exports = {
  // Generous: a whole pipeline on the test double takes 1-2 minutes on two busy cores; a hang still fails.
  testTimeout: 300000,
  maxWorkers: 2,
  projects: [
    { ...shared, displayName: 'unit', roots: ['<rootDir>/test/unit'] },
    {
      ...withServer,
      displayName: 'server',
      roots: ['<rootDir>/test'],
      testPathIgnorePatterns: ['/node_modules/', '<rootDir>/test/unit/', '<rootDir>/test/durability/'],
    },
    { ...withServer, displayName: 'durability', roots: ['<rootDir>/test/durability'] },
  ],
};
