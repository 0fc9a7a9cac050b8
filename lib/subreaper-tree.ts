// The subreaper method, for hosts without a writable cgroup v2. A spawned tree has a keeper
// (src/keeper.cc): a tiny process, our child, that is the child subreaper of that tree alone
// and the parent of its root, so the tree is exactly the keeper's descendants (orphans,
// setsid and double-fork daemons included) and the tree has ended when the keeper exits.
// This process never becomes a subreaper itself and never adopts anything. Members are
// found by walking /proc/PID/task/*/children down from the keeper (pidfd.tree(pid): from
// that pid), each opened with pidfd_open and confirmed to still be that parent's child
// before anything is sent.
import { native } from './binding';
import { systemError } from './errors';
import { processInfo } from './info';
import { kCreate, Pidfd } from './pidfd';
import { ProcessTree, registerSubreaper } from './tree';
import { adoptWatch, release, track, untrack, WatchMode, type ExitListener, type Resources } from './watcher';
import { signalMembers } from './tree-signal';
import { childrenOf, threadChildren } from './proc-tree';

const ESRCH = 3;
const MAX_PASSES = 1000;
const WALK_RETRY_MS = 100;
const plain = Object.freeze({ mode: WatchMode.Plain, thread: false });

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

class SubreaperTree extends ProcessTree implements ExitListener {
  readonly method = 'subreaper' as const;
  readonly cgroup = null;
  /** The root's handle: the Subprocess (spawned trees, not ours to close) or our own. */
  readonly #root: Pidfd;
  readonly #ownRoot: boolean;
  /** The keeper's pid (unreaped while the tree lives, so never reused), or 0 for tree(pid). */
  readonly #keeper: number;
  readonly #keeperWatch: Resources = { fd: -1, watch: 0 };
  /** Members other than the root, by pid. */
  readonly #members = new Map<number, Pidfd>();
  #ref = true;

  /** keeper/keeperWatch: a spawned tree's keeper and the native watch on its exit; 0 for tree(pid). */
  constructor(root: Pidfd, ownRoot: boolean, keeper: number, keeperWatch: number) {
    super(root.pid);
    this.#root = root;
    this.#ownRoot = ownRoot;
    this.#keeper = keeper;
    if (keeper !== 0) {
      adoptWatch(this.#keeperWatch, this, keeperWatch);
      track(this, this.#keeperWatch);
    } else {
      root.exited.then(() => this.#changed(), () => {});
    }
  }

  /** @internal The keeper has exited (and been reaped): no member is left. */
  onWatchFired(_status: number, error: number): void {
    untrack(this.#keeperWatch);
    release(this.#keeperWatch);
    this.#closeMembers();
    this.settle(error === 0 ? undefined : systemError(error, 'waitid'));
  }

  #add(handle: Pidfd): void {
    this.#members.set(handle.pid, handle);
    if (!this.#ref) handle.unref();
    handle.exited.then(() => this.#memberExited(handle), () => {});
  }

  #memberExited(handle: Pidfd): void {
    if (this.#members.get(handle.pid) !== handle) return;
    this.#members.delete(handle.pid);
    handle.close();
    if (this.#keeper === 0) this.#changed();
  }

  /** pidfd.tree(pid): over once the root and every member seen have exited. */
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
      this.#closeMembers();
      this.settle();
    }
  }

  /** The running handle for pid, parent's child: the root's, a known member's, or a new one. */
  #member(pid: number, parent: number): Pidfd | null {
    if (pid === this.#root.pid && !this.#root.closed && this.#root.running) return this.#root;
    const known = this.#members.get(pid);
    if (known !== undefined && known.running) return known;
    const handle = openChild(pid, parent);
    if (handle === null) return null;
    if (known !== undefined) this.#members.delete(pid); // a reused pid: the old one has exited
    this.#add(handle);
    return handle;
  }

  /** Finds every member now, breadth-first from the keeper (or the root): root first. */
  #walk(): Pidfd[] {
    const order: Pidfd[] = [];
    const parents: number[] = [];
    if (this.#keeper !== 0) parents.push(this.#keeper);
    else if (this.#root.running) {
      order.push(this.#root);
      parents.push(this.#root.pid);
    }
    const seen = new Set<number>(parents);
    while (parents.length > 0) {
      const parent = parents.shift()!;
      for (const pid of parent === this.#keeper ? threadChildren(parent) : childrenOf(parent)) {
        if (seen.has(pid)) continue;
        seen.add(pid);
        const member = this.#member(pid, parent);
        if (member === null) continue;
        if (member === this.#root) order.unshift(member);
        else order.push(member);
        parents.push(pid);
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
    // A keeper's tree is our descendants: it cannot hold us or an ancestor.
    return signalMembers(number, walk, { held: false, stopFirst: true, maxPasses: MAX_PASSES, spareCaller: this.#keeper === 0 });
  }

  protected setRef(ref: boolean): void {
    this.#ref = ref;
    if (this.#keeperWatch.watch !== 0) native.refWatch(this.#keeperWatch.watch, ref);
    const handles = [...this.#members.values()];
    if (this.#ownRoot) handles.push(this.#root);
    for (const m of handles) if (!m.closed) (ref ? m.ref() : m.unref());
  }

  #closeMembers(): void {
    for (const m of this.#members.values()) m.close();
    this.#members.clear();
    if (this.#ownRoot) this.#root.close();
  }

  /** The keeper's watch goes to the native side, which reaps the keeper (and closes its lifeline) when it exits. */
  protected release(): void {
    untrack(this.#keeperWatch);
    release(this.#keeperWatch);
    this.#closeMembers();
  }
}

/** A spawned tree: root is the Subprocess, keeper its parent, watched under keeperWatch. */
function keeperTree(root: Pidfd, keeper: number, keeperWatch: number): ProcessTree {
  return new SubreaperTree(root, false, keeper, keeperWatch);
}

/** The tree of any process (pidfd.tree()): walked from that process, held by a pidfd of our own. */
function walkTree(rootPid: number): ProcessTree {
  const fd = native.open(rootPid, 0);
  if (fd < 0) throw systemError(fd, 'pidfd_open');
  return new SubreaperTree(new Pidfd(kCreate, rootPid, fd, plain), true, 0, 0);
}

registerSubreaper(walkTree, keeperTree);

export { keeperTree, walkTree };
