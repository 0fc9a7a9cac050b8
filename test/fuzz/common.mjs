// Shared by the lifecycle fuzzer, the soak script and test/hardening.test.ts: the subject
// helper, a seedable PRNG, and what /proc says about our fds and children.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

export const here = path.dirname(fileURLToPath(import.meta.url));
export const root = path.resolve(here, '..', '..');
export const distEntry = path.join(root, 'dist', 'index.mjs');

/** test/.build/<name>, compiled from test/fuzz/<name>.c when missing or stale. */
export function cHelper(name, extra = []) {
  const src = path.join(here, `${name}.c`);
  const out = path.join(root, 'test', '.build', `fuzz-${name}`);
  let fresh = false;
  try {
    fresh = fs.statSync(out).mtimeMs >= fs.statSync(src).mtimeMs;
  } catch {}
  if (!fresh) {
    fs.mkdirSync(path.dirname(out), { recursive: true });
    const tmp = `${out}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
    try {
      execFileSync(process.env.CC || 'cc', ['-O2', '-Wall', '-Wextra', '-o', tmp, src, ...extra], { stdio: ['ignore', 'pipe', 'pipe'] });
      fs.renameSync(tmp, out);
    } catch (err) {
      fs.rmSync(tmp, { force: true });
      throw err;
    }
  }
  return out;
}

/** `subject MS CODE` exits with CODE after MS ms; `subject MS -SIG` dies of SIG. */
export const subjectPath = () => cHelper('subject');

/** mulberry32: small, fast, and the same sequence for the same seed everywhere. */
export function prng(seed) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const rng = {
    next,
    int: (lo, hi) => lo + Math.floor(next() * (hi - lo + 1)), // inclusive
    pick: (list) => list[Math.floor(next() * list.length)],
    chance: (p) => next() < p,
    weighted(table) {
      let total = 0;
      for (const [, w] of table) total += w;
      let x = next() * total;
      for (const [value, w] of table) if ((x -= w) < 0) return value;
      return table[table.length - 1][0];
    },
  };
  return rng;
}

/** fds of this process that are pidfds. */
/** The pids (as fdinfo shows them, -1 once reaped) that our open pidfds refer to. */
export function pidfdTargets() {
  const out = [];
  for (const fd of fs.readdirSync('/proc/self/fd')) {
    try {
      if (!fs.readlinkSync(`/proc/self/fd/${fd}`).includes('pidfd')) continue;
      const pid = /^Pid:\s*(-?\d+)/m.exec(fs.readFileSync(`/proc/self/fdinfo/${fd}`, 'utf8'))?.[1];
      const state = pid > 0 ? fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.[0] : '-';
      out.push(`${fd}->${pid}:${state}`);
    } catch {}
  }
  return out;
}

export function pidfdCount() {
  let n = 0;
  for (const fd of fs.readdirSync('/proc/self/fd')) {
    try {
      if (fs.readlinkSync(`/proc/self/fd/${fd}`).includes('pidfd')) n++;
    } catch {}
  }
  return n;
}

export const fdCount = () => fs.readdirSync('/proc/self/fd').length;

export function procState(pid) {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[0];
  } catch {
    return null;
  }
}

/** Direct children of this process (all threads), with their states. */
export function children() {
  const out = [];
  for (const tid of fs.readdirSync('/proc/self/task')) {
    let list = '';
    try {
      list = fs.readFileSync(`/proc/self/task/${tid}/children`, 'utf8').trim();
    } catch {
      continue;
    }
    for (const pid of list ? list.split(' ').map(Number) : []) out.push({ pid, state: procState(pid) });
  }
  return out;
}

export const zombies = () => children().filter((c) => c.state === 'Z').map((c) => c.pid);

export function rssKiB() {
  const m = fs.readFileSync('/proc/self/status', 'utf8').match(/^VmRSS:\s+(\d+)/m);
  return m ? Number(m[1]) : 0;
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

export async function until(fn, timeout) {
  const deadline = Date.now() + timeout;
  for (;;) {
    const v = fn();
    if (v) return v;
    if (Date.now() > deadline) return v;
    await sleep(10);
  }
}

export function parseArgs(argv, defaults) {
  const opts = { ...defaults };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (!a.startsWith('--')) throw new Error(`unexpected argument ${a}`);
    const [key, inline] = a.slice(2).split('=', 2);
    if (!(key in defaults)) throw new Error(`unknown option --${key}`);
    if (typeof defaults[key] === 'boolean') opts[key] = inline === undefined ? true : inline !== 'false';
    else {
      const v = inline ?? argv[++i];
      opts[key] = typeof defaults[key] === 'number' ? Number(v) : v;
      if (typeof defaults[key] === 'number' && !Number.isFinite(opts[key])) throw new Error(`--${key} needs a number`);
    }
  }
  return opts;
}
