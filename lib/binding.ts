// Loads the native addon: a prebuild for this platform, or the one built from source.
// When neither loads, the error says what is wrong and what to run.
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Native } from './native';

const root = path.join(__dirname, '..');

// ELF e_machine values of the architectures we ship.
const machines: Record<number, string> = { 62: 'x64', 183: 'arm64', 40: 'arm', 243: 'riscv64' };

/** The architecture a .node file was built for, or null if it cannot be read. */
function elfArch(file: string): string | null {
  try {
    const header = Buffer.alloc(20);
    const fd = fs.openSync(file, 'r');
    fs.readSync(fd, header, 0, 20, 0);
    fs.closeSync(fd);
    if (header.readUInt32BE(0) !== 0x7f454c46) return null;
    return machines[header.readUInt16LE(18)] ?? `e_machine ${header.readUInt16LE(18)}`;
  } catch {
    return null;
  }
}

function explain(cause: Error): string {
  const rebuild = 'Run `npm rebuild pidfd --build-from-source` (needs python3, make and a C++ compiler).';
  const file = /(\/\S+\.node)/.exec(cause.message)?.[1];
  const arch = file ? elfArch(file) : null;
  if (file && arch && arch !== process.arch) {
    return `pidfd: ${file} is built for linux-${arch}, but this is linux-${process.arch}. ` +
      `Remove it (a stale build/ folder wins over prebuilds/) or ${rebuild[0].toLowerCase()}${rebuild.slice(1)}`;
  }
  if (/No native build was found/.test(cause.message)) {
    return `pidfd: there is no prebuilt binary for linux-${process.arch} and none built from source. ${rebuild}`;
  }
  return `pidfd: the native binary for linux-${process.arch} (Node ${process.version}) failed to load. ${rebuild}`;
}

function load(): Native {
  if (process.platform !== 'linux') {
    throw Object.assign(new Error(`pidfd works on Linux only (this is ${process.platform}): pidfds are a Linux kernel feature`), {
      code: 'ERR_PIDFD_PLATFORM',
    });
  }
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    return require('node-gyp-build')(root) as Native;
  } catch (cause) {
    const message = `${explain(cause as Error)}\nCause: ${(cause as Error).message}`;
    throw Object.assign(new Error(message, { cause }), { code: 'ERR_PIDFD_NATIVE' });
  }
}

export const native: Native = load();
