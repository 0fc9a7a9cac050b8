// Compiles the C test helpers in this folder into test/.build/ on demand.
import { execFileSync } from 'node:child_process';
import { mkdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export type HelperName = 'seccomp-run' | 'signal-storm' | 'sleepers' | 'subreaper' | 'threads' | 'zombie';

const HELPERS: Record<HelperName, { pthread: boolean }> = {
  'seccomp-run': { pthread: false },
  'signal-storm': { pthread: false },
  sleepers: { pthread: false },
  subreaper: { pthread: false },
  threads: { pthread: true },
  zombie: { pthread: false },
};

const srcDir = dirname(fileURLToPath(import.meta.url));
const outDir = join(srcDir, '..', '.build');

function mtime(path: string): number | undefined {
  try {
    return statSync(path).mtimeMs;
  } catch {
    return undefined;
  }
}

/**
 * Absolute path of the compiled helper, compiling it first when the binary is
 * missing or older than its source. Several test workers may call this at
 * once: each compiles to its own temp file and renames it into place, so no
 * one ever sees (or executes) a half-written binary.
 */
export function helper(name: HelperName): string {
  const spec = HELPERS[name];
  if (!spec) throw new Error(`unknown test helper: ${String(name)}`);
  const src = join(srcDir, `${name}.c`);
  const out = join(outDir, name);
  const built = mtime(out);
  if (built !== undefined && built >= statSync(src).mtimeMs) return out;

  mkdirSync(outDir, { recursive: true });
  const tmp = `${out}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
  // CC may name a cross compiler (e.g. aarch64-linux-gnu-gcc); cc by default.
  const args = ['-O2', '-Wall', '-Wextra', '-o', tmp, src];
  if (spec.pthread) args.push('-pthread');
  try {
    execFileSync(process.env.CC || 'cc', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    renameSync(tmp, out);
  } catch (err) {
    rmSync(tmp, { force: true });
    throw err;
  }
  return out;
}

/** Compiles every helper that is missing or stale (for a vitest globalSetup). */
export function buildHelpers(): void {
  for (const name of Object.keys(HELPERS) as HelperName[]) helper(name);
}
