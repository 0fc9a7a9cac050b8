// A memory cgroup with a hard limit, for OOM tests: cgroup v2 where the memory controller is
// enabled below the cgroup2 mount's root, else cgroup v1's memory hierarchy (hybrid hosts, as
// this project's CI machines). Root only; null where neither can be made, with the reason.
import * as fs from 'node:fs';
import * as path from 'node:path';

export interface MemoryCgroup {
  /** Write a pid here to move that process in. */
  readonly procs: string;
  /** How many processes the OOM killer has killed in it (null: the kernel does not say). */
  oomKills(): number | null;
  /** Removes it once its processes are gone (waits up to 10 s for them). */
  remove(): Promise<void>;
}

function mounts(): { point: string; root: string; type: string; options: string }[] {
  return fs.readFileSync('/proc/self/mountinfo', 'utf8').trim().split('\n').map((line) => {
    const [left, right] = line.split(' - ');
    const f = left.split(' ');
    const [type, , options] = right.split(' ');
    return { point: f[4], root: f[3], type, options };
  });
}

function counter(file: string, key: string): number | null {
  try {
    const m = new RegExp(`^${key} (\\d+)$`, 'm').exec(fs.readFileSync(file, 'utf8'));
    return m ? Number(m[1]) : null;
  } catch {
    return null;
  }
}

/** Where memory cgroups can be made here, or why none can. */
const where: { v2: boolean; parent: string } | string = (() => {
  if (process.getuid?.() !== 0) return 'needs root';
  const all = mounts();
  const v2 = all.find((m) => m.type === 'cgroup2' && m.root === '/');
  if (v2 && fs.readFileSync(path.join(v2.point, 'cgroup.subtree_control'), 'utf8').trim().split(' ').includes('memory')) {
    return { v2: true, parent: v2.point };
  }
  const v1 = all.find((m) => m.type === 'cgroup' && m.options.split(',').includes('memory'));
  if (!v1) return 'no memory controller: none enabled at the cgroup2 root, and no cgroup v1 memory hierarchy';
  const own = /^\d+:(?:[^:]*,)?memory(?:,[^:]*)?:(.*)$/m.exec(fs.readFileSync('/proc/self/cgroup', 'utf8'))?.[1];
  if (own === undefined) return 'not in a cgroup v1 memory hierarchy';
  const rel = path.relative(v1.root, own);
  if (rel.startsWith('..')) return `own memory cgroup ${own} is outside its mount's root ${v1.root}`;
  return { v2: false, parent: path.join(v1.point, rel) };
})();

/** Why no memory cgroup can be made here, or null. */
export const memoryCgroupMissing: string | null = typeof where === 'string' ? where : null;

let made = 0;

/** A new memory cgroup limited to `limit` bytes, swap included. */
export function memoryCgroup(limit: number): MemoryCgroup {
  if (typeof where === 'string') throw new Error(where);
  const dir = path.join(where.parent, `pidfd-oom-${process.pid}-${made++}`);
  fs.mkdirSync(dir);
  const write = (file: string, value: string) => fs.existsSync(path.join(dir, file)) && fs.writeFileSync(path.join(dir, file), value);
  if (where.v2) {
    write('memory.max', String(limit));
    write('memory.swap.max', '0');
  } else {
    write('memory.limit_in_bytes', String(limit));
    write('memory.memsw.limit_in_bytes', String(limit));
  }
  return {
    procs: path.join(dir, 'cgroup.procs'),
    oomKills: () => (where.v2 ? counter(path.join(dir, 'memory.events'), 'oom_kill') : counter(path.join(dir, 'memory.oom_control'), 'oom_kill')),
    async remove() {
      for (const deadline = Date.now() + 10_000; ; await new Promise((r) => setTimeout(r, 20))) {
        try {
          fs.rmdirSync(dir);
          return;
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code !== 'EBUSY' || Date.now() > deadline) throw err;
        }
      }
    },
  };
}
