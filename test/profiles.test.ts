// The kernels and sandboxes users run on, each simulated with a seccomp filter that answers
// as that kernel or profile would. One scenario runs under each; what it must do there, and
// what pidfd.features must say, is in the table.
import { describe, expect, it } from 'vitest';
import * as pidfd from '../dist/index.mjs';
import { lastJson, runNode, skipUnderQemu } from './support';

// Everything the library offers, exercised once; each step reports its outcome or error code.
const scenario = `
  const { spawnSync, spawn: cpSpawn } = await import('node:child_process');
  const fs = await import('node:fs');
  const outcome = async (fn) => { try { return await fn(); } catch (e) { return 'error:' + e.code; } };
  const out = { features: { ...pidfd.features } };
  out.spawn = await outcome(async () => {
    const child = pidfd.spawn('sh', ['-c', 'exit 7'], { stdio: 'ignore' });
    const status = await child.exited;
    child.close();
    return status.code;
  });
  out.method = native.spawnMethod();
  out.missing = await outcome(() => pidfd.spawn('no-such-program-anywhere'));
  out.stranger = await outcome(async () => {
    // The stranger reads a line from us (fd 3 of the shell) before it exits: it cannot be
    // gone before it is opened, however slow the machine.
    const shell = cpSpawn('sh', ['-c', 'sh -c "read x; exit 5" <&3 & echo $!; exec 3<&-; wait'], { stdio: ['ignore', 'pipe', 'ignore', 'pipe'] });
    const pid = await new Promise((resolve) => shell.stdout.once('data', (d) => resolve(Number(String(d)))));
    try {
      const h = pidfd.open(pid);
      shell.stdio[3].end('go\\n');
      const status = await h.exited;
      h.close();
      return status.code;
    } finally {
      shell.stdio[3].end();
      // child_process reaps the shell on its own time: wait for it, or it counts as a zombie.
      if (shell.exitCode === null && shell.signalCode === null) await new Promise((r) => shell.once('exit', r));
    }
  });
  out.kill = await outcome(async () => {
    const child = pidfd.spawn('sleep', ['30'], { stdio: 'ignore' });
    const sent = child.kill('SIGKILL');
    const status = await child.exited;
    return sent + ':' + status.signal;
  });
  out.info = await outcome(() => pidfd.open(process.pid).info().pid === process.pid);
  out.thread = await outcome(() => pidfd.open(process.pid, { thread: true }).thread);
  out.scope = await outcome(() => pidfd.open(process.pid).kill(0, { scope: 'process' }));
  out.getfd = await outcome(() => { const h = pidfd.open(process.pid); fs.closeSync(h.getfd(h.fd)); return true; });
  out.mrelease = await outcome(() => pidfd.open(process.pid).mrelease());
  out.inode = await outcome(() => typeof pidfd.open(process.pid).inode);
  const children = fs.readFileSync('/proc/self/task/' + process.pid + '/children', 'utf8').trim();
  out.zombies = children ? children.split(' ').filter((p) => fs.readFileSync('/proc/' + p + '/stat', 'utf8').includes(') Z')).length : 0;
  console.log(JSON.stringify(out));
`;

type Features = typeof pidfd.features;
type FeatureName = keyof Features;

/** What the scenario gives where the kernel and the filter leave features `f`. */
function behaviourWith(f: Features, method: number) {
  if (!f.open) {
    const gone = 'error:ENOSYS';
    return { spawn: gone, method, missing: 'error:ENOENT', stranger: gone, kill: gone, info: gone, thread: gone, scope: gone, getfd: gone, mrelease: gone, inode: gone, zombies: 0 };
  }
  return {
    spawn: 7, method, missing: 'error:ENOENT', kill: 'true:SIGKILL',
    stranger: f.exitInfo ? 5 : null, // the exit record, or nothing to read the status from
    info: true, // PIDFD_GET_INFO, or /proc checked against the pidfd
    thread: f.thread ? true : 'error:EINVAL',
    scope: f.signalScope ? true : 'error:EINVAL',
    getfd: f.getfd ? true : 'error:ENOSYS',
    mrelease: f.mrelease ? 'error:EINVAL' : 'error:ENOSYS', // EINVAL: we are not dying
    inode: f.inode ? 'number' : 'object', // null without pidfs
    zombies: 0,
  };
}

// Each profile takes features away (and may force a spawn method); what is left is what this
// kernel has, so on an older kernel a profile takes away less and the expectation follows.
const profiles: Array<{ name: string; seccomp: string[]; takes: FeatureName[]; method?: number }> = [
  {
    name: 'this kernel, no filter',
    seccomp: [],
    takes: [],
  },
  {
    name: 'Linux 6.9 to 6.12: no PIDFD_GET_INFO (ENOTTY), so no exit records; info() reads /proc',
    seccomp: ['pidfd_get_info=ENOTTY'],
    takes: ['info', 'exitInfo'],
  },
  {
    name: 'Linux 5.15 to 6.8: no PIDFD_THREAD, no signal scopes, no PIDFD_GET_INFO',
    seccomp: ['pidfd_open-thread=EINVAL', 'pidfd_send_signal-flags=EINVAL', 'pidfd_get_info=ENOTTY'],
    takes: ['thread', 'signalScope', 'info', 'exitInfo'],
  },
  {
    name: 'Linux 5.3: no waitid(P_PIDFD) (EINVAL), no getfd, no mrelease; children still reaped',
    seccomp: ['waitid-pidfd=EINVAL', 'pidfd_getfd=ENOSYS', 'process_mrelease=ENOSYS', 'pidfd_open-thread=EINVAL', 'pidfd_send_signal-flags=EINVAL', 'pidfd_get_info=ENOTTY'],
    takes: ['waitid', 'getfd', 'mrelease', 'thread', 'signalScope', 'info', 'exitInfo'],
  },
  {
    name: 'Linux < 5.3: no clone3 (ENOSYS), no pidfd_open (ENOSYS): clear errors, nothing started',
    seccomp: ['clone3=ENOSYS', 'clone-pidfd=EINVAL', 'pidfd_open=ENOSYS', 'pidfd_send_signal=ENOSYS', 'waitid-pidfd=EINVAL'],
    takes: Object.keys(pidfd.features) as FeatureName[],
    method: 2,
  },
  {
    name: 'older Docker seccomp profiles: clone3 answers EPERM',
    seccomp: ['clone3-v0=EPERM'],
    takes: [],
    method: 1,
  },
  {
    name: 'qemu-user-like: no clone3, no clone(CLONE_PIDFD), no CLONE_VM processes, no PIDFD_GET_INFO',
    seccomp: ['clone3=ENOSYS', 'clone-pidfd=EINVAL', 'clone-vm=EINVAL', 'pidfd_get_info=ENOSYS', 'process_mrelease=ENOSYS'],
    takes: ['spawnPidfd', 'info', 'exitInfo', 'mrelease'],
    method: 2,
  },
];

describe.skipIf(skipUnderQemu('seccomp filters cannot be installed under qemu-user'))('kernels and sandboxes, simulated with seccomp', () => {
  it.each(profiles)('$name', async (profile) => {
    const out = lastJson(await runNode(scenario, { seccomp: profile.seccomp }));
    const left = { ...pidfd.features, ...Object.fromEntries(profile.takes.map((name) => [name, false])) } as Features;
    expect(out.features).toEqual(left);
    const { features: _, ...behaviour } = out;
    expect(behaviour).toEqual(behaviourWith(left, profile.method ?? 0));
  });
});
