// bench/results.svg, the picture docs/performance.md shows: drawn from bench/results.json by
// bench/lib/svg.mjs, with every section a full run holds (trees and runtimes included) and
// the goals as docs/performance.md restates them. No measuring here: `npm run bench` does.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { root } from './support';

const stored = () => JSON.parse(readFileSync(path.join(root, 'bench', 'results.json'), 'utf8'));

/** The sections a full run adds to the stored file (shapes as bench/run.mjs writes them). */
function withTreeAndRuntimes(res: any): any {
  const peer = (label: string, ms: number, extra = {}) => ({ label, n: 10, median_ns: ms * 1e6, p99_ns: ms * 1.5e6, ...extra });
  res.tree = {
    size: 300, runs: 10, tree_kill_runs: 3, spawns: 200, tree_method: 'cgroup', cgroup_parent: '/sys/fs/cgroup/x',
    spawn: { plain: peer('pidfd.spawn', 1.2), tree: peer('pidfd.spawn({ tree: true })', 1.4), tree_vs_plain: 1.4 / 1.2 },
    kill: {
      c: peer('C cgroup.kill + POLLPRI populated 0', 100, { median_vs_c: 1, vs_pidfd: 1 / 1.27 }),
      pidfd: peer('pidfd tree.kill + tree.exited', 127, { median_vs_c: 1.27, vs_pidfd: 1 }),
      'tree-kill': peer('tree-kill (npm)', 30_000, { median_vs_c: 300, vs_pidfd: 236, survivors_total: 0 }),
    },
  };
  const runtime = (label: string, own: string, ratio: number) => ({
    label, version: '1.0', delivery: 'uv', own_label: own, runs: 100,
    pidfd: { median_ns: 300_000 * ratio, p99_ns: 600_000 }, own: { median_ns: 300_000, p99_ns: 500_000 },
    median_vs_own: ratio, p99_vs_own: 1.2, threads: { before: 5, with_watches: 5, watches: 10000, delivery_threads: 0, storm_settled_ns: 9e8 },
  });
  res.runtimes = {
    results: [runtime('node', "child_process 'exit'", 0.8), runtime('deno', 'Deno.Command status', 1.1), runtime('bun', 'Bun.spawn exited', 1.24)],
    skipped: {},
  };
  return res;
}

function redraw(res: any): { svg: string; log: string } {
  const dir = mkdtempSync(path.join(tmpdir(), 'pidfd-svg-'));
  try {
    writeFileSync(path.join(dir, 'results.json'), JSON.stringify(res));
    const svg = path.join(dir, 'results.svg');
    const r = spawnSync(process.execPath, [path.join(root, 'bench', 'run.mjs'), '--svg-from', path.join(dir, 'results.json'), '--svg', svg], { encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    return { svg: readFileSync(svg, 'utf8'), log: r.stderr };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function expectWellFormed(svg: string): void {
  expect(svg).not.toMatch(/NaN|undefined|Infinity|null/);
  for (const tag of ['svg', 'text', 'rect', 'title', 'style']) {
    const opened = svg.match(new RegExp(`<${tag}[ >]`, 'g'))?.length ?? 0;
    const closed = (svg.match(new RegExp(`</${tag}>`, 'g'))?.length ?? 0) + (tag === 'rect' ? (svg.match(/<rect [^>]*\/>/g)?.length ?? 0) : 0);
    expect(closed, tag).toBe(opened);
  }
}

describe('bench/results.svg generator', () => {
  it('draws the stored bench/results.json, with the restated goals: neither retired goal is there to fail', () => {
    const { svg, log } = redraw(stored());
    expectWellFormed(svg);
    for (const heading of ['Exit-notification latency', 'Spawn throughput', 'processes watched at once', 'Goals']) expect(svg).toContain(heading);
    expect(svg).not.toMatch(/median &lt;= 1\.15x C/); // retired: below what Node itself reaches
    expect(svg).not.toMatch(/&gt;= 20x child_process/); // retired: beyond what C reaches at 1 GiB
    expect(svg).toMatch(/median &lt;= 1\.15x the Node floor/);
    expect(svg).toMatch(/&gt;= 0\.8x C posix_spawn with no heap/);
    const [, met, total] = log.match(/goals met (\d+)\/(\d+)/)!.map(Number);
    expect(svg).toContain(`Goals: ${met} of ${total} met`);
    expect(svg.match(/class="no"/g)?.length ?? 0).toBe(total - met);
    expect(svg.match(/class="ok"/g)?.length ?? 0).toBe(met);
  });

  it('draws every section a full run holds: trees and runtimes too, and skipped peers by name', () => {
    const res = withTreeAndRuntimes(stored());
    res.runtimes.skipped = { bun: 'scripts/install-runtimes.sh failed' };
    res.runtimes.results.pop();
    res.tree.kill['tree-kill'] = { label: 'tree-kill (npm)', skipped: 'not installed' };
    const { svg } = redraw(res);
    expectWellFormed(svg);
    for (const heading of ['Process trees: kill a 300-process tree', 'spawn /bin/true until exited, with and without a tree', 'Runtimes: kill → exit seen']) {
      expect(svg).toContain(heading);
    }
    expect(svg).toContain('1.27× C'); // the tree kill against C cgroup.kill
    expect(svg).toContain('Deno.Command status');
    expect(svg).toContain('skipped: scripts/install-runtimes.sh failed');
    expect(svg).toContain('skipped: not installed');
    expect(svg).toMatch(/kill a 300-process tree until exited &lt;= 1\.5x C/);
    expect(svg).toMatch(/deno: pidfd median &lt;= 1\.5x/);
  });
});
