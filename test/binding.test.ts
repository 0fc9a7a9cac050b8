// Loading the native binary: a missing or wrong-architecture binary fails with a message
// that says what is wrong and what to run.
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ownBinary, packageTree } from './package-tree';

function load(dir: string): { code: string; message: string } {
  const r = spawnSync(process.execPath, ['-e', `
    try { require(${JSON.stringify(path.join(dir, 'dist', 'index.js'))}); console.log('{"code":"loaded"}'); }
    catch (e) { console.log(JSON.stringify({ code: e.code, message: e.message })); }
  `], { encoding: 'utf8', env: { ...process.env, PIDFD_PREBUILD: undefined } }); // no override (test:asan sets one)
  return JSON.parse(r.stdout);
}

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

