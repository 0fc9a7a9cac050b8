// pidfd kill: send a signal through a pidfd, so it reaches the process named and no other.
import { type Pidfd, tree as processTree } from '../index';
import { type Command, Failure, parseArgs, parseSignal, UsageError } from './args';
import { describeError, print, printError } from './io';
import { openTarget, parseTarget } from './target';

const help = `Usage: pidfd kill [options] PID[:INODE]...

Sends a signal to each process through a pidfd. With PID:INODE (see pidfd info) a
process whose pid has been reused since is refused and nothing is sent to it.

Options:
  -s, --signal SIG  the signal: a name (SIGTERM, TERM, term) or a number (default SIGTERM;
                    0 checks that the process is still running)
      --tree        signal the process and all its descendants (its own cgroup when it
                    holds exactly them, else found through /proc, each checked to still
                    be its parent's child, the tree held still meanwhile so nothing forks
                    away); prints how many were signalled and the method. Members it may
                    not signal are skipped and named; this process and its ancestors
                    are never signalled
  -h, --help        show this help

Exit status: 0 when every process was signalled, else 1 (the others are still signalled).`;

const spec = { signal: { short: 's', value: true }, tree: {}, help: { short: 'h' } };

async function main(argv: readonly string[]): Promise<number> {
  const { options, positionals } = parseArgs(argv, spec);
  if (options.help) {
    print(help);
    return 0;
  }
  const signal = options.signal === undefined ? 'SIGTERM' : parseSignal(options.signal as string);
  if (positionals.length === 0) throw new UsageError('no processes given');
  const targets = positionals.map(parseTarget);
  let failed = false;
  const fail = (message: string) => {
    printError(`pidfd kill: ${message}`);
    failed = true;
  };
  // Every identity is settled before the first signal goes out.
  const opened: Array<[string, Pidfd]> = [];
  for (const target of targets) {
    try {
      opened.push([target.arg, openTarget(target)]);
    } catch (err) {
      if (!(err instanceof Failure)) throw err;
      fail(err.message);
    }
  }
  for (const [arg, handle] of opened) {
    try {
      if (options.tree) {
        const tree = processTree(handle);
        try {
          const count = tree.kill(signal);
          if (count === 0) fail(`${arg}: the process has already exited`);
          else print(`${arg}: signalled ${count} process${count === 1 ? '' : 'es'} (${tree.method} method)`);
        } catch (err) {
          const refused = err as { signalled?: number; pids?: number[] };
          if (refused.pids === undefined) throw err;
          fail(`${arg}: signalled ${refused.signalled} process(es) (${tree.method} method); not permitted to signal ${refused.pids.join(', ')}`);
        } finally {
          tree.close();
        }
      } else if (!handle.kill(signal)) fail(`${arg}: the process has already exited`);
    } catch (err) {
      fail(`${arg}: ${describeError(err)}`);
    } finally {
      handle.close();
    }
  }
  return failed ? 1 : 0;
}

export const kill: Command = { summary: 'signal processes through pidfds', help, failure: 1, main };
