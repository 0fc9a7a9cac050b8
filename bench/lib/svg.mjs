// Hand-written SVG chart of bench/results.json (no dependencies): latency medians with
// p99 marks per peer (log scale), spawns/s per peer and configuration, scale, trees,
// runtimes, and the goals. Every panel draws whatever its section holds (skipped peers
// are named as such), so a run of any set of sections gives a whole picture.
const W = 900;
const LEFT = 250; // label column
const RIGHT = 120; // value column
const PLOT = W - LEFT - RIGHT;
const BAR = 16;
const GAP = 6;

const COLORS = {
  'c-poll': '#6b7280',
  'c-posix_spawn': '#6b7280',
  'pidfd-spawn': '#2563eb',
  pidfd: '#2563eb',
  'pidfd-open': '#60a5fa',
  child_process: '#f59e0b',
  'python-asyncio': '#10b981',
  'kill0-10ms': '#ef4444',
  'kill0-100ms': '#fca5a5',
  floor: '#93c5fd',
  c: '#6b7280',
  'tree-kill': '#ef4444',
  plain: '#60a5fa',
  tree: '#2563eb',
  own: '#f59e0b',
};
const LABELS = {
  'c-posix_spawn': 'C posix_spawn (limit)',
  pidfd: 'pidfd.spawn',
  child_process: 'child_process.spawn',
  'python-asyncio': 'Python asyncio',
};

const esc = (s) => String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
const text = (x, y, s, attrs = '') => `<text x="${x.toFixed(1)}" y="${y.toFixed(1)}" ${attrs}>${esc(s)}</text>`;
const rect = (x, y, w, h, fill, title) =>
  `<rect x="${x.toFixed(1)}" y="${y.toFixed(1)}" width="${Math.max(w, 0.5).toFixed(1)}" height="${h}" fill="${fill}">${title ? `<title>${esc(title)}</title>` : ''}</rect>`;

function fmtUs(ns) {
  const u = ns / 1e3;
  if (u >= 1000) return `${(u / 1000).toFixed(u >= 10000 ? 0 : 1)} ms`;
  return `${u.toFixed(0)} µs`;
}

const ratio = (v) => (v === undefined || !Number.isFinite(v) ? '-' : v >= 10 ? `${v.toFixed(0)}×` : `${v.toFixed(2)}×`);

/** Rows for peers that did not run: their label and why. */
function skippedRows(parts, entries, y) {
  for (const [name, p] of entries) {
    parts.push(text(LEFT - 8, y + BAR - 4, p.label ?? name, 'class="l" text-anchor="end"'));
    parts.push(text(LEFT, y + BAR - 4, `skipped: ${String(p.skipped).slice(0, 90)}`, 'class="s"'));
    y += BAR + GAP;
  }
  return y;
}

function latencyPanel(lat, y0) {
  const parts = [];
  const peers = Object.entries(lat.peers).filter(([, p]) => !p.skipped);
  if (peers.length === 0) return { svg: text(20, y0 + 18, 'Exit-notification latency: every peer skipped', 'class="h"'), height: 30 };
  const lo = Math.pow(10, Math.floor(Math.log10(Math.min(...peers.map(([, p]) => p.median_ns)) / 1e3)));
  const hi = Math.pow(10, Math.ceil(Math.log10(Math.max(...peers.map(([, p]) => p.p99_ns)) / 1e3)));
  const sx = (ns) => LEFT + (Math.log10(ns / 1e3 / lo) / Math.log10(hi / lo)) * PLOT;
  parts.push(text(20, y0 + 18, `Exit-notification latency: SIGKILL → exit seen (${lat.runs} runs each)`, 'class="h"'));
  parts.push(text(20, y0 + 36, 'bar = median, tick = p99, log scale; shorter is better', 'class="s"'));
  let y = y0 + 50;
  const top = y;
  const rows = peers.length * (BAR + GAP);
  for (let d = lo; d <= hi; d *= 10) {
    const gx = sx(d * 1e3);
    parts.push(`<line x1="${gx.toFixed(1)}" y1="${top - 4}" x2="${gx.toFixed(1)}" y2="${top + rows}" class="grid"/>`);
    parts.push(text(gx, top + rows + 14, fmtUs(d * 1e3), 'class="ax" text-anchor="middle"'));
  }
  for (const [name, p] of peers) {
    parts.push(text(LEFT - 8, y + BAR - 4, p.label ?? name, 'class="l" text-anchor="end"'));
    parts.push(rect(LEFT, y, sx(p.median_ns) - LEFT, BAR, COLORS[name] ?? '#999', `${p.label}: median ${fmtUs(p.median_ns)}, p99 ${fmtUs(p.p99_ns)}`));
    const px = sx(p.p99_ns);
    parts.push(`<line x1="${px.toFixed(1)}" y1="${y - 2}" x2="${px.toFixed(1)}" y2="${y + BAR + 2}" class="p99"/>`);
    parts.push(text(W - RIGHT + 6, y + BAR - 4, `${fmtUs(p.median_ns)} (${ratio(p.median_vs_c)} C)`, 'class="v"'));
    y += BAR + GAP;
  }
  y = skippedRows(parts, Object.entries(lat.peers).filter(([, p]) => p.skipped), y + 20) - 20;
  return { svg: parts.join('\n'), height: y - y0 + 30 };
}

function spawnPanel(res, y0) {
  const parts = [];
  const groups = [];
  if (res.spawn) for (const k of [1, 8]) groups.push({ title: `${k === 1 ? 'sequential' : '8 in flight'}, no extra heap`, rows: res.spawn.results.filter((r) => r.inflight === k && !r.skipped) });
  for (const heap of [res.heap, res.heap?.large]) {
    if (!heap?.results) continue;
    for (const k of [1, 8]) groups.push({ title: `${k === 1 ? 'sequential' : '8 in flight'}, ${heap.heap_mib} MiB live JS heap`, rows: heap.results.filter((r) => r.inflight === k && !r.skipped) });
  }
  const max = Math.max(...groups.flatMap((g) => g.rows.map((r) => r.spawns_per_s)));
  const step = Math.pow(10, Math.floor(Math.log10(max)));
  const hi = Math.ceil(max / step) * step;
  const sx = (v) => LEFT + (v / hi) * PLOT;
  parts.push(text(20, y0 + 18, 'Spawn throughput: spawn /bin/true + wait for its exit', 'class="h"'));
  parts.push(text(20, y0 + 36, 'spawns per second; longer is better', 'class="s"'));
  let y = y0 + 50;
  const top = y;
  const rowsHeight = groups.reduce((a, g) => a + 20 + g.rows.length * (BAR + GAP), 0);
  for (let v = 0; v <= hi; v += step) {
    const gx = sx(v);
    parts.push(`<line x1="${gx.toFixed(1)}" y1="${top - 4}" x2="${gx.toFixed(1)}" y2="${top + rowsHeight}" class="grid"/>`);
    parts.push(text(gx, top + rowsHeight + 14, String(v), 'class="ax" text-anchor="middle"'));
  }
  for (const g of groups) {
    parts.push(text(LEFT - 8, y + 13, g.title, 'class="g" text-anchor="end"'));
    y += 20;
    for (const r of g.rows) {
      parts.push(text(LEFT - 8, y + BAR - 4, LABELS[r.peer] ?? r.peer, 'class="l" text-anchor="end"'));
      parts.push(rect(LEFT, y, sx(r.spawns_per_s) - LEFT, BAR, COLORS[r.peer] ?? '#999', `${LABELS[r.peer] ?? r.peer}: ${r.spawns_per_s.toFixed(0)} spawns/s`));
      parts.push(text(W - RIGHT + 6, y + BAR - 4, `${r.spawns_per_s.toFixed(0)}/s`, 'class="v"'));
      y += BAR + GAP;
    }
  }
  return { svg: parts.join('\n'), height: y - y0 + 30 };
}

function scalePanel(sc, y0) {
  const parts = [];
  parts.push(text(20, y0 + 18, `${sc.n} processes watched at once (not our children)`, 'class="h"'));
  parts.push(text(20, y0 + 36, 'kill storm: kill(-pgid) until the last exit is seen (ms); shorter is better', 'class="s"'));
  const rows = [
    ['C epoll (limit)', 'c-poll', sc.c_epoll.storm_ns, sc.c_epoll.kill_ns],
    ['pidfd.open + exited', 'pidfd-spawn', sc.pidfd.storm_ns, sc.pidfd.kill_ns],
  ];
  const hi = Math.max(...rows.map((r) => r[2])) * 1.1;
  const sx = (ns) => LEFT + (ns / hi) * PLOT;
  let y = y0 + 50;
  for (const [label, color, storm, kill] of rows) {
    parts.push(text(LEFT - 8, y + BAR - 4, label, 'class="l" text-anchor="end"'));
    parts.push(rect(LEFT, y, sx(storm) - LEFT, BAR, COLORS[color], `${label}: ${(storm / 1e6).toFixed(1)} ms (kill() itself ${(kill / 1e6).toFixed(1)} ms)`));
    parts.push(rect(LEFT, y + BAR - 4, sx(kill) - LEFT, 4, '#111827', 'time inside kill(-pgid, SIGKILL)'));
    parts.push(text(W - RIGHT + 6, y + BAR - 4, `${(storm / 1e6).toFixed(0)} ms`, 'class="v"'));
    y += BAR + GAP;
  }
  parts.push(text(LEFT, y + 10, 'dark strip: time spent inside kill(-pgid, SIGKILL) itself', 'class="s"'));
  y += 24;
  const facts = [
    `RSS per watch: ${sc.memory.rss_per_watch_bytes.toFixed(0)} B`,
    `idle CPU: ${sc.idle.cpu_percent.toFixed(3)} % (kill(pid,0) loop every ${sc.poll_ms} ms: ${sc.polling.cpu_percent.toFixed(2)} %)`,
    `readFile throughput with/without the watches: ${sc.read_file.ratio.toFixed(2)}×`,
  ];
  for (const f of facts) {
    parts.push(text(LEFT, y + 10, f, 'class="l"'));
    y += 18;
  }
  return { svg: parts.join('\n'), height: y - y0 + 20 };
}

/** Horizontal bars on a log scale (values in ns), one row per entry; for spreads of 100×. */
function logBars(parts, rows, y, valueText) {
  const values = rows.map((r) => r.ns);
  const lo = Math.pow(10, Math.floor(Math.log10(Math.min(...values))));
  const hi = Math.pow(10, Math.ceil(Math.log10(Math.max(...values))));
  const span = Math.max(Math.log10(hi / lo), 1);
  const sx = (ns) => LEFT + (Math.log10(ns / lo) / span) * PLOT;
  const top = y;
  const height = rows.length * (BAR + GAP);
  for (let d = lo; d <= hi; d *= 10) {
    const gx = sx(d);
    parts.push(`<line x1="${gx.toFixed(1)}" y1="${top - 4}" x2="${gx.toFixed(1)}" y2="${top + height}" class="grid"/>`);
    parts.push(text(gx, top + height + 14, fmtUs(d), 'class="ax" text-anchor="middle"'));
  }
  for (const r of rows) {
    parts.push(text(LEFT - 8, y + BAR - 4, r.label, 'class="l" text-anchor="end"'));
    parts.push(rect(LEFT, y, Math.max(sx(r.ns) - LEFT, 1), BAR, r.color, `${r.label}: ${fmtUs(r.ns)}`));
    parts.push(text(W - RIGHT + 6, y + BAR - 4, valueText(r), 'class="v"'));
    y += BAR + GAP;
  }
  return y + 24;
}

function treePanel(tr, y0) {
  const parts = [];
  parts.push(text(20, y0 + 18, `Process trees: kill a ${tr.size}-process tree until it is empty (${tr.runs} runs; tree-kill ${tr.tree_kill_runs})`, 'class="h"'));
  parts.push(text(20, y0 + 36, `median, log scale; shorter is better. Method: ${tr.tree_method ?? '-'}`, 'class="s"'));
  let y = y0 + 50;
  const kills = Object.entries(tr.kill ?? {});
  const ran = kills.filter(([, p]) => !p.skipped);
  if (ran.length) {
    y = logBars(
      parts,
      ran.map(([name, p]) => ({ label: p.label ?? name, ns: p.median_ns, color: COLORS[name] ?? '#999', p })),
      y,
      (r) => `${fmtUs(r.ns)} (${ratio(r.p.median_vs_c)} C)`,
    );
  }
  y = skippedRows(parts, kills.filter(([, p]) => p.skipped), y);
  const spawns = Object.entries(tr.spawn ?? {}).filter(([name, p]) => name !== 'tree_vs_plain' && p && typeof p === 'object');
  const spawnRan = spawns.filter(([, p]) => !p.skipped);
  if (spawnRan.length) {
    parts.push(text(20, y + 14, `spawn /bin/true until exited, with and without a tree (${tr.spawns} each, alternating; median)`, 'class="g"'));
    y += 26;
    const hi = Math.max(...spawnRan.map(([, p]) => p.median_ns)) * 1.1;
    for (const [name, p] of spawnRan) {
      parts.push(text(LEFT - 8, y + BAR - 4, p.label ?? name, 'class="l" text-anchor="end"'));
      parts.push(rect(LEFT, y, (p.median_ns / hi) * PLOT, BAR, COLORS[name] ?? '#999', `${p.label}: ${fmtUs(p.median_ns)}`));
      const plain = tr.spawn.plain?.median_ns;
      const vsPlain = name === 'plain' || !plain ? '' : ` (${ratio(p.median_ns / plain)} plain)`;
      parts.push(text(W - RIGHT + 6, y + BAR - 4, `${fmtUs(p.median_ns)}${vsPlain}`, 'class="v"'));
      y += BAR + GAP;
    }
  }
  y = skippedRows(parts, spawns.filter(([, p]) => p.skipped), y);
  return { svg: parts.join('\n'), height: y - y0 + 20 };
}

function runtimesPanel(rt, y0) {
  const parts = [];
  const runs = rt.results[0]?.runs ?? 0;
  parts.push(text(20, y0 + 18, `Runtimes: kill → exit seen, pidfd vs the runtime's own notification (${runs} runs each)`, 'class="h"'));
  parts.push(text(20, y0 + 36, 'median; shorter is better; value: pidfd / own', 'class="s"'));
  let y = y0 + 50;
  const all = rt.results.flatMap((r) => [r.pidfd.median_ns, r.own.median_ns]);
  const hi = all.length ? Math.max(...all) * 1.1 : 1;
  for (const r of rt.results) {
    parts.push(text(20, y + 13, `${r.label} ${r.version ?? ''}`.trim(), 'class="g"'));
    y += 20;
    for (const [label, peer, color] of [['pidfd', r.pidfd, COLORS.pidfd], [r.own_label, r.own, COLORS.own]]) {
      parts.push(text(LEFT - 8, y + BAR - 4, label, 'class="l" text-anchor="end"'));
      parts.push(rect(LEFT, y, (peer.median_ns / hi) * PLOT, BAR, color, `${label}: median ${fmtUs(peer.median_ns)}, p99 ${fmtUs(peer.p99_ns)}`));
      parts.push(text(W - RIGHT + 6, y + BAR - 4, peer === r.pidfd ? `${fmtUs(peer.median_ns)} (${ratio(r.median_vs_own)})` : fmtUs(peer.median_ns), 'class="v"'));
      y += BAR + GAP;
    }
  }
  for (const [name, why] of Object.entries(rt.skipped ?? {})) {
    parts.push(text(LEFT - 8, y + BAR - 4, name, 'class="l" text-anchor="end"'));
    parts.push(text(LEFT, y + BAR - 4, `skipped: ${String(why).slice(0, 90)}`, 'class="s"'));
    y += BAR + GAP;
  }
  return { svg: parts.join('\n'), height: y - y0 + 20 };
}

function goalsPanel(goals, y0) {
  const met = goals.filter((g) => g.met).length;
  const parts = [text(20, y0 + 18, `Goals: ${met} of ${goals.length} met`, 'class="h"')];
  let y = y0 + 38;
  let section;
  // By section, in the panels' order (the list interleaves spawn and heap); others after.
  const order = [...new Set(['latency', 'spawn', 'heap', 'scale', 'threadpool', 'tree', 'runtimes', ...goals.map((g) => g.section)])];
  for (const g of [...goals].sort((a, b) => order.indexOf(a.section) - order.indexOf(b.section))) {
    if (g.section !== section) {
      section = g.section;
      parts.push(text(30, y, section, 'class="g"'));
      y += 18;
    }
    const v = g.unit === '%' ? `${g.value.toFixed(3)} %` : g.unit === 'B' ? `${g.value.toFixed(0)} B` : g.unit === 'x' ? `${g.value.toFixed(2)}×` : `${g.value} ${g.unit}`;
    parts.push(text(40, y, g.met ? '✔' : '✘', `class="${g.met ? 'ok' : 'no'}"`));
    parts.push(text(60, y, `${g.goal}: ${v}`, 'class="l"'));
    y += 18;
  }
  return { svg: parts.join('\n'), height: y - y0 + 10 };
}

export function renderSvg(res) {
  const panels = [];
  let y = 10;
  const add = (p) => {
    panels.push(p.svg);
    y += p.height;
  };
  if (res.latency) add(latencyPanel(res.latency, y));
  if (res.spawn || res.heap) add(spawnPanel(res, y));
  if (res.scale) add(scalePanel(res.scale, y));
  if (res.tree) add(treePanel(res.tree, y));
  if (res.runtimes) add(runtimesPanel(res.runtimes, y));
  if (res.goals?.length) add(goalsPanel(res.goals, y));
  const m = res.machine;
  const busy = Object.values(m.cpu_busy_percent_before_section ?? {});
  const busyNote = busy.length ? `; other work on the machine before each section: ${busy.map((b) => `${b.toFixed(0)}%`).join('/')} CPU` : '';
  const footer = `Linux ${m.kernel}, ${m.cpus}× ${m.cpu_model}, Node ${m.node}, ${m.python ?? 'no python'}; ${m.date.slice(0, 10)}${busyNote}`;
  y += 10;
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${y + 14}" viewBox="0 0 ${W} ${y + 14}" font-family="system-ui, -apple-system, Segoe UI, Helvetica, Arial, sans-serif">
<style>
.h { font-size: 15px; font-weight: 600; fill: #111827 }
.s { font-size: 11px; fill: #6b7280 }
.l { font-size: 12px; fill: #1f2937 }
.g { font-size: 12px; font-weight: 600; fill: #374151 }
.v { font-size: 11px; fill: #374151 }
.ax { font-size: 10px; fill: #6b7280 }
.grid { stroke: #e5e7eb; stroke-width: 1 }
.p99 { stroke: #111827; stroke-width: 2 }
.ok { font-size: 13px; fill: #16a34a }
.no { font-size: 13px; fill: #dc2626 }
</style>
<rect width="100%" height="100%" fill="#ffffff"/>
${panels.join('\n')}
${text(20, y + 4, footer, 'class="s"')}
</svg>
`;
}
