// `npm run bench` stays runnable: its --quick smoke (tiny sizes) must pass and emit valid
// JSON and SVG. No timing is asserted here; the figures live in the bench itself.
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { expect, it } from 'vitest';
import { skip } from './environment';
import { root, skipUnderQemu } from './support';

// Under scripts/test-asan.sh every process of the bench (its C peers, forktree, ps, the
// Node floor addon) runs with libasan preloaded: it then measures the sanitizer, and its
// quick run outgrew its bound there (CI). The plain suite runs it.
const asan = skip(/libasan/.test(process.env.LD_PRELOAD ?? ''), 'the bench smoke run is not run under ASan: every bench process would carry the sanitizer');

it.skipIf(asan || skipUnderQemu('the bench measures this machine, not an emulator'))('the bench smoke run passes', () => {
  const r = spawnSync(process.execPath, [path.join(root, 'bench', 'smoke.test.mjs')], { encoding: 'utf8', timeout: 400_000 });
  expect(r.stdout).toMatch(/^\d+ passed, 0 failed$/m);
  expect(r.status).toBe(0);
}, 420_000);
