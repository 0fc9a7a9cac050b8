// The spawn method this kernel gives (clone3 on every kernel of the matrix, x86_64 and arm64),
// and the fallbacks forced with seccomp filters on the real kernel: clone(CLONE_PIDFD) when
// clone3 answers ENOSYS (an old kernel) or EPERM (an old container profile), fork + pidfd_open
// when neither clone takes CLONE_PIDFD (qemu-user).
import { arch } from 'node:os';
import { equal, test } from './harness.mjs';
import { helper, lastJson, METHOD, methodName, native, pidfd, runNode } from './support.mjs';

test(`spawn() uses clone3 on this kernel (${arch()})`, async () => {
  const sub = pidfd.spawn('sh', ['-c', 'exit 7'], { stdio: 'ignore' });
  equal(methodName(native.spawnMethod()), 'clone3', 'spawn method');
  equal((await sub.exited).code, 7, 'code');
});

const fallbacks = [
  { rules: ['clone3=ENOSYS'], method: 'clone', why: 'clone3 ENOSYS (an old kernel)' },
  { rules: ['clone3-v0=EPERM'], method: 'clone', why: 'clone3 EPERM (an old Docker profile, for clone3 of the 64-byte struct)' },
  { rules: ['clone3=ENOSYS', 'clone-pidfd=EINVAL'], method: 'fork', why: 'no clone takes CLONE_PIDFD' },
];
for (const { rules, method, why } of fallbacks) {
  test(`spawn() falls back to ${method} when ${why} (seccomp: ${rules.join(' ')})`, async () => {
    const result = await runNode(
      `
      const sub = pidfd.spawn('sh', ['-c', 'exit 11'], { stdio: 'ignore' });
      const method = native.spawnMethod();
      const status = await sub.exited;
      const killer = pidfd.spawn('sleep', ['1000'], { stdio: 'ignore' });
      killer.kill('SIGTERM');
      const killed = await killer.exited;
      console.log(JSON.stringify({ method, code: status.code, signal: killed.signal, spawnPidfd: pidfd.features.spawnPidfd }));
      `,
      { prefix: [helper('seccomp-run'), ...rules, '--'] },
    );
    const out = lastJson(result);
    equal(methodName(out.method), method, 'spawn method');
    equal(out.code, 11, 'exit code');
    equal(out.signal, 'SIGTERM', 'signal of the second child');
    equal(out.spawnPidfd, method !== 'fork', 'features.spawnPidfd');
    equal(METHOD[method], out.method, 'method number');
  });
}
