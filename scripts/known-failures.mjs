// Judge a vitest run against a list of known failures (test/qemu-known-failures.txt): passes
// only when the tests that failed are exactly the listed ones. An unlisted failure fails it
// (a regression), and so does a listed test that passed or did not run (the list is stale:
// take the line out). Prints which.
//
//   node scripts/known-failures.mjs LIST VITEST_JSON ROOT
//
// VITEST_JSON is vitest's json reporter output (--reporter=json --outputFile.json=FILE); ROOT
// the folder the test files are named relative to. A list line is
// `FILE > DESCRIBE > ... > TEST :: REASON`; blank lines and lines starting with # are comments.
import { readFileSync } from 'node:fs';
import { relative } from 'node:path';

const [listFile, jsonFile, root] = process.argv.slice(2);
if (!root) {
  console.error('usage: node scripts/known-failures.mjs LIST VITEST_JSON ROOT');
  process.exit(2);
}

const known = new Map(); // name -> reason
for (const [i, raw] of readFileSync(listFile, 'utf8').split('\n').entries()) {
  const line = raw.trim();
  if (!line || line.startsWith('#')) continue;
  const at = line.lastIndexOf(' :: ');
  if (at < 0) {
    console.error(`${listFile}:${i + 1}: no ' :: REASON' in: ${line}`);
    process.exit(2);
  }
  known.set(line.slice(0, at).trim(), line.slice(at + 4).trim());
}

const report = JSON.parse(readFileSync(jsonFile, 'utf8'));
const status = new Map(); // name -> passed | failed | skipped ...
const fileErrors = [];
for (const file of report.testResults) {
  const name = relative(root, file.name);
  const failedTests = file.assertionResults.filter((t) => t.status === 'failed').length;
  // A file that failed outside any test (it did not load, a hook threw) is never a known failure.
  if (file.status === 'failed' && failedTests === 0) fileErrors.push(`${name}: ${(file.message || 'failed').split('\n')[0]}`);
  for (const t of file.assertionResults) status.set([name, ...t.ancestorTitles, t.title].join(' > '), t.status);
}

const unlisted = [...status].filter(([n, s]) => s === 'failed' && !known.has(n)).map(([n]) => n);
const stale = [...known.keys()].filter((n) => status.get(n) !== 'failed').map((n) => `${n} (${status.get(n) ?? 'not run'})`);
const expected = [...known.keys()].filter((n) => status.get(n) === 'failed');

console.log(`known failures: ${expected.length} of ${known.size} listed failed as expected (${listFile})`);
for (const e of fileErrors) console.log(`FILE ERROR (never a known failure): ${e}`);
for (const n of unlisted) console.log(`UNLISTED FAILURE: ${n}`);
for (const n of stale) console.log(`LISTED BUT DID NOT FAIL (take it out of the list): ${n}`);
process.exit(fileErrors.length + unlisted.length + stale.length === 0 ? 0 : 1);
