// The table of a `npm run test:kernels` run: reads RESULTS/LABEL-ARCH/{result.json,rc,seconds}
// (written by scripts/kernels/run.sh) and prints kernel × arch × result as Markdown.
// With --write FILE it also writes that file (RESULTS_DIR/RESULTS.md; run.sh copies it to
// test/kernel/RESULTS.md with --write-results): the same table and the features each kernel gave.
//
//   node scripts/kernels/report.mjs RESULTS [--write FILE]
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

const { values, positionals } = parseArgs({ options: { write: { type: 'string' } }, allowPositionals: true });
const dir = positionals[0];
const read = (run, file) => {
  const path = join(dir, run, file);
  return existsSync(path) ? readFileSync(path, 'utf8').trim() : null;
};

// host first, then by version, x86_64 before arm64.
const order = (name) =>
  name.startsWith('host-') ? [-1] : [...name.split('-')[0].split('.').map(Number), name.endsWith('-x86_64') ? 0 : 1];
const runs = readdirSync(dir)
  .filter((name) => existsSync(join(dir, name, 'rc')))
  .sort((a, b) => {
    const [x, y] = [order(a), order(b)];
    for (let i = 0; i < Math.max(x.length, y.length); i++) if ((x[i] ?? 0) !== (y[i] ?? 0)) return (x[i] ?? 0) - (y[i] ?? 0);
    return a.localeCompare(b);
  });

// boot.sh's JOB/accel: "kvm CPU" or "tcg".
const accelName = (a) => (a === null ? '?' : a.startsWith('kvm ') ? `KVM (-cpu ${a.slice(4)})` : 'TCG');

const rows = runs.map((name) => {
  const [label, arch] = [name.slice(0, name.lastIndexOf('-')), name.slice(name.lastIndexOf('-') + 1)];
  const report = read(name, 'result.json') ? JSON.parse(read(name, 'result.json')) : null;
  const count = (s) => report?.results.filter((r) => r.status === s).length ?? 0;
  const rc = Number(read(name, 'rc'));
  const result = rc === 0 && report ? 'pass' : rc === 124 ? 'FAIL (timeout)' : report ? 'FAIL' : `FAIL (no result, exit ${rc})`;
  return {
    kernel: label === 'host' ? 'host' : `Debian ${label}`, release: report?.kernel ?? '?', arch, node: report?.node ?? '?',
    method: report?.spawnMethod ?? '?', result, passed: count('passed'), failed: count('failed'), skipped: count('skipped'),
    seconds: Number(read(name, 'seconds')), accel: label === 'host' ? '–' : accelName(read(name, 'accel')), features: report?.features ?? null,
    failures: report?.results.filter((r) => r.status === 'failed').map((r) => r.name) ?? [],
    skips: report?.results.filter((r) => r.status === 'skipped').map((r) => `${r.name}: ${r.reason}`) ?? [],
  };
});

const table = (head, body) =>
  [`| ${head.join(' | ')} |`, `|${head.map(() => '---').join('|')}|`, ...body.map((r) => `| ${r.join(' | ')} |`)].join('\n');

const results = table(
  ['kernel', 'release', 'arch', 'result', 'passed', 'failed', 'skipped', 'spawn', 'Node', 'accel', 'seconds'],
  rows.map((r) => [r.kernel, r.release, r.arch, r.result, r.passed, r.failed, r.skipped, r.method, r.node, r.accel, r.seconds]),
);
console.log(`\n${results}\n`);
for (const r of rows) for (const f of r.failures) console.log(`failed on ${r.kernel} ${r.arch}: ${f}`);

if (values.write) {
  const names = Object.keys(rows.find((r) => r.features)?.features ?? {});
  const features = table(
    ['kernel', 'arch', ...names.map((n) => `\`${n}\``)],
    rows.map((r) => [r.kernel === 'host' ? `host ${r.release}` : r.kernel, r.arch, ...names.map((n) => (r.features ? (r.features[n] ? 'yes' : '–') : '?'))]),
  );
  const skips = [...new Set(rows.flatMap((r) => r.skips))];
  const text = `# Tested kernels

Written by \`npm run test:kernels -- --write-results\` (scripts/kernels/run.sh) from a full run, on
${new Date().toISOString().slice(0, 10)}: the kernel suite (test/kernel) on the host kernel and,
under qemu-system, on Debian's own kernel packages (pinned in scripts/kernels/kernels.txt) for
x86_64 and arm64. "spawn" is the method \`spawn()\` used there (clone3 everywhere; the
clone(CLONE_PIDFD) and fork + pidfd_open fallbacks are forced with seccomp filters in each VM).
"seconds" is the wall time of each VM, boot included, under the accelerator of "accel" (KVM
only where a probe boot showed it works, scripts/kernels/accel.sh; TCG is emulation).

${results}

What \`pidfd.features\` gave on each (each entry is also checked against the kernel version
that introduced it, test/kernel/history.mjs):

${features}
${skips.length ? `\nSkipped everywhere or somewhere, with the reason:\n\n${skips.map((s) => `- ${s}`).join('\n')}\n` : ''}`;
  writeFileSync(values.write, text);
  console.log(`wrote ${values.write}`);
}
