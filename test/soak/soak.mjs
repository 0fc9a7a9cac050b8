#!/usr/bin/env node
// Soak: spawns and watches --total short processes (default 100,000) with up to --inflight
// (default 500) running at once, checks every exit status, and samples RSS and the fd count.
// At the end it asserts that neither grows (median of the last third of the samples against
// the middle third, with room for noise), that no pidfd and no child is left, and prints a
// summary. Exit status 1 on any failure.
//
//   node --expose-gc test/soak/soak.mjs [--total N] [--inflight N] [--samples N]
//        [--rss-slack-mib N] [--fd-slack N] [--pipe] [--json]
import { performance } from 'node:perf_hooks';
import { children, distEntry, fdCount, parseArgs, pidfdCount, prng, rssKiB, sleep, subjectPath, until } from '../fuzz/common.mjs';

const opts = parseArgs(process.argv.slice(2), {
  total: 100_000, inflight: 500, samples: 60, seed: 1, 'rss-slack-mib': 16, 'rss-slack-pct': 10, 'fd-slack': 16, pipe: false, json: false,
});
const pidfd = await import(distEntry);
const subject = subjectPath();
const rng = prng(opts.seed);
const every = Math.max(1, Math.floor(opts.total / opts.samples));
const gc = globalThis.gc ?? (() => {});
const log = (line) => !opts.json && console.log(line);

let started = 0;
let done = 0;
let wrong = 0;
let errors = 0;
let holding = 0; // handles spawned and not yet closed: their fds are legitimately open
const firstErrors = [];
const samples = [];
const t0 = performance.now();

function sample() {
  gc();
  const fds = fdCount();
  const s = { done, ms: Math.round(performance.now() - t0), rssKiB: rssKiB(), fds, extraFds: fds - holding, pidfds: pidfdCount(), heapKiB: Math.round(process.memoryUsage().heapUsed / 1024) };
  samples.push(s);
  log(`${String(s.done).padStart(7)} done  ${(s.ms / 1000).toFixed(1).padStart(6)} s  rss ${(s.rssKiB / 1024).toFixed(1)} MiB  heap ${(s.heapKiB / 1024).toFixed(1)} MiB  fds ${s.fds} (${s.extraFds} beyond open handles)  pidfds ${s.pidfds}`);
}

async function one() {
  const code = rng.int(0, 255);
  const ms = rng.chance(0.8) ? 0 : rng.int(1, 20);
  let child;
  try {
    child = pidfd.spawn(subject, [String(ms), String(code)], { stdio: opts.pipe ? ['ignore', 'pipe', 'ignore'] : 'ignore' });
  } catch (err) {
    errors++;
    if (firstErrors.length < 5) firstErrors.push(`spawn: ${err.code} ${err.message}`);
    await sleep(5); // EAGAIN & co.: let the system breathe, and count it
    return;
  }
  holding++;
  child.stdout?.resume();
  try {
    const status = await child.exited;
    if (status.code !== code || status.signal !== null || status.pid !== child.pid) {
      wrong++;
      if (firstErrors.length < 5) firstErrors.push(`pid ${child.pid}: expected code ${code}, got ${JSON.stringify(status)}`);
    }
  } catch (err) {
    errors++;
    if (firstErrors.length < 5) firstErrors.push(`exited rejected: ${err.code} ${err.message}`);
  }
  child.close();
  holding--;
  child.stdout?.destroy();
}

async function lane() {
  while (started < opts.total) {
    started++;
    await one();
    done++;
    if (done % every === 0) sample();
  }
}

sample();
await Promise.all(Array.from({ length: Math.min(opts.inflight, opts.total) }, lane));
const elapsed = performance.now() - t0;
await new Promise((r) => setImmediate(r));
const pidfdsLeft = await until(() => pidfdCount() === 0, 5000) ? 0 : pidfdCount();
const childrenLeft = (await until(() => children().length === 0, 5000)) ? 0 : children().length;

// Flatness: the median of the last third of the samples against the middle third.
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.floor(s.length / 2)] : 0;
};
const third = Math.floor(samples.length / 3);
const middle = samples.slice(third, 2 * third);
const last = samples.slice(2 * third);
const rssMiddle = median(middle.map((s) => s.rssKiB));
const rssLast = median(last.map((s) => s.rssKiB));
// fds beyond the handles open at that instant (the in-flight count varies from sample to sample)
const fdMiddle = median(middle.map((s) => s.extraFds));
const fdLast = median(last.map((s) => s.extraFds));
const rssAllowed = rssMiddle * (1 + opts['rss-slack-pct'] / 100) + opts['rss-slack-mib'] * 1024;
const problems = [];
if (samples.length < 6) problems.push(`too few samples (${samples.length}) to judge a trend`);
if (rssLast > rssAllowed) problems.push(`RSS grew: median ${rssMiddle} KiB (middle third) -> ${rssLast} KiB (last third), allowed ${Math.round(rssAllowed)}`);
if (fdLast > fdMiddle + opts['fd-slack']) problems.push(`fds beyond open handles grew: median ${fdMiddle} -> ${fdLast}`);
if (wrong) problems.push(`${wrong} wrong exit status(es)`);
if (errors) problems.push(`${errors} error(s)`);
if (pidfdsLeft) problems.push(`${pidfdsLeft} pidfd(s) left open`);
if (childrenLeft) problems.push(`${childrenLeft} child(ren) left`);
problems.push(...firstErrors);

const summary = {
  ok: problems.length === 0, total: opts.total, inflight: opts.inflight, seconds: +(elapsed / 1000).toFixed(1),
  perSecond: Math.round(opts.total / (elapsed / 1000)), rssMiB: { start: +(samples[0].rssKiB / 1024).toFixed(1), middle: +(rssMiddle / 1024).toFixed(1), last: +(rssLast / 1024).toFixed(1) },
  fdsBeyondHandles: { start: samples[0].extraFds, middle: fdMiddle, last: fdLast }, samples: samples.length, problems,
};
console.log(JSON.stringify(summary));
process.exitCode = summary.ok ? 0 : 1;
