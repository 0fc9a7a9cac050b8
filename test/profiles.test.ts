// The kernels and sandboxes users run on, each simulated with a seccomp filter that answers
// as that kernel or profile would. One scenario runs under each; what it must do there, and
// what pidfd.features must say, is in the table.
import { describe, expect, it } from 'vitest';
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
    const shell = cpSpawn('sh', ['-c', 'sh -c "sleep 0.2; exit 5" & echo $!; wait'], { stdio: ['ignore', 'pipe', 'ignore'] });
    const pid = await new Promise((resolve) => shell.stdout.once('data', (d) => resolve(Number(String(d)))));
    const h = pidfd.open(pid);
    const status = await h.exited;
    h.close();
    // child_process reaps the shell on its own time: wait for it, or it counts as a zombie.
    if (shell.exitCode === null && shell.signalCode === null) await new Promise((r) => shell.once('exit', r));
    return status.code;
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

const all = {
  open: true, spawnPidfd: true, waitid: true, thread: true, signalScope: true,
  info: true, exitInfo: true, getfd: true, mrelease: true, inode: true,
};
const works = {
  spawn: 7, method: 0, missing: 'error:ENOENT', stranger: 5, kill: 'true:SIGKILL', info: true,
  thread: true, scope: true, getfd: true, mrelease: 'error:EINVAL', inode: 'number', zombies: 0,
};

const profiles: Array<{ name: string; seccomp: string[]; features: Partial<typeof all>; expect: Partial<typeof works> }> = [
  {
    name: 'a current kernel (6.15+), no filter',
    seccomp: [],
    features: {},
    expect: {},
  },
  {
    name: 'Linux 6.9 to 6.12: no PIDFD_GET_INFO (ENOTTY), so no exit records; info() reads /proc',
    seccomp: ['pidfd_get_info=ENOTTY'],
    features: { info: false, exitInfo: false },
    expect: { stranger: null as any },
  },
  {
    name: 'Linux 5.15 to 6.8: no PIDFD_THREAD, no signal scopes, no PIDFD_GET_INFO',
    seccomp: ['pidfd_open-thread=EINVAL', 'pidfd_send_signal-flags=EINVAL', 'pidfd_get_info=ENOTTY'],
    features: { thread: false, signalScope: false, info: false, exitInfo: false },
    expect: { stranger: null as any, thread: 'error:EINVAL', scope: 'error:EINVAL' },
  },
  {
    name: 'Linux 5.3: no waitid(P_PIDFD) (EINVAL), no getfd, no mrelease; children still reaped',
    seccomp: ['waitid-pidfd=EINVAL', 'pidfd_getfd=ENOSYS', 'process_mrelease=ENOSYS', 'pidfd_open-thread=EINVAL', 'pidfd_send_signal-flags=EINVAL', 'pidfd_get_info=ENOTTY'],
    features: { waitid: false, getfd: false, mrelease: false, thread: false, signalScope: false, info: false, exitInfo: false },
    expect: {
      stranger: null as any, thread: 'error:EINVAL', scope: 'error:EINVAL', getfd: 'error:ENOSYS', mrelease: 'error:ENOSYS',
    },
  },
  {
    name: 'Linux < 5.3: no clone3 (ENOSYS), no pidfd_open (ENOSYS): clear errors, nothing started',
    seccomp: ['clone3=ENOSYS', 'clone-pidfd=EINVAL', 'pidfd_open=ENOSYS', 'pidfd_send_signal=ENOSYS', 'waitid-pidfd=EINVAL'],
    features: Object.fromEntries(Object.keys(all).map((k) => [k, false])),
    expect: {
      spawn: 'error:ENOSYS' as any, method: 2, missing: 'error:ENOENT', stranger: 'error:ENOSYS' as any, kill: 'error:ENOSYS',
      info: 'error:ENOSYS' as any, thread: 'error:ENOSYS' as any, scope: 'error:ENOSYS' as any, getfd: 'error:ENOSYS' as any,
      mrelease: 'error:ENOSYS', inode: 'error:ENOSYS',
    },
  },
  {
    name: 'older Docker seccomp profiles: clone3 answers EPERM',
    seccomp: ['clone3-v0=EPERM'],
    features: {},
    expect: { method: 1 },
  },
  {
    name: 'qemu-user-like: no clone3, no clone(CLONE_PIDFD), no CLONE_VM processes, no PIDFD_GET_INFO',
    seccomp: ['clone3=ENOSYS', 'clone-pidfd=EINVAL', 'clone-vm=EINVAL', 'pidfd_get_info=ENOSYS', 'process_mrelease=ENOSYS'],
    features: { spawnPidfd: false, info: false, exitInfo: false, mrelease: false },
    expect: { method: 2, stranger: null as any, mrelease: 'error:ENOSYS' },
  },
];

describe.skipIf(skipUnderQemu('seccomp filters cannot be installed under qemu-user'))('kernels and sandboxes, simulated with seccomp', () => {
  it.each(profiles)('$name', async (profile) => {
    const out = lastJson(await runNode(scenario, { seccomp: profile.seccomp }));
    expect(out.features).toEqual({ ...all, ...profile.features });
    const { features: _, ...behaviour } = out;
    expect(behaviour).toEqual({ ...works, ...profile.expect });
  });
});
