// Environment lifecycle: worker threads, worker termination mid-watch, process exit with
// pending watches. Each runs in a fresh node so a crash or a leak shows in its exit.
import { describe, expect, it } from 'vitest';
import { lastJson, root, runNode } from './support';

describe('worker threads', () => {
  it('watches, spawns and reaps inside a worker, on the worker loop', async () => {
    const r = await runNode(`
      import { Worker } from 'node:worker_threads';
      const code = \`
        const { parentPort } = require('node:worker_threads');
        const pidfd = require(${JSON.stringify(root + '/dist/index.js')});
        (async () => {
          const child = pidfd.spawn('sh', ['-c', 'exit 5'], { stdio: 'ignore' });
          const status = await child.exited;
          child.close();
          const h = pidfd.open(process.pid);
          h.close();
          parentPort.postMessage(status.code);
        })();
      \`;
      const results = await Promise.all([1, 2, 3].map(() => new Promise((resolve, reject) => {
        const w = new Worker(code, { eval: true, execArgv: [] });
        w.once('message', resolve);
        w.once('error', reject);
      })));
      console.log(JSON.stringify(results));
    `);
    expect(lastJson(r)).toEqual([5, 5, 5]);
  });

  it('survives a worker terminated mid-watch: no crash, no fd left open, no zombie', async () => {
    const r = await runNode(`
      import { Worker } from 'node:worker_threads';
      import * as fs from 'node:fs';
      const pidfds = () => fs.readdirSync('/proc/self/fd').filter((fd) => {
        try { return fs.readlinkSync('/proc/self/fd/' + fd).includes('pidfd'); } catch { return false; }
      }).length;
      const state = (pid) => { try { return fs.readFileSync('/proc/' + pid + '/stat', 'utf8').split(') ')[1][0]; } catch { return null; } };
      const code = \`
        const { parentPort, workerData } = require('node:worker_threads');
        const pidfd = require(${JSON.stringify(root + '/dist/index.js')});
        const handles = [];
        for (let i = 0; i < 50; i++) {
          const h = pidfd.open(process.pid);
          h.exited.catch(() => {});
          handles.push(h);
        }
        const child = pidfd.spawn('sleep', [String(workerData)], { stdio: 'ignore' });
        child.exited.catch(() => {});
        parentPort.postMessage(child.pid);
      \`;
      const before = pidfds();
      const pids = [];
      // The first child lives until we kill it: each later orphan must be reaped as it exits,
      // not when everything is over.
      for (let round = 0; round < 5; round++) {
        const w = new Worker(code, { eval: true, execArgv: [], workerData: round === 0 ? 1000 : 0.3 });
        pids.push(await new Promise((resolve) => w.once('message', resolve)));
        await w.terminate();
      }
      const running = pids.filter((pid) => state(pid) === 'S').length;
      // The children outlive their workers; once they exit, something must still reap them.
      // Polled, with bounds only a hang reaches.
      const short = pids.slice(1);
      for (let i = 0; i < 1000 && short.some((pid) => state(pid) !== null); i++) await new Promise((r) => setTimeout(r, 20));
      const shortStates = short.map(state);
      const firstState = state(pids[0]); // it still runs: the others were reaped on their own
      process.kill(pids[0], 'SIGKILL'); // our child, alive and unreaped: the pid is still its own
      for (let i = 0; i < 1000 && state(pids[0]) !== null; i++) await new Promise((r) => setTimeout(r, 20));
      console.log(JSON.stringify({ before, after: pidfds(), running, shortStates, firstState, states: pids.map(state), main: pidfd.open(process.pid).running }));
    `);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const { before, after, running, shortStates, firstState, states, main } = lastJson(r);
    expect(running).toBeGreaterThan(0); // the workers really were terminated mid-watch
    expect(shortStates).toEqual([null, null, null, null]); // reaped as each exits, not zombies
    expect(firstState).toBe('S');
    expect(states).toEqual([null, null, null, null, null]);
    expect(after).toBe(before);
    expect(main).toBe(true);
  });
});

describe('process exit', () => {
  it('exits cleanly with watches pending, through process.exit()', async () => {
    const r = await runNode(`
      const { spawnSync } = await import('node:child_process');
      const pid = Number(spawnSync('sh', ['-c', 'sleep 30 </dev/null >/dev/null 2>&1 & echo $!'], { encoding: 'utf8' }).stdout);
      const h = pidfd.open(pid);
      h.exited.then(() => {});
      const child = pidfd.spawn('sleep', ['30'], { stdio: 'ignore' });
      setTimeout(() => { process.kill(pid, 'SIGKILL'); child.kill('SIGKILL'); process.exit(3); }, 50);
    `);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(3);
  });

  it('exits cleanly when the loop empties with unref()ed watches pending', async () => {
    const r = await runNode(`
      const child = pidfd.spawn('sleep', ['1'], { stdio: 'ignore' });
      child.unref();
      child.exited.then(() => console.log('never'));
      const h = pidfd.open(process.pid);
      h.unref();
      h.exited.then(() => console.log('never'));
      console.log('done');
    `);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toBe('done');
  });
});
