// Install anywhere, import anywhere: off Linux the install step builds nothing and the module
// reports itself unsupported; where no prebuild fits, the load error names the platform and the
// command that builds one; node-gyp-build picks the prebuild of this libc. The platform is faked
// with PIDFD_TEST_PLATFORM (read only by lib/binding.ts and scripts/install.js) and with
// node-gyp-build's own overrides (LIBC, npm_config_arch), each in a child process.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ownBinary, packageTree } from './package-tree';
import { root } from './support';

/** The environment with these changes; undefined deletes (PIDFD_PREBUILD: test:asan's override). */
function envWith(changes: Record<string, string | undefined>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, PIDFD_PREBUILD: undefined, LIBC: undefined, npm_config_arch: undefined };
  Object.assign(env, changes);
  for (const key of Object.keys(env)) if (env[key] === undefined) delete env[key];
  return env;
}

function node(args: string[], options: { cwd?: string; env?: Record<string, string | undefined> } = {}) {
  const r = spawnSync(process.execPath, args, { cwd: options.cwd, env: envWith(options.env ?? {}), encoding: 'utf8', timeout: 120_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Requires the package in DIR in a child and reports what it saw, as JSON. */
function importIn(dir: string, env: Record<string, string | undefined>): Record<string, unknown> {
  const script = `
    const result = {};
    try {
      const pidfd = require(${JSON.stringify(path.join(dir, 'dist', 'index.js'))});
      result.loaded = true;
      result.supported = pidfd.supported;
      for (const [name, call] of Object.entries({
        open: () => pidfd.open(process.pid),
        spawn: () => pidfd.spawn('true'),
        from: () => pidfd.from(require('node:child_process').spawn('true')),
        tree: () => pidfd.tree(process.pid),
        features: () => pidfd.features.open,
      })) {
        try { call(); result[name] = 'returned'; } catch (e) { result[name] = { code: e.code, message: e.message }; }
      }
    } catch (e) {
      result.loaded = false;
      result.error = { code: e.code, message: e.message };
    }
    console.log(JSON.stringify(result));
    process.exit(0);
  `;
  const r = node(['-e', script], { env });
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout.trim().split('\n').pop()!);
}

const libcHere = fs.existsSync('/etc/alpine-release') ? 'musl' : 'glibc';
const otherArch = process.arch === 'arm64' ? 'x64' : 'arm64';

describe('off Linux (PIDFD_TEST_PLATFORM=darwin)', () => {
  it('the install step exits 0 having built nothing', () => {
    const dir = packageTree();
    const r = node([path.join(dir, 'scripts', 'install.js')], { cwd: dir, env: { PIDFD_TEST_PLATFORM: 'darwin' } });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('nothing to build on darwin');
    expect(fs.existsSync(path.join(dir, 'build'))).toBe(false);
  });

  it('the packed package restricts no os and installs through scripts/install.js', () => {
    const r = spawnSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: root, encoding: 'utf8', timeout: 120_000 });
    expect(r.status, r.stderr).toBe(0);
    const [packed] = JSON.parse(r.stdout) as { files: { path: string }[] }[];
    const files = packed.files.map((f) => f.path);
    expect(files).toContain('scripts/install.js');
    expect(files).toContain('package.json');
    const manifest = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'));
    expect(manifest.os).toBeUndefined();
    expect(manifest.cpu).toBeUndefined();
    expect(manifest.scripts.install).toBe('node scripts/install.js');
  });

  it('imports, reports itself unsupported, and every call throws ERR_PIDFD_PLATFORM saying what to use', () => {
    const out = importIn(root, { PIDFD_TEST_PLATFORM: 'darwin' });
    expect(out.loaded).toBe(true);
    expect(out.supported).toBe(false);
    for (const name of ['open', 'spawn', 'from', 'tree', 'features']) {
      const err = out[name] as { code: string; message: string };
      expect(err.code, name).toBe('ERR_PIDFD_PLATFORM');
      expect(err.message).toContain('Linux only (this is darwin)');
      expect(err.message).toContain('child_process');
    }
  });

  it('imports as an ES module too, with supported false', () => {
    const entry = JSON.stringify(path.join(root, 'dist', 'index.mjs'));
    const r = node(['--input-type=module', '-e', `import pidfd, { supported } from ${entry}; console.log(supported, pidfd.supported)`], {
      env: { PIDFD_TEST_PLATFORM: 'win32' },
    });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.trim()).toBe('false false');
  });

  it('imports with no native binary at all (none is loaded off Linux)', () => {
    const out = importIn(packageTree(), { PIDFD_TEST_PLATFORM: 'darwin' });
    expect(out.loaded).toBe(true);
    expect(out.supported).toBe(false);
  });

  it('the CLI says so and exits non-zero', () => {
    const r = node([path.join(root, 'dist', 'cli.js'), 'wait', String(process.pid)], { env: { PIDFD_TEST_PLATFORM: 'darwin' } });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('Linux only (this is darwin)');
    expect(r.stderr).toContain('child_process');
  });

  it('on Linux (no override) supported is true and calls work', () => {
    const out = importIn(root, {});
    expect(out.supported).toBe(true);
    expect(out.open).toBe('returned');
  });
});

describe('where no prebuild fits and nothing was built', () => {
  it('musl without a musl prebuild: the error names linux, the arch and musl, and the command', () => {
    const out = importIn(packageTree({ [`linux-${process.arch}/pidfd.glibc.node`]: ownBinary() }), { LIBC: 'musl' });
    const error = out.error as { code: string; message: string };
    expect(out.loaded).toBe(false);
    expect(error.code).toBe('ERR_PIDFD_NATIVE');
    expect(error.message).toContain(`no prebuild exists for linux-${process.arch}-musl (os linux, arch ${process.arch}, libc musl)`);
    expect(error.message).toContain('npm rebuild pidfd --build-from-source');
    expect(error.message).toContain('python3, make and a C++ compiler');
    expect(error.message).toContain('npm install-scripts approve pidfd');
  });

  it('an architecture with no prebuild (riscv64): the error names it', () => {
    const out = importIn(packageTree({ [`linux-${process.arch}/pidfd.${libcHere}.node`]: ownBinary() }), {
      npm_config_arch: 'riscv64',
    });
    expect((out.error as { code: string }).code).toBe('ERR_PIDFD_NATIVE');
    expect((out.error as { message: string }).message).toContain(`no prebuild exists for linux-riscv64-${libcHere}`);
  });

  it('the install step on Linux with a fitting prebuild builds nothing', () => {
    const dir = packageTree({ [`linux-${process.arch}/pidfd.${libcHere}.node`]: ownBinary() });
    // This node first on PATH: the install step's tools (#!/usr/bin/env node) must judge the
    // prebuild by its arch (under qemu-user the PATH's node is the host's).
    const bin = path.join(root, 'node_modules', '.bin');
    const r = node([path.join(dir, 'scripts', 'install.js')], { cwd: dir, env: { PATH: `${path.dirname(process.execPath)}:${bin}:${process.env.PATH}` } });
    expect(r.code, r.stderr).toBe(0);
    expect(fs.existsSync(path.join(dir, 'build'))).toBe(false);
    expect(importIn(dir, {}).supported).toBe(true);
  });
});

describe('node-gyp-build picks the prebuild of this libc', () => {
  // The names scripts/prebuild.sh gives (prebuildify --tag-libc): resolution reads only the names.
  const names = ['linux-x64/pidfd.glibc.node', 'linux-x64/pidfd.musl.node', 'linux-arm64/pidfd.glibc.node', 'linux-arm64/pidfd.musl.node'];

  function resolved(dir: string, env: Record<string, string | undefined>, prefix: string[] = []): string {
    const script = `console.log(require('node-gyp-build').resolve(${JSON.stringify(dir)}))`;
    const command = [...prefix, process.execPath, '-e', script];
    const r = spawnSync(command[0], command.slice(1), { cwd: root, env: envWith(env), encoding: 'utf8', timeout: 60_000 });
    expect(r.status, r.stderr).toBe(0);
    return path.relative(path.join(dir, 'prebuilds'), r.stdout.trim());
  }

  function check(dir: string) {
    expect(resolved(dir, { LIBC: 'musl' })).toBe(`linux-${process.arch}/pidfd.musl.node`);
    expect(resolved(dir, { LIBC: 'glibc' })).toBe(`linux-${process.arch}/pidfd.glibc.node`);
    expect(resolved(dir, {})).toBe(`linux-${process.arch}/pidfd.${libcHere}.node`);
    expect(resolved(dir, { LIBC: 'musl', npm_config_arch: otherArch })).toBe(`linux-${otherArch}/pidfd.musl.node`);
    expect(resolved(dir, { LIBC: 'glibc', npm_config_arch: otherArch })).toBe(`linux-${otherArch}/pidfd.glibc.node`);
  }

  it('LIBC=musl picks *.musl.node, LIBC=glibc or none (off Alpine) *.glibc.node, for x64 and arm64', () => {
    check(packageTree(Object.fromEntries(names.map((n) => [n, 'not an ELF file: only the name is read']))));
  });

  it.skipIf(process.getuid?.() !== 0 || libcHere === 'musl')(
    '/etc/alpine-release (in a private mount namespace) makes it pick *.musl.node (needs root)',
    () => {
      const dir = packageTree(Object.fromEntries(names.map((n) => [n, 'name only'])));
      // A tmpfs over /etc in a mount namespace of its own: only that node sees an Alpine marker.
      const prefix = ['unshare', '--mount', 'sh', '-c', 'mount -t tmpfs tmpfs /etc && : >/etc/alpine-release && exec "$@"', 'sh'];
      expect(resolved(dir, { NODE_EXTRA_CA_CERTS: undefined }, prefix)).toBe(`linux-${process.arch}/pidfd.musl.node`);
      expect(resolved(dir, {})).toBe(`linux-${process.arch}/pidfd.glibc.node`);
    },
  );

  const real = path.join(root, 'prebuilds');
  const built = names.every((n) => fs.existsSync(path.join(real, n)));
  it.skipIf(!built)('the same on the prebuilds/ folder npm pack ships (skipped until `npm run build:prebuilds` made all four)', () => {
    check(packageTree(Object.fromEntries(names.map((n) => [n, fs.readFileSync(path.join(real, n))]))));
    for (const name of names) {
      // Each file is for the architecture its folder names.
      const machine = fs.readFileSync(path.join(real, name)).readUInt16LE(18);
      expect(machine, name).toBe(name.startsWith('linux-x64/') ? 62 : 183);
    }
  });
});

describe('scripts/test-musl.sh (the musl host process)', () => {
  const script = path.join(root, 'scripts', 'test-musl.sh');
  const muslGcc = spawnSync('sh', ['-c', 'command -v musl-gcc'], { encoding: 'utf8' }).status === 0;
  const muslX64 = path.join(root, 'prebuilds', 'linux-x64', 'pidfd.musl.node');

  it.skipIf(!muslGcc)('rejects a glibc build: it needs libstdc++ and glibc symbol versions (skipped without musl-gcc: scripts/setup-musl.sh)', () => {
    const glibc = path.join(packageTree({ [`linux-${process.arch}/pidfd.glibc.node`]: ownBinary() }), 'prebuilds', `linux-${process.arch}`, 'pidfd.glibc.node');
    const r = spawnSync('bash', [script, glibc], { encoding: 'utf8', timeout: 120_000 });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('FAIL');
    expect(r.stderr).toMatch(/NEEDED .*libc\.so\.6/);
  });

  it.skipIf(!muslGcc || process.arch !== 'x64' || !fs.existsSync(muslX64))(
    'loads the x64 musl prebuild, runs its init and calls into it (skipped until scripts/prebuild.sh x64-musl made it)',
    () => {
      const r = spawnSync('bash', [script, muslX64], { encoding: 'utf8', timeout: 120_000 });
      expect(r.status, r.stderr).toBe(0);
      expect(r.stdout).toMatch(/exports: all \d+ expected functions registered/);
      expect(r.stdout).toContain('readable = 0 (running), close = 0');
    },
  );
});
