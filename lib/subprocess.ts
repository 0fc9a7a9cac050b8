// spawn() and class Subprocess: a child created with its pidfd (clone3(CLONE_PIDFD)), so
// the handle exists from the child's first instant and is the only thing that reaps it.
import * as net from 'node:net';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { isMainThread } from 'node:worker_threads';
import { native } from './binding';
import { explainCgroupRefusal, invalidArgType, invalidArgValue, remedy, systemError, type SystemError } from './errors';
import { kCreate, Pidfd } from './pidfd';
import { releaseStdin, stdioStream } from './runtime';
import { supervise, supervisionOptions, type KillReason, type SupervisionOptions } from './supervise';
import { abandonTree, endWithRoot, endWithRootOption, prepareTree, startTree, treeOptions, treeSpawnArgs, treeSpawnFailed, type ProcessTree, type TreeOptions } from './tree';
import { validateBoolean, validateCString, validateInt, validateObject } from './validate';
import { WatchMode, watchId } from './watcher';

export type StdioOption = 'pipe' | 'ignore' | 'inherit';

export interface SpawnOptions extends SupervisionOptions {
  /** Working directory of the child (default: ours). */
  cwd?: string | URL;
  /** Environment of the child (default: process.env); its PATH is used for the lookup. */
  env?: NodeJS.ProcessEnv;
  /** argv[0] as the child sees it (default: file). */
  argv0?: string;
  /** Default 'pipe'. Array entries beyond 2 give extra fds; a number passes that fd through. */
  stdio?: StdioOption | Array<StdioOption | number | null | undefined>;
  /** Start the child in a new session and process group (setsid). */
  detached?: boolean;
  uid?: number;
  gid?: number;
  /** Contain the child and everything it starts as one ProcessTree (README "Process trees"). */
  tree?: boolean | TreeOptions;
}

const kSetTree = Symbol('pidfd.setTree');

/**
 * A child process started by spawn(): a Pidfd whose exit status is always known. `Tree` is
 * the type of `tree`: spawn() gives `Subprocess<ProcessTree>` for `{ tree: true }` or tree
 * options, `Subprocess<null>` without them.
 */
export class Subprocess<Tree extends ProcessTree | null = ProcessTree | null> extends Pidfd {
  readonly stdin: net.Socket | null;
  readonly stdout: net.Socket | null;
  readonly stderr: net.Socket | null;
  /** One entry per stdio slot: a stream for 'pipe', else null. */
  readonly stdio: Array<net.Socket | null>;
  readonly spawnfile: string;
  readonly spawnargs: string[];
  /** Set when the `timeout` or `signal` option killed the child (or its tree). */
  killedBy: KillReason | null = null;
  #tree: ProcessTree | null = null;

  /** @internal */
  constructor(token: symbol, pid: number, fd: number, watch: number, streams: Array<net.Socket | null>, file: string, argv: string[]) {
    super(token, pid, fd, { mode: WatchMode.Reap, thread: false, watch });
    this.stdio = streams;
    this.stdin = streams[0] ?? null;
    this.stdout = streams[1] ?? null;
    this.stderr = streams[2] ?? null;
    this.spawnfile = file;
    this.spawnargs = argv;
    // As child_process does: once the child is gone nobody reads its stdin, so let go of it
    // (an unused stdin would otherwise keep the event loop alive forever).
    if (this.stdin !== null) {
      const stdin = this.stdin;
      this.exited.then(() => releaseStdin(stdin), () => releaseStdin(stdin));
    }
  }

  /** The child's process tree with the `tree` option, else null. */
  get tree(): Tree {
    return this.#tree as Tree;
  }

  /** @internal */
  [kSetTree](tree: ProcessTree): void {
    this.#tree = tree;
  }

  /** Also the tree's: a pending `tree.exited` keeps the event loop alive too. */
  override ref(): this {
    super.ref();
    this.#tree?.ref();
    return this;
  }

  override unref(): this {
    super.unref();
    this.#tree?.unref();
    return this;
  }
}

// The syscall that failed, by the stage the native child reports (src/spawn.h).
const stageSyscalls = ['spawn', 'spawn', 'dup3', 'setsid', 'setgid', 'setuid', 'chdir', 'spawn', 'pidfd_open', 'prctl', 'clone3', 'clone3'];
const kStageExec = 7;
const kStageKeeper = 11;

/** The execve candidates, searched in the parent: PATH comes from the child's environment. */
function candidates(file: string, env: NodeJS.ProcessEnv): string[] {
  if (file.includes('/')) return [file];
  const search = env.PATH ?? '/usr/bin:/bin';
  return search.split(':').map((dir) => path.join(dir || '.', file));
}

function envPairs(env: NodeJS.ProcessEnv): string[] {
  const pairs: string[] = [];
  for (const key of Object.keys(env)) {
    const value = env[key];
    if (value === undefined) continue;
    validateCString(key, `options.env['${key}']`);
    pairs.push(`${key}=${validateCString(String(value), `options.env['${key}']`)}`);
  }
  return pairs;
}

type Slot = { kind: 'pipe' } | { kind: 'fd'; fd: number };

function stdioSlots(stdio: unknown): Slot[] {
  const list = stdio === undefined || typeof stdio === 'string' ? [stdio, stdio, stdio] : stdio;
  if (!Array.isArray(list)) throw invalidArgType('options.stdio', 'one of type string or Array', stdio);
  while (list.length < 3) list.push(undefined);
  return list.map((entry: unknown, i: number): Slot => {
    if (entry === undefined || entry === null) entry = i < 3 ? 'pipe' : 'ignore';
    if (entry === 'pipe') return { kind: 'pipe' };
    if (entry === 'ignore') return { kind: 'fd', fd: -1 };
    if (entry === 'inherit') return { kind: 'fd', fd: i };
    if (typeof entry === 'number') return { kind: 'fd', fd: validateInt(entry, `options.stdio[${i}]`, 0, 0x7fffffff) };
    throw invalidArgValue(`options.stdio[${i}]`, entry, "must be 'pipe', 'ignore', 'inherit' or a file descriptor");
  });
}

/** Names the step of a failed spawn in its message, with what would help: ` (in setuid: ...)`. */
function nameStep(err: SystemError, step: string | undefined): void {
  if (step === undefined || step === 'spawn') return;
  const help = remedy(step, err.code);
  err.message += help === undefined ? ` (in ${step})` : ` (in ${step}: ${help})`;
}

function closeAll(fds: number[]): void {
  for (const fd of fds) if (fd >= 0) native.close(fd);
}

/**
 * Starts file with args. Throws synchronously when the child cannot be started (ENOENT,
 * EACCES...): no fd and no zombie is left behind then.
 */
export function spawn(file: string, args: readonly string[], options: SpawnOptions & { tree: true | TreeOptions }): Subprocess<ProcessTree>;
export function spawn(file: string, args?: readonly string[], options?: SpawnOptions & { tree?: false }): Subprocess<null>;
export function spawn(file: string, args?: readonly string[], options?: SpawnOptions): Subprocess;
export function spawn(file: string, args: readonly string[] = [], options: SpawnOptions = {}): Subprocess {
  validateCString(file, 'file');
  if (file.length === 0) throw invalidArgValue('file', file, 'cannot be empty');
  if (!Array.isArray(args)) throw invalidArgType('args', 'an instance of Array', args);
  const argList = args.map((arg, i) => validateCString(arg, `args[${i}]`));
  const opts = validateObject(options, 'options');

  const env = opts.env === undefined ? process.env : (validateObject(opts.env, 'options.env') as NodeJS.ProcessEnv);
  const argv0 = opts.argv0 === undefined ? file : validateCString(opts.argv0, 'options.argv0');
  let cwd: string | null = null;
  if (opts.cwd !== undefined) {
    cwd = validateCString(opts.cwd instanceof URL ? fileURLToPath(opts.cwd) : opts.cwd, 'options.cwd');
  }
  const detached = opts.detached === undefined ? false : validateBoolean(opts.detached, 'options.detached');
  const uid = opts.uid === undefined ? -1 : validateInt(opts.uid, 'options.uid', 0, 0xfffffffe);
  const gid = opts.gid === undefined ? -1 : validateInt(opts.gid, 'options.gid', 0, 0xfffffffe);
  const slots = stdioSlots(opts.stdio);
  const supervision = supervisionOptions(opts);
  const tree = treeOptions(opts.tree);
  const endTree = endWithRootOption(opts.tree);
  // The main thread's process.env is the C environ: the child can have it without a copy.
  const envp = opts.env === undefined && isMainThread ? null : envPairs(env);

  // For each 'pipe' slot a socketpair: our end becomes a stream, theirs goes to the child.
  const ours: number[] = slots.map(() => -1);
  const childEnds: number[] = [];
  const theirs = new Int32Array(slots.length);
  const pair = new Int32Array(2);
  for (let i = 0; i < slots.length; i++) {
    const slot = slots[i];
    if (slot.kind === 'fd') {
      theirs[i] = slot.fd;
      continue;
    }
    const r = native.socketpair(pair);
    if (r < 0) {
      closeAll(ours);
      closeAll(childEnds);
      throw systemError(r, 'socketpair');
    }
    ours[i] = pair[0];
    theirs[i] = pair[1];
    childEnds.push(pair[1]);
  }

  const out = new Int32Array(4);
  const watch = watchId();
  const paths = candidates(file, env);
  const argv = [argv0, ...argList];
  try {
    if (tree !== null) prepareTree(tree, supervision.deathSignal !== 0);
  } catch (err) {
    closeAll(ours);
    closeAll(childEnds);
    throw explainCgroupRefusal(err, tree?.parent ?? null);
  }
  // A tree's keeper (src/keeper.cc) is the root's parent; its exit is watched under keeperWatch.
  // A failed tree spawn may be retried: the child joining the cgroup itself, or as a subreaper tree.
  const keeperWatch = watchId();
  let r: number;
  for (let attempt = 0; ; attempt++) {
    const [cgroupFd, keeper, cgroupName, join] = treeSpawnArgs(tree);
    r = native.spawn(paths, argv, envp, cwd, theirs, detached, uid, gid, out, watch, cgroupFd, supervision.deathSignal, keeper, keeperWatch, cgroupName, join);
    if (r >= 0 || tree === null || attempt === 2 || !treeSpawnFailed(tree, r, out[2])) break;
  }
  closeAll(childEnds);
  if (r < 0) {
    closeAll(ours);
    if (tree !== null) abandonTree(tree);
    const stage = out[2];
    const chdir = stage === 6;
    const err: SystemError = systemError(r, chdir ? 'chdir' : 'spawn', {
      path: chdir ? (cwd as string) : file,
      spawnargs: argList,
    });
    // As child_process, whichever step failed: `spawn <file> <CODE>`, syscall `spawn <file>`
    // (a bad cwd says chdir: its path is the cwd); the step and what would help in the message.
    if (!chdir) err.syscall = `spawn ${file}`;
    if (stage !== kStageExec && !chdir) nameStep(err, stageSyscalls[stage]);
    if (stage === 10) err.syscall = 'clone3'; // into the tree's cgroup (src/spawn.h kStageCgroup)
    if (stage === kStageKeeper && err.code === 'ECHILD') {
      // It ended without a word: its program (src/keeper_program.c) refused our arguments.
      err.syscall = 'execve';
      err.message =
        `${file}: the tree keeper ended before it started the tree (nothing runs): the pidfd-keeper program beside ` +
        `the addon does not match it (another version of pidfd, installed over this one?): reinstall pidfd and restart`;
    } else if (stage === kStageKeeper) {
      // The tree's keeper could not be made: where no method works, say what is missing.
      err.syscall = 'clone';
      err.message =
        `${file}: process trees need a writable cgroup2 or a tree keeper (a CLONE_VM process with PR_SET_CHILD_SUBREAPER), ` +
        `and this system refused the keeper (${err.code}; qemu-user does): use tree: false, or run as root with a writable cgroup2`;
    }
    throw err;
  }

  const streams = ours.map((fd, i) => (fd < 0 ? null : stdioStream(fd, i)));
  const child = new Subprocess(kCreate, out[0], out[1], watch, streams, file, [argv0, ...argList]);
  if (tree !== null) child[kSetTree](startTree(tree, child, out[3], keeperWatch));
  if (endTree !== null && child.tree !== null) endWithRoot(child.tree, child.exited, endTree);
  supervise(child, supervision, (reason) => (child.killedBy ??= reason));
  return child;
}
