#!/usr/bin/env node
// npm's install step. Off Linux there is nothing to build: pidfd still imports there and
// reports itself unsupported (pidfd.supported === false). On Linux, node-gyp-build: the
// prebuild that fits (os, arch, libc), else a build from source with node-gyp.
// PIDFD_TEST_PLATFORM is a test hook (read only here and by lib/binding.ts): the platform to
// act as, in place of process.platform.
'use strict';
const { spawnSync } = require('node:child_process');

const platform = process.env.PIDFD_TEST_PLATFORM || process.platform;
if (platform !== 'linux') {
  console.log(`pidfd: nothing to build on ${platform}: pidfd works on Linux only (pidfd.supported is false here)`);
  process.exit(0);
}
// npm puts node_modules/.bin on PATH for install scripts; node-gyp-build needs it there too.
const result = spawnSync('node-gyp-build', { stdio: 'inherit', shell: true });
process.exit(result.status ?? 1);
