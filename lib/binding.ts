// Loads the native addon: a prebuild for this platform, or the one built from source.
import * as path from 'node:path';
import type { Native } from './native';

const root = path.join(__dirname, '..');

function load(): Native {
  if (process.platform !== 'linux') {
    throw new Error(`pidfd works on Linux only (this is ${process.platform}): pidfds are a Linux kernel feature`);
  }
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    return require('node-gyp-build')(root) as Native;
  } catch (cause) {
    const message =
      `pidfd: no usable native binary for linux-${process.arch} (Node ${process.version}). ` +
      `Rebuild it from source with \`npm rebuild pidfd --build-from-source\` ` +
      `(needs python3, make and a C++ compiler). Cause: ${(cause as Error).message}`;
    throw Object.assign(new Error(message, { cause }), { code: 'ERR_PIDFD_NATIVE' });
  }
}

export const native: Native = load();
