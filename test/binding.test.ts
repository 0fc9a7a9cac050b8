// Loading the native binary: a missing or wrong-architecture binary fails with a message
// that says what is wrong and what to run.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { root } from './support';

const trees: string[] = [];

/** A copy of the package with dist/ and the given prebuilds, and no build/. */
function packageTree(prebuilds: Record<string, Buffer>): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pidfd-load-'));
  trees.push(dir);
  fs.cpSync(path.join(root, 'dist'), path.join(dir, 'dist'), { recursive: true });
  fs.copyFileSync(path.join(root, 'package.json'), path.join(dir, 'package.json'));
  fs.symlinkSync(path.join(root, 'node_modules'), path.join(dir, 'node_modules'));
  for (const [name, bytes] of Object.entries(prebuilds)) {
    fs.mkdirSync(path.dirname(path.join(dir, 'prebuilds', name)), { recursive: true });
    fs.writeFileSync(path.join(dir, 'prebuilds', name), bytes);
  }
  return dir;
}

/** The binary this checkout loads: its own build, else its prebuild. */
function ownBinary(): Buffer {
  const built = path.join(root, 'build', 'Release', 'pidfd.node');
  return fs.readFileSync(fs.existsSync(built) ? built : path.join(root, 'prebuilds', `linux-${process.arch}`, 'pidfd.glibc.node'));
}

function load(dir: string): { code: string; message: string } {
  const r = spawnSync(process.execPath, ['-e', `
    try { require(${JSON.stringify(path.join(dir, 'dist', 'index.js'))}); console.log('{"code":"loaded"}'); }
    catch (e) { console.log(JSON.stringify({ code: e.code, message: e.message })); }
  `], { encoding: 'utf8', env: { ...process.env, PIDFD_PREBUILD: undefined } }); // no override (test:asan sets one)
  return JSON.parse(r.stdout);
}

afterAll(() => {
  for (const dir of trees) fs.rmSync(dir, { recursive: true, force: true });
});

describe('loading the native binary', () => {
  it('says there is no binary and how to build one', () => {
    const out = load(packageTree({}));
    expect(out.code).toBe('ERR_PIDFD_NATIVE');
    expect(out.message).toMatch(new RegExp(`no prebuild exists for linux-${process.arch}-(glibc|musl)`));
    expect(out.message).toContain('npm rebuild pidfd --build-from-source');
  });

  it('says a binary is for another architecture, not "cannot open shared object file"', () => {
    // An ELF header that claims another machine is all the loader and the check look at.
    const ours = ownBinary();
    const foreign = Buffer.from(ours);
    const other = process.arch === 'arm64' ? 62 : 183;
    foreign.writeUInt16LE(other, 18);
    const out = load(packageTree({ [`linux-${process.arch}/pidfd.glibc.node`]: foreign }));
    expect(out.code).toBe('ERR_PIDFD_NATIVE');
    expect(out.message).toMatch(new RegExp(`is built for linux-${other === 62 ? 'x64' : 'arm64'}, but this is linux-${process.arch}`));
    expect(out.message).toContain('npm rebuild pidfd --build-from-source');
  });

  it('loads a prebuild when there is no build/ folder', () => {
    const ours = ownBinary();
    expect(load(packageTree({ [`linux-${process.arch}/pidfd.glibc.node`]: ours })).code).toBe('loaded');
  });
});

