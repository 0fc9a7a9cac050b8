// Where a supervisor runs, for the tree suites: as root or as a non-root user, with a writable
// cgroup2 or inside a mount namespace whose cgroup2 is read-only (how containers mount it).
// runIn(env, code) runs a script like runNode() does, with `pidfd`, `native` and `helper` in scope.
//
// A non-root user cannot read a checkout in a 0700 home, so non-root runs use a copy of the
// built package (dist/, the addon, node-gyp-build, the C helpers) in a world-readable temp dir.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { cgroup2Mount } from '../dist/cgroup.js';
import { helper, type HelperName } from './helpers/build';
import { skip } from './environment';
import { root, runNode, type RunOptions, type RunResult } from './support';

export type TreeEnv = 'root' | 'container' | 'nonroot' | 'container-nonroot';

/** Every environment, in the order the suites run them. */
export const treeEnvs: readonly TreeEnv[] = ['root', 'container', 'nonroot', 'container-nonroot'];

/** The uid and gid non-root runs take (nobody, as on Debian). */
export const NONROOT = 65534;

const mount = cgroup2Mount();
const isRoot = process.getuid?.() === 0;

/** Why `env` cannot be made here, or null when it can. */
export function unavailable(env: TreeEnv): string | null {
  if (!isRoot) return 'needs root to make (unshare --mount, setpriv)';
  if (env.startsWith('container') && mount === null) return 'no cgroup2 mount to make read-only';
  return null;
}

/** it.skipIf(skipEnv(env))(...): skips, printing why, where env cannot be made. */
export function skipEnv(env: TreeEnv): boolean {
  const why = unavailable(env);
  return skip(why !== null, `[${env}] ${why}`);
}

const helperNames: HelperName[] = ['seccomp-run', 'signal-storm', 'sleepers', 'subreaper', 'threads', 'zombie'];
let staged: string | undefined;

/** A world-readable copy of the built package and the C helpers (made once per test file). */
export function stagedPackage(): string {
  if (staged !== undefined) return staged;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pidfd-nonroot-'));
  const copy = (from: string, to = from) => fs.cpSync(path.join(root, from), path.join(dir, to), { recursive: true });
  copy('package.json');
  copy('dist');
  // The addon as this suite loads it: a build of the checkout, or (a packed copy, as the
  // platform stages test) its prebuilds.
  if (fs.existsSync(path.join(root, 'build/Release/pidfd.node'))) {
    copy('build/Release/pidfd.node');
    copy('build/Release/pidfd-keeper'); // the keeper program (src/keeper_program.c)
  } else {
    copy('prebuilds');
  }
  copy('node_modules/node-gyp-build');
  fs.mkdirSync(path.join(dir, 'helpers'));
  for (const name of helperNames) fs.copyFileSync(helper(name), path.join(dir, 'helpers', name));
  execFileSync('chmod', ['-R', 'a+rX', dir]);
  for (const name of helperNames) fs.chmodSync(path.join(dir, 'helpers', name), 0o755);
  process.on('exit', () => fs.rmSync(dir, { recursive: true, force: true }));
  staged = dir;
  return dir;
}

/** The command prefix that puts a process into `env` (before node starts). */
function prefixFor(env: TreeEnv): string[] {
  const prefix: string[] = [];
  if (env.startsWith('container')) {
    // A private mount namespace where the cgroup2 mount is bound read-only over itself.
    prefix.push('unshare', '--mount', 'sh', '-c',
      'mount --bind -o ro "$0" "$0" && mount -o remount,bind,ro "$0" "$0" && exec "$@"', mount?.mountPoint ?? '/');
  }
  if (env.endsWith('nonroot')) {
    prefix.push('setpriv', `--reuid=${NONROOT}`, `--regid=${NONROOT}`, '--clear-groups', '--inh-caps=-all');
  }
  return prefix;
}

/**
 * Runs an ES module script as a supervisor in `env` (see runNode for what is in scope; here
 * `helper` names every C helper). Non-root runs load the staged copy of the package.
 */
export function runIn(env: TreeEnv, code: string, options: RunOptions = {}): Promise<RunResult> {
  const nonroot = env.endsWith('nonroot');
  const pkg = nonroot ? stagedPackage() : root;
  const helpers = Object.fromEntries(helperNames.map((n) => [n, nonroot ? path.join(pkg, 'helpers', n) : helper(n)]));
  return runNode(code, {
    ...options,
    packageRoot: pkg,
    helpers,
    cwd: nonroot ? pkg : options.cwd,
    prefix: [...prefixFor(env), ...(options.prefix ?? [])],
  });
}

export type { RunResult };
