// The shipped declarations, as a TypeScript user gets them: the packed package compiled by
// consumer files covering the whole API (test/types/), strict and without skipLibCheck, on
// TypeScript 5.9 and the newest (devDependency `typescript-next`), as ESM (nodenext,
// bundler) and CommonJS. No `types` option: the declarations must bring @types/node in.
import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { qemu, skipUnderQemu } from './environment';

const repo = path.resolve(__dirname, '..');
const compilers = ['typescript', 'typescript-next'];

interface Mode {
  name: string;
  type: 'module' | 'commonjs';
  module: string;
  moduleResolution?: string;
  files: string[];
  /** Beyond strict: what the strictest projects turn on. */
  extra?: Record<string, boolean>;
}
const strictest = { exactOptionalPropertyTypes: true, noUncheckedIndexedAccess: true, noPropertyAccessFromIndexSignature: true, verbatimModuleSyntax: true };
const modes: Mode[] = [
  { name: 'ESM, nodenext, strictest options', type: 'module', module: 'nodenext', files: ['api.ts', 'default-import.ts'], extra: strictest },
  { name: 'ESM, bundler', type: 'module', module: 'esnext', moduleResolution: 'bundler', files: ['api.ts', 'default-import.ts'] },
  { name: 'CommonJS, nodenext', type: 'commonjs', module: 'nodenext', files: ['api.ts', 'require.cts'] },
];

let work: string;
let installed: string;

beforeAll(() => {
  if (qemu) return;
  work = mkdtempSync(path.join(tmpdir(), 'pidfd-types-'));
  // The package as npm publishes it (the built dist/; prepack's prebuild step is not needed to type-check).
  const packed = JSON.parse(
    execFileSync('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', work], { cwd: repo, encoding: 'utf8' }),
  )[0].filename as string;
  installed = path.join(work, 'node_modules', 'pidfd');
  mkdirSync(installed, { recursive: true });
  execFileSync('tar', ['-xzf', path.join(work, packed), '-C', installed, '--strip-components=1']);
  mkdirSync(path.join(work, 'node_modules', '@types'));
  symlinkSync(path.join(repo, 'node_modules', '@types', 'node'), path.join(work, 'node_modules', '@types', 'node'));
});

afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

function consumer(mode: Mode): string {
  const dir = path.join(work, mode.name.replace(/\W+/g, '-'));
  mkdirSync(dir, { recursive: true });
  for (const file of mode.files) cpSync(path.join(repo, 'test', 'types', file), path.join(dir, file));
  writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ name: 'consumer', private: true, type: mode.type }));
  const compilerOptions = {
    strict: true, skipLibCheck: false, noEmit: true, target: 'ES2022', module: mode.module,
    ...(mode.moduleResolution ? { moduleResolution: mode.moduleResolution } : {}),
    ...mode.extra,
  };
  writeFileSync(path.join(dir, 'tsconfig.json'), JSON.stringify({ compilerOptions, files: mode.files }));
  return dir;
}

// The declarations are the same on every machine; tsc under qemu-user takes minutes a run.
describe.skipIf(skipUnderQemu('the declarations do not depend on the machine, and tsc under emulation takes minutes'))('shipped declarations', () => {
  it('the packed package holds the declarations, referencing @types/node', () => {
    const pkg = JSON.parse(readFileSync(path.join(installed, 'package.json'), 'utf8'));
    for (const entry of [pkg.types, pkg.exports['.'].import.types, pkg.exports['.'].require.types]) {
      expect(readFileSync(path.join(installed, entry), 'utf8')).toMatch(/^\/\/\/ <reference types="node"/m);
    }
  });

  for (const compiler of compilers) {
    const version = JSON.parse(readFileSync(path.join(repo, 'node_modules', compiler, 'package.json'), 'utf8')).version;
    for (const mode of modes) {
      it(`compile under TypeScript ${version} (${compiler}), strict, no skipLibCheck, ${mode.name}`, () => {
        const dir = consumer(mode);
        const tsc = path.join(repo, 'node_modules', compiler, 'bin', 'tsc');
        const run = spawnSync(process.execPath, [tsc, '-p', dir, '--pretty', 'false'], { cwd: dir, encoding: 'utf8' });
        expect(run.stdout + run.stderr).toBe('');
        expect(run.status).toBe(0);
      });
    }
  }
});
