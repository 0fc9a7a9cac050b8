// A CommonJS consumer: import = require().
import pidfd = require('pidfd');

export function viaRequire(): pidfd.Pidfd {
  const child: pidfd.Subprocess<pidfd.ProcessTree> = pidfd.spawn('true', [], { tree: true });
  child.tree.kill();
  return pidfd.open(process.pid);
}
