// What the machine running the suite gives: the kernel version, pidfd.features, qemu-user.
// A test that needs something the machine lacks is skipped through skip(), which prints why,
// so a skip is never silent and never counted as a pass.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as pidfd from '../dist/index.mjs';
import { ownCgroupDir } from '../dist/cgroup.js';

export type FeatureName = keyof typeof pidfd.features;

/** Set by scripts/test-platforms.sh for the arm64 run under qemu-user. */
export const qemu = process.env.PIDFD_QEMU === '1';

/** The running kernel's version as [major, minor] (from uname -r, e.g. '6.1.0-31-amd64'). */
export const kernel: readonly [number, number] = (() => {
  const m = /^(\d+)\.(\d+)/.exec(os.release());
  return m ? [Number(m[1]), Number(m[2])] : [0, 0];
})();

/** True when the running kernel is `version` ('6.9') or newer. */
export function kernelAtLeast(version: string): boolean {
  const [major, minor] = version.split('.').map(Number);
  return kernel[0] > major || (kernel[0] === major && kernel[1] >= minor);
}

/**
 * The mainline version that brought each feature (the kernel's own history; see
 * /work/shared/kernel-notes.md "Versions"). spawnPidfd is clone3 with CLONE_PIDFD (5.3).
 */
export const featureSince: Record<FeatureName, string> = {
  open: '5.3', spawnPidfd: '5.3', waitid: '5.4', getfd: '5.6', mrelease: '5.15',
  thread: '6.9', signalScope: '6.9', inode: '6.9', info: '6.13', exitInfo: '6.15',
};

/** What qemu-user cannot give, whatever the host kernel: it emulates these syscalls away. */
export const qemuLacks: readonly FeatureName[] = ['spawnPidfd', 'info', 'exitInfo', 'mrelease'];

const printed = new Set<string>();

/**
 * Returns `when`; when true, prints `[skipped] reason` once. Use it for every skip that
 * depends on the machine: `it.skipIf(skip(cond, 'why'))(...)`.
 */
export function skip(when: boolean, reason: string): boolean {
  if (when && !printed.has(reason)) {
    printed.add(reason);
    console.log(`[skipped] ${reason}`);
  }
  return when;
}

/** Skip unless every feature is there, naming the kernel that brings it and the one we run. */
export function lacks(...names: FeatureName[]): boolean {
  const missing = names.filter((name) => !pidfd.features[name]);
  const why = missing.map((name) => `${name} (Linux ${featureSince[name]})`).join(', ');
  return skip(missing.length > 0, `needs pidfd.features ${why}; this is ${os.release()}${qemu ? ' under qemu-user' : ''}`);
}

/** Skip under qemu-user, saying why: it has no seccomp filters, no clone with CLONE_PIDFD... */
export function skipUnderQemu(reason: string): boolean {
  return skip(qemu, `[qemu-user] ${reason}`);
}

/** True when this process may create cgroups in its own cgroup v2 directory (the cgroup tree method). */
export const cgroupWritable: boolean = (() => {
  const dir = ownCgroupDir();
  if (dir === null) return false;
  try {
    fs.accessSync(dir, fs.constants.W_OK);
    return fs.existsSync(path.join(dir, 'cgroup.procs'));
  } catch {
    return false;
  }
})();

/**
 * True when a tree keeper can be made here (src/keeper.cc, the subreaper method): qemu-user
 * refuses CLONE_VM processes and PR_SET_CHILD_SUBREAPER. Probed with the real thing.
 */
export const keeperWorks: boolean = (() => {
  try {
    const child = pidfd.spawn('true', [], { stdio: 'ignore', tree: { method: 'subreaper' } });
    child.tree!.close();
    child.close();
    return true;
  } catch (err) {
    console.log(`[environment] no tree keeper here (${(err as Error).message}): the subreaper-method tests are skipped`);
    return false;
  }
})();
