// A smoke test of an installed pidfd: open, spawn, kill, await. Exits non-zero on failure.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as pidfd from 'pidfd';

const self = pidfd.open(process.pid);
assert.equal(self.running, true);
self.close();

const child = pidfd.spawn('sh', ['-c', 'exit 3'], { stdio: 'ignore' });
assert.equal((await child.exited).code, 3);

const sleeper = pidfd.spawn('sleep', ['30'], { stdio: 'ignore' });
assert.equal(sleeper.kill('SIGKILL'), true);
assert.equal((await sleeper.exited).signal, 'SIGKILL');

// A tree that dies with us has a keeper: the pidfd-keeper program installed beside the addon.
const tree = pidfd.spawn('sleep', ['30'], { stdio: 'ignore', tree: true, dieWithParent: true });
const keeper = fs.readFileSync(`/proc/${tree.pid}/stat`, 'utf8').split(') ')[1].split(' ')[1];
assert.match(fs.readlinkSync(`/proc/${keeper}/exe`), /\/pidfd-keeper$/);
await tree.tree.kill('SIGKILL');
await tree.tree.exited;

console.log(`pidfd smoke ok: node ${process.version} ${process.arch}, features ${JSON.stringify(pidfd.features)}`);
