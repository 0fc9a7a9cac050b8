// `npm run bench` stays runnable: its --quick smoke (tiny sizes) must pass and emit valid
// JSON and SVG. No timing is asserted here; the figures live in the bench itself.
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { expect, it } from 'vitest';
import { root, skipUnderQemu } from './support';

it.skipIf(skipUnderQemu('the bench measures this machine, not an emulator'))('the bench smoke run passes', () => {
  const r = spawnSync(process.execPath, [path.join(root, 'bench', 'smoke.test.mjs')], { encoding: 'utf8', timeout: 400_000 });
  expect(r.stdout).toMatch(/^\d+ passed, 0 failed$/m);
  expect(r.status).toBe(0);
}, 420_000);
