// Loads the native addon: a prebuild for this platform, or the one built from source.
// When neither loads, the error says what is wrong and what to run. Off Linux nothing is
// loaded: the module imports, `supported` is false, and every call throws ERR_PIDFD_PLATFORM.
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Native } from './native';
import { platformError } from './errors';

const root = path.join(__dirname, '..');

/**
 * process.platform, or PIDFD_TEST_PLATFORM: a test hook (read only here and by
 * scripts/install.js) that makes Linux look like another OS.
 */
export const platform: string = process.env.PIDFD_TEST_PLATFORM || process.platform;

/** Whether pidfd works here: Linux only. Elsewhere use node:child_process. */
export const supported: boolean = platform === 'linux';

/** The libc node-gyp-build looks for: its LIBC override, else musl on Alpine, else glibc. */
function libc(): string {
  return process.env.LIBC || (fs.existsSync('/etc/alpine-release') ? 'musl' : 'glibc');
}

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
  const rebuild =
    'Run `npm rebuild pidfd --build-from-source` (needs python3, make and a C++ compiler; where npm ' +
    'blocks install scripts (npm 11), approve pidfd\'s first: `npm install-scripts approve pidfd`).';
  const file = /(\/\S+\.node)/.exec(cause.message)?.[1];
  const arch = file ? elfArch(file) : null;
  if (file && arch && arch !== process.arch) {
    return `pidfd: ${file} is built for linux-${arch}, but this is linux-${process.arch}. ` +
      `Remove it (a stale build/ folder wins over prebuilds/) or ${rebuild[0].toLowerCase()}${rebuild.slice(1)}`;
  }
  if (/No native build was found/.test(cause.message)) {
    // The platform as node-gyp-build looked for it (npm_config_arch is its override too).
    const wanted = process.env.npm_config_arch || process.arch;
    const target = `linux-${wanted}-${libc()} (os linux, arch ${wanted}, libc ${libc()})`;
    return `pidfd: no prebuild exists for ${target}, and none was built from source. ${rebuild}`;
  }
  return `pidfd: the native binary for linux-${process.arch}-${libc()} (Node ${process.version}) failed to load. ${rebuild}`;
}

/** Off Linux: every call throws ERR_PIDFD_PLATFORM (setExitCallback, made at import, registers nothing). */
function unsupported(): Native {
  return new Proxy({} as Native, {
    get(_, name) {
      if (name === 'setExitCallback') return () => new Int32Array(0);
      return () => {
        throw platformError(platform);
      };
    },
  });
}

function load(): Native {
  if (!supported) return unsupported();
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    return require('node-gyp-build')(root) as Native;
  } catch (cause) {
    const message = `${explain(cause as Error)}\nCause: ${(cause as Error).message}`;
    throw Object.assign(new Error(message, { cause }), { code: 'ERR_PIDFD_NATIVE' });
  }
}

export const native: Native = load();
