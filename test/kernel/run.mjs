// The kernel suite: what a real kernel must give pidfd (test/kernel/README.md says what each file asserts). Plain Node, run
// inside each VM of `npm run test:kernels` and on the host:
//
//   node test/kernel/run.mjs [--json FILE] [--filter REGEX]
//
// Prints one line per test and `N passed, N failed, N skipped`; exit status 1 when any failed.
// --json writes { kernel, arch, node, features, spawnMethod, results } for the matrix table.
import { writeFileSync } from 'node:fs';
import { arch, release } from 'node:os';
import { parseArgs } from 'node:util';
import { run } from './harness.mjs';
import { methodName, native, pidfd } from './support.mjs';
import './features.mjs';
import './contract.mjs';
import './spawn-method.mjs';
import './trees.mjs';

const { values } = parseArgs({ options: { json: { type: 'string' }, filter: { type: 'string' } } });
console.log(`kernel suite: Linux ${release()} ${arch()}, Node ${process.version}`);
const features = { ...pidfd.features };
console.log(`features: ${JSON.stringify(features)}`);
const started = Date.now();
const results = await run({ filter: values.filter ? new RegExp(values.filter) : undefined });
if (values.json) {
  const report = {
    kernel: release(), arch: arch(), node: process.version, features,
    spawnMethod: methodName(native.spawnMethod()), ms: Date.now() - started, results,
  };
  writeFileSync(values.json, JSON.stringify(report, null, 1));
}
process.exitCode = results.some((r) => r.status === 'failed') ? 1 : 0;
