// pidfd run: run a command with a deadline, as timeout(1), through a pidfd.
import { performance } from 'node:perf_hooks';
import { spawn, type Subprocess, type TreeOptions } from '../index';
import { type Command, parseArgs, parseDuration, parseSignal, signalNumber, UsageError } from './args';
import { describeError, print, printError } from './io';

const EXIT_TIMEOUT = 124;
const EXIT_CANNOT_EXECUTE = 126;
const EXIT_NOT_FOUND = 127;
const FORWARDED = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;

const help = `Usage: pidfd run [options] [--] COMMAND [ARG]...

Runs COMMAND with its stdin, stdout and stderr, forwards SIGINT, SIGTERM and SIGHUP to
it, and exits with its status.

Options:
  -t, --timeout DURATION     send the signal after DURATION (500ms, 10s, 2m, 1.5; 0: never)
  -s, --signal SIG           the signal to send at the timeout (default SIGTERM)
  -k, --kill-after DURATION  send SIGKILL if COMMAND still runs DURATION after the signal
                             (default 5s; 0: never)
      --tree                 contain COMMAND and everything it starts (a cgroup of its own,
                             else this process as subreaper): the timeout and forwarded
                             signals go to the whole tree, and pidfd run returns only once
                             the tree is empty
      --end-with-root        with --tree: once COMMAND exits, end the rest of its tree
                             (SIGTERM, then SIGKILL after --kill-after), as systemd
                             does with a service's processes
      --json                 once COMMAND has ended, print how it ended and how long it
                             took as a JSON line on stderr (with --tree: treeMethod,
                             'cgroup' or 'subreaper')
  -h, --help                 show this help

Exit status: COMMAND's own; 128+N when a signal N killed it; 124 when the timeout
expired (whatever happened next); 125 when pidfd run itself fails; 126 when COMMAND
cannot be executed; 127 when it is not found.`;

const spec = {
  timeout: { short: 't', value: true },
  signal: { short: 's', value: true },
  'kill-after': { short: 'k', value: true },
  tree: {},
  'end-with-root': {},
  json: {},
  help: { short: 'h' },
};

/** Spawns the command; when it cannot run, says why and returns the exit status for that. */
function start(file: string, args: string[], tree: boolean | TreeOptions): Subprocess | number {
  try {
    return spawn(file, args, { stdio: 'inherit', tree });
  } catch (err) {
    const code = (err as { code?: string }).code;
    const status = code === 'ENOENT' ? EXIT_NOT_FOUND : code === 'EACCES' || code === 'ENOEXEC' ? EXIT_CANNOT_EXECUTE : 0;
    if (status === 0) throw err;
    printError(`pidfd run: ${file}: ${code === 'ENOENT' && !file.includes('/') ? 'command not found' : describeError(err)}`);
    return status;
  }
}

async function main(argv: readonly string[]): Promise<number> {
  const began = performance.now();
  const { options, positionals } = parseArgs(argv, spec, true);
  if (options.help) {
    print(help);
    return 0;
  }
  const timeout = options.timeout === undefined ? 0 : parseDuration(options.timeout as string, '--timeout');
  const killAfter = options['kill-after'] === undefined ? 5000 : parseDuration(options['kill-after'] as string, '--kill-after');
  const signal = options.signal === undefined ? 'SIGTERM' : parseSignal(options.signal as string);
  if (signal === 0) throw new UsageError('--signal 0 cannot end a process');
  if (positionals.length === 0) throw new UsageError('no command given');

  // The handlers come first: a signal that arrives during the spawn waits in libuv's queue and
  // is forwarded once spawn() has returned, instead of killing us and orphaning the command.
  let child: Subprocess | undefined;
  const forward = (name: NodeJS.Signals) => {
    try {
      if (child?.tree) child.tree.kill(name);
      else child?.kill(name);
    } catch (err) {
      printError(`pidfd run: forwarding ${name}: ${describeError(err)}`); // members that refuse (EPERM)
    }
  };
  for (const name of FORWARDED) process.on(name, forward);
  let timer: NodeJS.Timeout | undefined;
  try {
    if (options['end-with-root'] && !options.tree) throw new UsageError('--end-with-root needs --tree');
    const endWithRoot = { timeout: killAfter === 0 ? Infinity : killAfter };
    const tree = options.tree === true && (options['end-with-root'] ? { endWithRoot } : true);
    const started = start(positionals[0], positionals.slice(1), tree);
    if (typeof started === 'number') return started;
    child = started;
    let timedOut = false;
    if (timeout > 0) {
      timer = setTimeout(() => {
        timedOut = true;
        const target = started.tree ?? started;
        target.terminate({ signal, timeout: killAfter === 0 ? Infinity : killAfter }).catch(() => {});
      }, timeout);
    }
    const status = await child.exited;
    await child.tree?.exited; // like systemd-run --scope --wait: until the tree is empty
    const exitCode = timedOut
      ? EXIT_TIMEOUT
      : status.signal !== null
        ? 128 + signalNumber(status.signal)
        : (status.code ?? 125);
    if (options.json) {
      const elapsedMs = Math.round(performance.now() - began);
      const { pid, code, coreDumped } = status;
      const tree = child.tree === null ? {} : { treeMethod: child.tree.method };
      printError(JSON.stringify({ pid, code, signal: status.signal, coreDumped, timedOut, elapsedMs, exitCode, ...tree }));
    }
    return exitCode;
  } finally {
    clearTimeout(timer);
    for (const name of FORWARDED) process.off(name, forward);
    child?.tree?.close();
    child?.close();
  }
}

export const run: Command = { summary: 'run a command with a deadline, forwarding signals', help, failure: 125, main };
