// Copies of the package as a user's install holds it, for the tests of loading and installing:
// dist/, package.json, scripts/install.js, node_modules (linked) and the given prebuilds, no build/.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll } from 'vitest';
import { root } from './support';

const trees: string[] = [];
afterAll(() => {
  for (const dir of trees) fs.rmSync(dir, { recursive: true, force: true });
});

/** A package copy whose prebuilds/ holds these files (path below prebuilds/ → contents). */
export function packageTree(prebuilds: Record<string, Buffer | string> = {}): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pidfd-package-'));
  trees.push(dir);
  fs.cpSync(path.join(root, 'dist'), path.join(dir, 'dist'), { recursive: true });
  fs.copyFileSync(path.join(root, 'package.json'), path.join(dir, 'package.json'));
  fs.mkdirSync(path.join(dir, 'scripts'));
  fs.copyFileSync(path.join(root, 'scripts', 'install.js'), path.join(dir, 'scripts', 'install.js'));
  fs.symlinkSync(path.join(root, 'node_modules'), path.join(dir, 'node_modules'));
  for (const [name, bytes] of Object.entries(prebuilds)) {
    fs.mkdirSync(path.dirname(path.join(dir, 'prebuilds', name)), { recursive: true });
    fs.writeFileSync(path.join(dir, 'prebuilds', name), bytes);
  }
  return dir;
}

/** The binary this checkout loads: its own build, else its glibc prebuild. */
export function ownBinaryPath(): string {
  const built = path.join(root, 'build', 'Release', 'pidfd.node');
  return fs.existsSync(built) ? built : path.join(root, 'prebuilds', `linux-${process.arch}`, 'pidfd.glibc.node');
}

export function ownBinary(): Buffer {
  return fs.readFileSync(ownBinaryPath());
}
