// The supervisor environments of test/tree-env.ts are what they claim to be: a test of the
// tool the tree suites trust, so that a broken environment cannot make them pass.
import { describe, expect, it } from 'vitest';
import { lastJson } from './support';
import { cgroupWritable, skip } from './environment';
import { NONROOT, runIn, skipEnv, treeEnvs } from './tree-env';

describe('tree suites: the supervisor environments', () => {
  for (const env of treeEnvs) {
    it.skipIf(skipEnv(env) || skip(env === 'root' && !cgroupWritable, '[root] no writable cgroup2 here'))(`${env}: the uid and the cgroup2 mount are as named, and the package loads`, async () => {
      const r = await runIn(env, `
        const fs = await import('node:fs');
        // The last cgroup2 line is the mount on top (the read-only bind in a container).
        const line = fs.readFileSync('/proc/self/mountinfo', 'utf8').split('\\n').filter((l) => / - cgroup2 /.test(l)).pop();
        const options = line.split(' ')[5].split(',');
        let mkdir = 'ok';
        const dir = line.split(' ')[4] + '/pidfd-env-probe-' + process.pid;
        try { fs.mkdirSync(dir); fs.rmdirSync(dir); } catch (e) { mkdir = e.code; }
        const child = pidfd.spawn('true', [], { stdio: 'ignore' });
        const { code } = await child.exited;
        console.log(JSON.stringify({ uid: process.getuid(), ro: options.includes('ro'), code, mkdir, helper: fs.existsSync(helper.sleepers) }));
      `);
      expect(lastJson(r)).toEqual({
        uid: env.endsWith('nonroot') ? NONROOT : 0,
        ro: env.startsWith('container'),
        code: 0,
        // A read-only mount says EROFS to anyone; a writable one EACCES to nobody.
        mkdir: env.startsWith('container') ? 'EROFS' : env === 'nonroot' ? 'EACCES' : 'ok',
        helper: true,
      });
    });
  }
});
