// What tree.kill() means, for both tree methods: best effort per member (a member that
// answers EPERM is skipped and reported after the others were signalled), signals as kill(2)
// defines them (stop signals stop, SIGCONT continues, a member someone else stopped stays
// stopped), and never the caller or one of its ancestors. The methods differ only in how
// they find the members and hold them still (a frozen cgroup, or SIGSTOP top-down).
import { constants } from 'node:os';
import { systemError, type SystemError } from './errors';
import { callerAndAncestors, processState } from './proc-tree';

const { EPERM, ESRCH } = constants.errno;
export const SIGCONT = 18;
export const SIGSTOP = 19;
/** SIGSTOP, SIGTSTP, SIGTTIN, SIGTTOU: their default action stops the process. */
const STOP_SIGNALS = new Set([SIGSTOP, 20, 21, 22]);

/** One member, held (by a pidfd) while the signals go out. */
export interface TreeMember {
  readonly pid: number;
  /** pidfd_send_signal through the member's pidfd: 0 sent, 1 a zombie, or -errno. */
  send(signal: number): number;
}

/** The error kill() throws, after the others were signalled, when members refused (EPERM). */
export interface TreeSignalError extends SystemError {
  /** How many members were signalled. */
  signalled: number;
  /** The members that answered EPERM, and were skipped. */
  pids: number[];
}

/**
 * Whether a tree must be held still (frozen, or stopped top-down) while `signal` goes out, so
 * that nothing forks away between the walk and the signal. Not for a probe (0), nor for the
 * signals whose own effect is to stop or continue: a SIGCONT after them would undo them.
 */
export function needsHold(signal: number): boolean {
  return signal !== 0 && signal !== SIGCONT && !STOP_SIGNALS.has(signal);
}

/** One kill(): what was sent, to whom, and who refused. */
export class TreeSignal {
  readonly signal: number;
  #count = 0;
  readonly #sent = new Set<number>();
  readonly #refused: number[] = [];
  readonly #spared: Set<number>;
  #running = false;

  /** spareCaller: whether the tree can hold the caller or an ancestor (not a keeper's tree: those are our descendants). */
  constructor(signal: number, spareCaller: boolean) {
    this.signal = signal;
    this.#spared = spareCaller ? callerAndAncestors() : new Set();
  }

  /** The caller and its ancestors are never signalled, stopped or frozen. */
  spares(pid: number): boolean {
    return this.#spared.has(pid);
  }

  /** True when pid already had this round's signal (or refused it). */
  has(pid: number): boolean {
    return this.#sent.has(pid);
  }

  /** Sends this round's signal to m, once; EPERM is recorded, a gone member is not counted. */
  deliver(m: TreeMember): void {
    if (this.#sent.has(m.pid)) return;
    this.#sent.add(m.pid);
    if (this.spares(m.pid)) return;
    const r = m.send(this.signal);
    // kill(0) probes: a member we may not signal is still a live member.
    if (r === 0 || (r === -EPERM && this.signal === 0)) this.#count++;
    else if (r === -EPERM) this.#refused.push(m.pid);
    else if (r !== 1 && r !== -ESRCH) throw systemError(r, 'pidfd_send_signal');
  }

  /**
   * SIGSTOPs m unless it is stopped already (by someone else: it must stay stopped) or
   * spared; true when we stopped it, and so must continue it. EPERM is recorded.
   */
  stop(m: TreeMember): boolean {
    if (this.spares(m.pid) || processState(m.pid) === 'T') {
      this.#running = true; // or may be continued by whoever stopped it
      return false;
    }
    const r = m.send(SIGSTOP);
    if (r === -EPERM && !this.#refused.includes(m.pid)) {
      this.#refused.push(m.pid);
      this.#sent.add(m.pid); // it will refuse the signal too
      this.#running = true;
    }
    return r === 0;
  }

  /** Whether stop() left a member to others (spared, refusing, or stopped by someone else): it may fork. */
  get leftRunning(): boolean {
    return this.#running;
  }

  /** How many members were signalled; throws the EPERM error when some refused. */
  result(): number {
    if (this.#refused.length === 0) return this.#count;
    const err = systemError(-EPERM, 'pidfd_send_signal') as TreeSignalError;
    err.message = `pidfd_send_signal EPERM: ${this.#refused.length} tree member(s) refused the signal (${this.#refused.join(', ')}); ${this.#count} were signalled`;
    err.signalled = this.#count;
    err.pids = [...this.#refused];
    throw err;
  }
}

/**
 * Signals every member that `walk()` finds, repeating walks until one finds nobody new (one
 * walk is enough when `held` says the tree is frozen). With `stopFirst`, the members are
 * first stopped top-down with SIGSTOP until a walk finds nobody new, and continued after
 * (only those this call stopped); the members that phase found take the signal at once, and
 * walks after it (only when a member was left to others: spared, refusing, or stopped by
 * someone else) look for anyone new. Returns the count, or throws the EPERM error after the
 * others were signalled.
 */
export function signalMembers(
  signal: number,
  walk: () => Iterable<TreeMember>,
  options: { held: boolean; stopFirst: boolean; maxPasses: number; spareCaller: boolean },
): number {
  const round = new TreeSignal(signal, options.spareCaller);
  const stopped: TreeMember[] = [];
  try {
    if (options.stopFirst && needsHold(signal)) {
      const seen = new Map<number, TreeMember>();
      let still = false;
      for (let pass = 0; pass < options.maxPasses && !still; pass++) {
        still = true;
        for (const m of walk()) {
          if (seen.has(m.pid)) continue;
          seen.set(m.pid, m);
          still = false;
          if (round.stop(m)) stopped.push(m);
        }
      }
      for (const m of seen.values()) round.deliver(m);
      // Everyone found is stopped by us and cannot fork: no walk can find anyone new, unless a
      // member was left to others (or the stopping never caught up).
      if (still && !round.leftRunning) return round.result();
    }
    for (let pass = 0; pass < options.maxPasses; pass++) {
      let fresh = 0;
      for (const m of walk()) {
        if (round.has(m.pid)) continue;
        fresh++;
        round.deliver(m);
      }
      if (fresh === 0 || options.held) break;
    }
  } finally {
    for (const m of stopped) m.send(SIGCONT);
  }
  return round.result();
}
