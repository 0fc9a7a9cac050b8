// A smoke test of an installed pidfd: open, spawn, kill, await. Exits non-zero on failure.
import assert from 'node:assert/strict';
import * as pidfd from 'pidfd';

const self = pidfd.open(process.pid);
assert.equal(self.running, true);
self.close();

const child = pidfd.spawn('sh', ['-c', 'exit 3'], { stdio: 'ignore' });
assert.equal((await child.exited).code, 3);

const sleeper = pidfd.spawn('sleep', ['30'], { stdio: 'ignore' });
assert.equal(sleeper.kill('SIGKILL'), true);
assert.equal((await sleeper.exited).signal, 'SIGKILL');

console.log(`pidfd smoke ok: node ${process.version} ${process.arch}, features ${JSON.stringify(pidfd.features)}`);
