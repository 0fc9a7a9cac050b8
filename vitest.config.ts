import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    pool: 'forks',
    globalSetup: ['test/global-setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // The package under test is the built one, loaded by Node itself (CommonJS + native).
    server: { deps: { external: [/\/dist\//] } },
  },
});
