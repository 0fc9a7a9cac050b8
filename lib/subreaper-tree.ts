// The subreaper method, for hosts without a writable cgroup v2: this process becomes a child
// subreaper (orphans among its descendants reparent to it, not to init); members are found
// by walking /proc/PID/task/*/children from the root and from the orphans we adopted, each
// opened with pidfd_open and confirmed to still be that parent's child before anything is
// sent. Adopted orphans are reaped through their pidfds, never with waitpid(-1).
import * as fs from 'node:fs';
import { isMainThread } from 'node:worker_threads';
import { native } from './binding';
import { systemError } from './errors';
import { processInfo } from './info';
import { kCreate, Pidfd } from './pidfd';
import { ProcessTree, registerSubreaper } from './tree';
import { WatchMode } from './watcher';
import { signalMembers } from './tree-signal';
import { childrenOf } from './proc-tree';

const ESRCH = 3;
const WEXITED = 4;
const WNOHANG = 1;
const MAX_PASSES = 1000;
const WALK_RETRY_MS = 100;
const plain = Object.freeze({ mode: WatchMode.Plain, thread: false });

interface Stat {
  ppid: number;
  pgrp: number;
  session: number;
  start: number;
}

/** Fields of /proc/PID/stat (the command name may hold spaces and parentheses). */
function procStat(pid: number | 'self'): Stat | null {
  try {
    const text = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = text.slice(text.lastIndexOf(')') + 2).split(' ');
    return { ppid: Number(f[1]), pgrp: Number(f[2]), session: Number(f[3]), start: Number(f[19]) };
  } catch {
    return null;
  }
}

/** A pidfd on pid, kept only if pid is still parent's child once the pidfd holds it. */
function openChild(pid: number, parent: number): Pidfd | null {
  const fd = native.open(pid, 0);
  if (fd === -ESRCH) return null;
  if (fd < 0) throw systemError(fd, 'pidfd_open'); // EMFILE: not "gone"
  const handle = new Pidfd(kCreate, pid, fd, plain);
  try {
    if (processInfo(pid, fd).ppid === parent) return handle;
  } catch {
    // exited meanwhile
  }
  handle.close();
  return null;
}

/**
 * A direct child of ours that this process cannot have forked: we (and libuv) only make
 * children in our own session and group, or in a session/group of their own (setsid,
 * detached). Anything else came to us as an orphan.
 */
function surelyAdopted(pid: number, stat: Stat, self: Stat): boolean {
  return (stat.session !== self.session && stat.session !== pid) || (stat.pgrp !== self.pgrp && stat.pgrp !== pid);
}

const trees = new Set<SubreaperTree>();
/** Adopted orphans no live tree claims, and exited members not yet reaped: reaped here. */
const orphanage = new Map<number, Pidfd>();

/** Reaps pid if it is our exited child (through its pidfd); true once nobody needs to any more. */
function reap(handle: Pidfd): boolean {
  const r = native.waitid(handle.fd, WEXITED | WNOHANG);
  if (r === 0 && native.readable(handle.fd) !== 0) return true; // reaped (or reaped meanwhile)
  return native.readable(handle.fd) === 2; // someone else reaped it (pidfs kernels tell)
}

function adoptIntoOrphanage(handle: Pidfd): void {
  if (orphanage.has(handle.pid)) return handle.close();
  orphanage.set(handle.pid, handle);
  listen();
  handle.unref();
  handle.exited.then(
    () => {
      if (reap(handle)) {
        orphanage.delete(handle.pid);
        handle.close();
        stopListening();
      }
    },
    () => {
      orphanage.delete(handle.pid);
      stopListening();
    },
  );
}

/** Claims new orphans for the live trees, keeps the rest in the orphanage, retries reaps. */
function scanOrphans(): void {
  const self = procStat('self');
  if (self === null) return;
  for (const pid of childrenOf(process.pid)) {
    if (orphanage.has(pid)) continue;
    let claimed = false;
    for (const tree of trees) if (tree.has(pid)) claimed = true;
    if (claimed) continue;
    const stat = procStat(pid);
    if (stat === null || !surelyAdopted(pid, stat, self)) continue;
    for (const tree of trees) if (tree.claim(pid, stat)) claimed = true;
    if (!claimed) {
      const handle = openChild(pid, process.pid);
      if (handle !== null) adoptIntoOrphanage(handle);
    }
  }
  for (const [pid, handle] of orphanage) {
    if (!handle.running && reap(handle)) {
      orphanage.delete(pid);
      handle.close();
    }
  }
  stopListening();
}

let listening = false;

/**
 * Makes this process a child subreaper for one more tree (released by the tree once it is
 * done or closed); SIGCHLD then also tells of adopted orphans.
 */
function becomeSubreaper(): void {
  const r = native.setChildSubreaper(true);
  if (r < 0) throw systemError(r, 'prctl');
  // Node's signal handles are unref'd: this keeps nothing alive. Workers get no signals;
  // there the members' own exits drive the scans.
  listen();
}

/** On SIGCHLD: nothing may throw from a signal listener; a failed scan (EMFILE) waits for the next. */
function scanOrphansQuietly(): void {
  try {
    scanOrphans();
  } catch {
    // the members' own exits and the next walk retry
  }
}

function listen(): void {
  if (isMainThread && !listening) process.on('SIGCHLD', scanOrphansQuietly);
  listening = true;
}

/** Nothing left to adopt or reap: SIGCHLD need not cost a scan any more. */
function stopListening(): void {
  if (!listening || trees.size > 0 || orphanage.size > 0) return;
  if (isMainThread) process.off('SIGCHLD', scanOrphansQuietly);
  listening = false;
}

class SubreaperTree extends ProcessTree {
  readonly method = 'subreaper' as const;
  readonly cgroup = null;
  readonly #root: Pidfd;
  readonly #rootStart: number;
  /** Members other than the root, by pid, with the pid of the parent they were found under. */
  readonly #members = new Map<number, Pidfd>();
  #ref = true;
  #subreaper: boolean;
  /** A tree we spawned (not pidfd.tree(pid)): its orphans are ours to reap. */
  readonly #spawned: boolean;

  /** subreaper: the tree holds one of this process's subreaper claims (spawned trees). */
  constructor(root: Pidfd, subreaper: boolean) {
    super(root.pid);
    this.#subreaper = subreaper;
    this.#spawned = subreaper;
    this.#root = root;
    this.#rootStart = procStat(root.pid)?.start ?? 0;
    trees.add(this);
    root.exited.then(() => this.#changed(), () => {});
  }

  /** @internal */
  has(pid: number): boolean {
    return pid === this.root || this.#members.has(pid);
  }

  /** @internal An orphan of unknown origin: ours if it started after our root and we still live. */
  claim(pid: number, stat: Stat): boolean {
    if (this.done || this.closed || stat.start < this.#rootStart) return false;
    const handle = openChild(pid, process.pid);
    if (handle === null) return false;
    this.#add(handle);
    return true;
  }

  #add(handle: Pidfd): void {
    this.#members.set(handle.pid, handle);
    if (!this.#ref) handle.unref();
    handle.exited.then(() => this.#memberExited(handle), () => {});
  }

  #memberExited(handle: Pidfd): void {
    if (this.#members.get(handle.pid) !== handle) return;
    this.#members.delete(handle.pid);
    // pidfd.tree(pid) of our own pid or an ancestor's: a child of ours is child_process's (or
    // another owner's) to reap; reaping it here would steal its 'exit'.
    if (!this.#spawned && procStat(handle.pid)?.ppid === process.pid) handle.close();
    else if (reap(handle)) handle.close();
    else adoptIntoOrphanage(handle); // its parent may die before reaping it: then it is ours
    this.#changed();
  }

  #changed(): void {
    if (this.done || this.closed) return;
    try {
      this.#walk();
    } catch {
      // A walk that failed (EMFILE) proves nothing: `exited` waits, and the walk is retried.
      const retry = setTimeout(() => this.#changed(), WALK_RETRY_MS);
      if (!this.#ref) retry.unref();
      return;
    }
    if (!this.#root.running && ![...this.#members.values()].some((m) => m.running)) {
      this.#leave();
      this.settle();
    }
  }

  #leave(): void {
    trees.delete(this);
    if (this.#subreaper) native.setChildSubreaper(false);
    this.#subreaper = false;
    stopListening();
  }

  /** Finds every member now: root first, then breadth-first. */
  #walk(): Pidfd[] {
    scanOrphans();
    const order: Pidfd[] = [];
    const queue: Pidfd[] = [];
    if (this.#root.running) queue.push(this.#root);
    for (const m of this.#members.values()) if (m.running && procStat(m.pid)?.ppid === process.pid) queue.push(m);
    const seen = new Set<number>();
    while (queue.length > 0) {
      const parent = queue.shift()!;
      if (seen.has(parent.pid)) continue;
      seen.add(parent.pid);
      order.push(parent);
      for (const pid of childrenOf(parent.pid)) {
        let member = this.#members.get(pid);
        if (member === undefined) {
          const handle = openChild(pid, parent.pid);
          if (handle === null) continue;
          this.#add(handle);
          member = handle;
        }
        if (member.running) queue.push(member);
      }
    }
    return order;
  }

  protected members(): number[] {
    return this.#walk().map((m) => m.pid);
  }

  protected signal(number: number): number {
    // Stopped top-down until a walk finds nobody new: then nothing can fork any more (and, a
    // stopped parent being alive, nothing it forked reparents away mid-walk).
    const walk = () => this.#walk().map((m) => ({ pid: m.pid, send: (signal: number) => (m.closed ? -ESRCH : native.sendSignal(m.fd, signal, 0, true)) }));
    return signalMembers(number, walk, { held: false, stopFirst: true, maxPasses: MAX_PASSES });
  }

  protected setRef(ref: boolean): void {
    this.#ref = ref;
    for (const m of [this.#root, ...this.#members.values()]) if (!m.closed) (ref ? m.ref() : m.unref());
  }

  protected release(): void {
    this.#leave();
    this.#root.close();
    for (const m of this.#members.values()) {
      // An adopted orphan is ours to reap, handle or not.
      if (procStat(m.pid)?.ppid === process.pid) adoptIntoOrphanage(m);
      else m.close();
    }
    this.#members.clear();
  }
}

/**
 * A subreaper tree for root: our child just spawned (after becomeSubreaper()), or, with
 * subreaper false, any process (pidfd.tree()).
 */
function subreaperTree(rootPid: number, subreaper: boolean): ProcessTree {
  const fd = native.open(rootPid, 0);
  if (fd < 0) {
    if (subreaper) native.setChildSubreaper(false);
    throw systemError(fd, 'pidfd_open');
  }
  return new SubreaperTree(new Pidfd(kCreate, rootPid, fd, plain), subreaper);
}

registerSubreaper(subreaperTree, becomeSubreaper);

export { subreaperTree, becomeSubreaper };
