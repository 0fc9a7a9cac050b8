// The default export (ESM and bundler consumers): the same API as the namespace.
import pidfd, { open, spawn, type Pidfd } from 'pidfd';

export function viaDefault(): Pidfd {
  const child = pidfd.spawn('true', [], { tree: { method: 'subreaper' } });
  child.tree.kill();
  spawn('true').kill();
  return open(pidfd.features.open ? process.pid : 1);
}
