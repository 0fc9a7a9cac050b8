// Process trees: a child and everything it starts, contained, signalled and awaited as one.
// Two methods: a cgroup v2 of its own (the child starts inside it, CLONE_INTO_CGROUP), or,
// where no writable cgroup2 exists, a keeper process that is the tree's subreaper
// (lib/subreaper-tree.ts, src/keeper.cc). docs/trees.md states what each one guarantees.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { constants } from 'node:os';
import { native } from './binding';
import { registerTreeMethod, type TreeMethodReport } from './features';
import { closedError, invalidArgType, invalidArgValue, systemError } from './errors';
import { processInfo } from './info';
import { signalNumber } from './signals';
import { callerAndAncestors, childrenOf } from './proc-tree';
import { needsHold, signalMembers, type TreeMember } from './tree-signal';
import { escalate, escalationOptions, type Escalation } from './terminate';
import { validateCString, validatePid } from './validate';
import { adoptWatch, release, track, untrack, watchId, type ExitListener, type Resources } from './watcher';
import { cgroup2Mount, cgroupDir, cgroupIds, cgroupPids, createTreeCgroup, discardTreeCgroup, ownCgroupDir, treeParent, type TreeCgroup } from './cgroup';
import { open, Pidfd } from './pidfd';
import { holdKeeperWatch, KEEPER, KEEPER_DIE, KEEPER_UNREF } from './keeper';

export type TreeMethod = 'cgroup' | 'subreaper';

export interface TreeOptions {
  /** The cgroup v2 directory to create the tree's cgroup under (default: this process's own cgroup). */
  cgroup?: string;
  /** Force a method; by default the cgroup method where it works, else the subreaper method. */
  method?: TreeMethod;
  /**
   * End the tree when its root exits, as systemd does with a service's processes: the rest
   * get `terminate()` (SIGTERM, SIGKILL to whatever is left after 5 s; an object sets
   * `signal`, `timeout`, `killSignal`). Default false: the rest run on, and `exited` waits.
   */
  endWithRoot?: boolean | Omit<TreeTerminateOptions, 'abortSignal'>;
}

export interface TreeTerminateOptions {
  /** Sent to every member first. Default 'SIGTERM'. */
  signal?: NodeJS.Signals | number;
  /** Milliseconds to wait for the tree to empty before sending killSignal. Default 5000; Infinity never escalates. */
  timeout?: number;
  /** Sent to every member left when the timeout expires. Default 'SIGKILL'. */
  killSignal?: NodeJS.Signals | number;
  /** Stops waiting (rejecting with its reason) and cancels the escalation. */
  abortSignal?: AbortSignal;
}

const { EINVAL, ESRCH } = constants.errno;
const SIGKILL = 9;
const FROZEN = 2;
/** How long kill() waits, blocking, for the freezer: it settles in well under a millisecond. */
const FREEZE_WAIT_MS = 2000;
const noop = () => {};

/** A child, everything it starts, and everything those start. */
export abstract class ProcessTree {
  abstract readonly method: TreeMethod;
  /** The tree's cgroup directory on the cgroup method (removed once the tree is empty), else null. */
  abstract readonly cgroup: string | null;
  /** The pid of the process the tree was made for. */
  readonly root: number;
  #exit: Promise<void>;
  #resolve!: () => void;
  #reject!: (error: Error) => void;
  #done = false;
  #closed = false;

  /** @internal */
  constructor(root: number) {
    this.root = root;
    this.#exit = new Promise<void>((resolve, reject) => {
      this.#resolve = resolve;
      this.#reject = reject;
    });
  }

  /** The live members now, the root first when it still runs. */
  pids(): number[] {
    this.#assertOpen();
    if (this.#done) return [];
    return this.members();
  }

  /**
   * Signals every member (through pidfds, or cgroup.kill for SIGKILL) and returns how many
   * were signalled. A member cannot fork away meanwhile: the tree is frozen or stopped first
   * (not for 0, SIGCONT and the stop signals, which mean what kill(2) says; a member stopped
   * by someone else stays stopped). This process and its ancestors are never signalled.
   * Members that refuse (EPERM) are skipped: once the others were signalled, an error with
   * code 'EPERM', `signalled` (the count) and `pids` (those skipped) is thrown.
   */
  kill(signal: NodeJS.Signals | number = 'SIGTERM'): number {
    const number = signalNumber(signal);
    this.#assertOpen();
    if (number !== (number | 0)) throw systemError(-EINVAL, 'pidfd_send_signal');
    if (this.#done) return 0;
    return this.signal(number);
  }

  /** Settles once no member is left (on the cgroup method: once the cgroup is empty and removed). */
  get exited(): Promise<void> {
    return this.#exit;
  }

  /** True once no member is left. */
  get done(): boolean {
    return this.#done;
  }

  /**
   * Sends `signal` to every member, waits for the tree to empty, and sends `killSignal` to
   * whatever is left after `timeout` ms.
   */
  terminate(options?: TreeTerminateOptions): Promise<void> {
    const e = escalationOptions(options);
    this.#assertOpen();
    const exit = e.abortSignal === undefined ? this.#exit.then() : raceAbort(this.#exit, e.abortSignal);
    // Members that refuse (EPERM) do not stop the others' signals. The first signal's other
    // errors throw here, as before; from the timer nothing throws: the promise rejects.
    let fail!: (err: unknown) => void;
    const failed = new Promise<void>((_, reject) => (fail = reject));
    let sent = 0;
    const kill = (signal: NodeJS.Signals | number) => {
      const last = ++sent === 2 || e.timeout === Infinity;
      try {
        this.kill(signal);
      } catch (err) {
        const refused = (err as { code?: string }).code === 'EPERM';
        if (sent === 1 && !refused) throw err;
        if (last || !refused) fail(err); // the tree may never empty: say why
      }
    };
    return Promise.race([escalate(exit, e, kill, () => !this.#closed && !this.#done), failed]);
  }

  /** Whether a pending `exited` keeps the event loop alive (the default). */
  ref(): this {
    if (!this.#closed) this.setRef(true);
    return this;
  }

  unref(): this {
    if (!this.#closed) this.setRef(false);
    return this;
  }

  /**
   * Lets go of the tree; its members run on. A pending `exited` rejects with
   * ERR_PIDFD_CLOSED. The cgroup is still removed once empty. Idempotent.
   */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.release();
    if (!this.#done) {
      this.#exit.catch(noop);
      this.#reject(closedError());
    }
  }

  [Symbol.dispose](): void {
    this.close();
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** @internal The tree is empty. */
  protected settle(error?: Error): void {
    if (this.#done || this.#closed) return;
    this.#done = true;
    if (error === undefined) this.#resolve();
    else {
      this.#exit.catch(noop);
      this.#reject(error);
    }
  }

  #assertOpen(): void {
    if (this.#closed) throw closedError();
  }

  protected abstract members(): number[];
  protected abstract signal(number: number): number;
  protected abstract setRef(ref: boolean): void;
  protected abstract release(): void;
}

function raceAbort(exit: Promise<void>, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<void>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    exit.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

/** A member found by pid: a pidfd is opened for each signal, and the signal goes only if `belongs(pid, fd)`. */
function memberByPid(pid: number, belongs: (pid: number, fd: number) => boolean): TreeMember {
  return {
    pid,
    send(signal: number): number {
      const fd = native.open(pid, 0);
      if (fd === -ESRCH) return fd; // gone already
      if (fd < 0) throw systemError(fd, 'pidfd_open'); // EMFILE & co.: not "gone"
      try {
        return belongs(pid, fd) ? native.sendSignal(fd, signal, 0, true) : -ESRCH;
      } finally {
        native.close(fd);
      }
    },
  };
}

/** The cgroup method: the tree is a cgroup v2 of its own, removed once empty (if ours). */
class CgroupTree extends ProcessTree implements ExitListener {
  readonly method = 'cgroup' as const;
  /** The tree's cgroup directory (removed once the tree is empty). */
  readonly cgroup: string;
  readonly #resources: Resources;

  /** removeWhenEmpty: we made the cgroup (spawn), not found it (tree(pid)). */
  constructor(root: number, cgroup: string, eventsFd: number, removeWhenEmpty: boolean) {
    super(root);
    this.cgroup = cgroup;
    this.#resources = { fd: eventsFd, watch: 0 };
    const id = watchId();
    const r = native.watchCgroup(eventsFd, id, true, removeWhenEmpty ? cgroup : '');
    if (r < 0) {
      native.close(eventsFd);
      this.#resources.fd = -1;
      this.settle(systemError(r, 'uv_poll_init'));
      return;
    }
    adoptWatch(this.#resources, this, id);
    track(this, this.#resources);
  }

  /** @internal The cgroup is empty (and removed, unless error says why not). */
  onWatchFired(_status: number, _error: number): void {
    untrack(this.#resources);
    release(this.#resources); // the watch is done: its fd goes now, not at close()
    this.settle();
  }

  protected members(): number[] {
    const pids = cgroupPids(this.cgroup);
    const root = pids.indexOf(this.root);
    if (root > 0) pids.unshift(...pids.splice(root, 1));
    return pids;
  }

  protected signal(number: number): number {
    const file = (name: string) => path.join(this.cgroup, name);
    if (number === SIGKILL && fs.existsSync(file('cgroup.kill'))) {
      const count = cgroupPids(this.cgroup).length; // cgroup.kill tells no count
      try {
        fs.writeFileSync(file('cgroup.kill'), '1');
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') return 0; // emptied and removed
        throw err;
      }
      return count;
    }
    // Freeze, signal each member through a pidfd, thaw: nothing forks away meanwhile.
    const events = native.openCgroupFile(file('cgroup.events'), false);
    if (events === -constants.errno.ENOENT) return 0; // emptied and removed
    if (events < 0) throw systemError(events, 'open', { path: file('cgroup.events') });
    let wasFrozen = false;
    const hold = needsHold(number);
    try {
      wasFrozen = fs.readFileSync(file('cgroup.freeze'), 'utf8').trim() === '1';
      if (!wasFrozen && hold) fs.writeFileSync(file('cgroup.freeze'), '1');
      const frozen = hold && native.awaitCgroupEvents(events, FROZEN, FROZEN, FREEZE_WAIT_MS) === 1;
      const ids = cgroupIds(this.cgroup);
      const belongs = (pid: number, fd: number) => {
        try {
          const id = processInfo(pid, fd).cgroupId;
          return id === null || ids.has(id);
        } catch {
          return false; // exited meanwhile
        }
      };
      // Frozen, one walk sees everyone; otherwise walks repeat until one finds nobody new.
      const walk = () => cgroupPids(this.cgroup).map((pid) => memberByPid(pid, belongs));
      return signalMembers(number, walk, { held: frozen, stopFirst: false, maxPasses: 100, spareCaller: true });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return 0;
      throw err;
    } finally {
      if (!wasFrozen && hold) {
        try {
          fs.writeFileSync(file('cgroup.freeze'), '0');
        } catch {
          // removed: empty
        }
      }
      native.close(events);
    }
  }

  protected setRef(ref: boolean): void {
    if (this.#resources.watch !== 0) native.refWatch(this.#resources.watch, ref);
  }

  protected release(): void {
    untrack(this.#resources);
    release(this.#resources); // the native watch still removes the cgroup once it is empty
  }
}

// ---- spawn({ tree }) ----

/** What spawn() prepares for a tree before the clone. */
export interface TreePlan {
  method: TreeMethod;
  /** The method was asked for: no fallback. */
  forced: boolean;
  parent: string | null;
  cgroup: TreeCgroup | null;
  /** The child starts under a keeper (src/keeper.cc): every subreaper tree, and cgroup trees with dieWithParent. */
  keeper: boolean;
  /** dieWithParent: the keeper kills the whole tree when this environment ends. */
  die: boolean;
  /** The child joins the cgroup itself (cgroup.procs) where clone3 cannot start it inside. */
  join: boolean;
}

/** Validates spawn()'s `tree` option; null without a tree. Creates nothing. */
export function treeOptions(option: unknown): TreePlan | null {
  if (option === undefined || option === false) return null;
  if (option === true) return { method: 'cgroup', forced: false, parent: treeParent(undefined, false), cgroup: null, keeper: false, die: false, join: false };
  if (option === null || typeof option !== 'object' || Array.isArray(option)) {
    throw invalidArgType('options.tree', 'of type boolean or object', option);
  }
  const opts = option as Record<string, unknown>;
  const method = opts.method;
  if (method !== undefined && method !== 'cgroup' && method !== 'subreaper') {
    throw invalidArgValue('options.tree.method', method, "must be 'cgroup' or 'subreaper'");
  }
  if (opts.cgroup !== undefined && method === 'subreaper') {
    throw invalidArgValue('options.tree.cgroup', opts.cgroup, "cannot be used with method 'subreaper'");
  }
  const requested = opts.cgroup === undefined ? undefined : validateCString(opts.cgroup, 'options.tree.cgroup');
  if (method === 'subreaper') return { method, forced: true, parent: null, cgroup: null, keeper: false, die: false, join: false };
  const parent = treeParent(requested, method === 'cgroup' || requested !== undefined);
  return { method: 'cgroup', forced: method === 'cgroup' || requested !== undefined, parent, cgroup: null, keeper: false, die: false, join: false };
}


/** Validates spawn()'s `tree.endWithRoot`: the escalation to run when the root exits, or null. */
export function endWithRootOption(option: unknown): Escalation | null {
  if (option === null || typeof option !== 'object') return null;
  const value = (option as Record<string, unknown>).endWithRoot;
  if (value === undefined || value === false) return null;
  if (value === true) return escalationOptions(undefined);
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw invalidArgType('options.tree.endWithRoot', 'of type boolean or object', value);
  }
  if ((value as Record<string, unknown>).abortSignal !== undefined) {
    throw invalidArgValue('options.tree.endWithRoot.abortSignal', (value as Record<string, unknown>).abortSignal, 'is not supported here');
  }
  return escalationOptions(value);
}

/** Once the root has exited, terminates the rest of the tree (nothing throws from here). */
export function endWithRoot(tree: ProcessTree, rootExit: Promise<unknown>, e: Escalation): void {
  const end = () => {
    if (!tree.closed && !tree.done) tree.terminate(e).catch(noop);
  };
  rootExit.then(end, noop); // rejected: the handle was closed, and with it the tree's supervision
}

/** Once clone3 could not start a child into a cgroup here, children join it themselves. */
let cgroupCloneRefused = false;
/** Once joining failed too, auto trees stop trying the cgroup method. */
let cgroupSpawnBroken = false;
const kernelRefusals = new Set([-constants.errno.ENOSYS, -constants.errno.EPERM, -EINVAL, -constants.errno.E2BIG]);

/** What `tree: true` would take now, and why (`pidfd.features.treeMethod`): prepareTree's choice, in words. */
function treeMethodNow(): TreeMethodReport {
  const subreaper = (reason: string) => ({ method: 'subreaper' as const, reason });
  let parent: string | null;
  try {
    const mount = cgroup2Mount();
    if (mount === null) return subreaper('no cgroup2 mount');
    if (mount.readOnly) return subreaper('cgroup2 read-only'); // access() may say EACCES first
    parent = ownCgroupDir();
  } catch (err) {
    return subreaper(`/proc could not be read (${(err as { code?: string }).code}); asked again next time`);
  }
  if (parent === null) return subreaper("this process's cgroup is outside the cgroup2 mount");
  // Without CLONE_INTO_CGROUP (before 5.7, no clone3) the child joins the cgroup itself.
  if (cgroupSpawnBroken) return subreaper('a child could not be started into its tree cgroup here');
  try {
    fs.accessSync(parent, fs.constants.W_OK);
  } catch (err) {
    const code = (err as { code?: string }).code;
    if (code === 'EROFS') return subreaper('cgroup2 read-only');
    if (code === 'EACCES') return subreaper(`cgroup ${parent} not writable by this user (no delegation)`);
    return subreaper(`cgroup ${parent}: ${code}`);
  }
  return { method: 'cgroup', reason: `writable cgroup2 ${parent}` };
}

registerTreeMethod(treeMethodNow);

/**
 * Right before the clone: creates the cgroup (cgroup method) and decides on a keeper.
 * Returns the directory fd for spawn's cgroupFd, or -1. Throws, leaving nothing behind,
 * when a forced method is impossible. die: dieWithParent.
 */
export function prepareTree(plan: TreePlan, die: boolean): number {
  plan.die = die;
  if (plan.method === 'cgroup' && plan.parent === null && !plan.forced) plan.method = 'subreaper';
  if (plan.method === 'cgroup' && cgroupSpawnBroken && !plan.forced) plan.method = 'subreaper';
  if (plan.method === 'cgroup') {
    if (plan.parent === null) throw systemError(-constants.errno.ENOENT, 'mkdir', { path: 'cgroup2 (no cgroup2 mount)' });
    try {
      plan.cgroup = createTreeCgroup(plan.parent);
      plan.keeper = die; // only the keeper can kill the tree once we are gone
      plan.join = cgroupCloneRefused;
      return plan.cgroup.dirFd;
    } catch (err) {
      if (plan.forced) throw err;
      plan.method = 'subreaper'; // not writable here (EACCES, EROFS...)
    }
  }
  plan.keeper = true;
  return -1;
}

/** spawn()'s tree arguments: cgroupFd, keeper flags, the cgroup directory's name, joinCgroup. */
export function treeSpawnArgs(plan: TreePlan | null): [number, number, string, boolean] {
  const cgroupFd = plan?.cgroup?.dirFd ?? -1;
  const join = plan?.join === true && cgroupFd >= 0;
  const [flags, name] = keeperArgs(plan);
  return [cgroupFd, flags, name, join];
}

function keeperArgs(plan: TreePlan | null): [number, string] {
  if (plan === null || !plan.keeper) return [0, ''];
  const flags = KEEPER | (plan.die ? KEEPER_DIE : 0) | (plan.cgroup !== null ? KEEPER_UNREF : 0);
  return [flags, plan.cgroup !== null ? path.basename(plan.cgroup.dir) : ''];
}

/**
 * The start into the cgroup failed. Returns true when spawn() should try again: first with
 * the child joining the cgroup itself (the kernel or a sandbox refused CLONE_INTO_CGROUP),
 * then, the cgroup removed, as a subreaper tree (when the method was not forced).
 */
export function treeSpawnFailed(plan: TreePlan, errno: number, stage: number): boolean {
  if (plan.cgroup === null || stage !== STAGE_CGROUP) return false;
  if (!plan.join && kernelRefusals.has(errno)) {
    // No CLONE_INTO_CGROUP here (qemu-user, seccomp, Linux < 5.7): the child joins itself.
    cgroupCloneRefused = true;
    plan.join = true;
    return true;
  }
  discardTreeCgroup(plan.cgroup);
  plan.cgroup = null;
  if (kernelRefusals.has(errno)) cgroupSpawnBroken = true;
  if (plan.forced) return false;
  plan.method = 'subreaper';
  plan.keeper = true;
  return true;
}

/** spawn() failed for good: nothing of the tree may stay (its cgroup; a keeper never outlives a failed spawn). */
export function abandonTree(plan: TreePlan): void {
  if (plan.cgroup !== null) discardTreeCgroup(plan.cgroup);
  plan.cgroup = null;
}

/** src/spawn.h kStageCgroup: clone3(CLONE_INTO_CGROUP) itself failed, or the child could not join the cgroup. */
export const STAGE_CGROUP = 10;

/**
 * The child started: its tree. keeper and keeperWatch: the keeper's pid and the watch on
 * its exit when the plan has one (spawn's out[3] and keeperWatchId).
 */
export function startTree(plan: TreePlan, root: Pidfd, keeper: number, keeperWatch: number): ProcessTree {
  if (plan.cgroup !== null) {
    native.close(plan.cgroup.dirFd);
    if (plan.keeper) holdKeeperWatch(keeperWatch);
    return new CgroupTree(root.pid, plan.cgroup.dir, plan.cgroup.eventsFd, true);
  }
  return keeperTree(root, keeper, keeperWatch);
}

/**
 * The tree of a process we did not spawn (tree-kill's job): its own cgroup when it is
 * alone in a writable one (not ours, not the root), else the subreaper walk from it.
 */
export function tree(target: number | Pidfd): ProcessTree {
  let pid: number;
  if (target instanceof Pidfd) {
    if (target.closed) throw closedError();
    if (!target.running) throw systemError(-constants.errno.ESRCH, 'pidfd_open');
    pid = target.pid;
  } else {
    pid = validatePid(target, 'target');
  }
  // Hold the process first, so that what is read below provably belongs to it.
  const handle = open(pid);
  try {
    if (target instanceof Pidfd && target.inode !== null && handle.inode !== target.inode) {
      throw systemError(-constants.errno.ESRCH, 'pidfd_open'); // its pid was reused
    }
    const own = ownCgroup(pid, handle);
    if (own !== null) return new CgroupTree(pid, own.dir, own.eventsFd, false);
    return walkTree(pid);
  } finally {
    handle.close();
  }
}

/**
 * pid's cgroup, opened, if it holds exactly pid and its descendants (every descendant inside,
 * nobody else), it is not ours nor the root, nor holds our ancestors, and we may kill and
 * freeze it there. Otherwise null: the walk.
 */
function ownCgroup(pid: number, handle: Pidfd): { dir: string; eventsFd: number } | null {
  const mount = cgroup2Mount();
  if (mount === null) return null;
  let text: string;
  try {
    text = fs.readFileSync(`/proc/${pid}/cgroup`, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw systemError(-ESRCH, 'pidfd_open');
    throw err;
  }
  const dir = cgroupDir(mount, text);
  if (dir === null || dir === mount.mountPoint || dir === ownCgroupDir()) return null;
  try {
    fs.accessSync(path.join(dir, 'cgroup.freeze'), fs.constants.W_OK);
  } catch {
    return null;
  }
  const inside = new Set(cgroupPids(dir));
  if (!inside.has(pid)) return null;
  for (const spared of callerAndAncestors()) if (inside.has(spared)) return null;
  // Every member's children inside, from pid down: then every descendant is. And each one
  // reached is a descendant: nobody else may be inside.
  const reached = new Set([pid]);
  const queue = [pid];
  while (queue.length > 0) {
    for (const child of childrenOf(queue.shift()!)) {
      if (!inside.has(child)) return null;
      if (!reached.has(child)) queue.push(child);
      reached.add(child);
    }
  }
  if (reached.size !== inside.size) return null;
  const eventsFd = native.openCgroupFile(path.join(dir, 'cgroup.events'), false);
  if (eventsFd < 0) return null;
  if (!handle.running) {
    native.close(eventsFd);
    throw systemError(-constants.errno.ESRCH, 'pidfd_open');
  }
  return { dir, eventsFd };
}

// The subreaper method lives in its own file; it registers itself here to avoid a cycle.
const unregistered = (): never => {
  throw systemError(-constants.errno.ENOSYS, 'prctl');
};
let walkTree: (root: number) => ProcessTree = unregistered;
let keeperTree: (root: Pidfd, keeper: number, keeperWatch: number) => ProcessTree = unregistered;

/** @internal */
export function registerSubreaper(walk: typeof walkTree, keeper: typeof keeperTree): void {
  walkTree = walk;
  keeperTree = keeper;
}
