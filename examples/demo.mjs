// npm run demo: spawns and opens processes, kills one, awaits the exits and prints what it
// saw and how fast.
import { spawn as spawnShell } from 'node:child_process';
import * as pidfd from '../dist/index.mjs';

const ms = (start) => `${(Number(process.hrtime.bigint() - start) / 1e6).toFixed(2)} ms`;

console.log(`pidfd demo: node ${process.version}, pid ${process.pid}\n`);

// 1. A child of ours, created with clone3(CLONE_PIDFD): its exit code is always known.
let t = process.hrtime.bigint();
const child = pidfd.spawn('sh', ['-c', 'echo "hello from pid $$"; exit 3'], { stdio: ['ignore', 'pipe', 'inherit'] });
child.stdout.on('data', (d) => process.stdout.write(`  child says: ${d}`));
console.log(`spawned sh as pid ${child.pid} (pidfd ${child.fd})`);
const status = await child.exited;
console.log(`  exited: code ${status.code} after ${ms(t)}\n`);
child.close();

// 2. A process that is not ours (a shell started it and waits for it), killed race-free.
const shell = spawnShell('sh', ['-c', 'sleep 300 & echo $!; wait'], { stdio: ['ignore', 'pipe', 'ignore'] });
const stranger = Number(await new Promise((resolve) => shell.stdout.once('data', resolve)));
const handle = pidfd.open(stranger);
console.log(`opened pid ${stranger}, not our child; running: ${handle.running}`);
t = process.hrtime.bigint();
handle.kill('SIGKILL');
const seen = await handle.exited;
console.log(`  SIGKILL through the pidfd -> exited settled in ${ms(t)}: signal ${seen.signal}` +
  (seen.signal ? ' (from the kernel\'s exit record, Linux 6.15+)' : ' (status unknown on this kernel)'));
console.log(`  kill() now returns ${handle.kill()}: a reused pid can never be hit\n`);
handle.close();

// 3. Many at once: one uv_poll per process, no polling loop, no threads.
const many = Array.from({ length: 200 }, () => pidfd.spawn('sleep', ['300'], { stdio: 'ignore' }));
t = process.hrtime.bigint();
for (const p of many) p.kill('SIGTERM');
const statuses = await Promise.all(many.map((p) => p.exited));
console.log(`killed ${many.length} children, all exits seen in ${ms(t)}: ` +
  `${statuses.filter((s) => s.signal === 'SIGTERM').length} by SIGTERM`);
for (const p of many) p.close();

// 4. The same through child_process, for comparison.
t = process.hrtime.bigint();
const cp = spawnShell('sleep', ['300'], { stdio: 'ignore' });
await new Promise((resolve) => cp.once('spawn', resolve));
const tk = process.hrtime.bigint();
cp.kill('SIGKILL');
await new Promise((resolve) => cp.once('exit', resolve));
console.log(`child_process for one child: spawn ${(Number(tk - t) / 1e6).toFixed(2)} ms, kill->exit ${ms(tk)}`);
