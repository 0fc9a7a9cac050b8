import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    pool: 'forks',
    globalSetup: ['test/global-setup.ts'],
    // Hang detectors only: a test that passes never waits them out, and a machine ten times
    // slower than usual (CI under load, ASan, qemu-user) must not reach them.
    testTimeout: 180_000,
    hookTimeout: 180_000,
    // The package under test is the built one, loaded by Node itself (CommonJS + native).
    server: { deps: { external: [/\/dist\//] } },
  },
});
