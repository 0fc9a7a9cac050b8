// pidfd wait: wait for processes that need not be our children, as util-linux waitpid(1).
import { performance } from 'node:perf_hooks';
import type { ExitStatus, Pidfd } from '../index';
import { type Command, parseArgs, parseCount, parseDuration, UsageError } from './args';
import { formatSeconds, print, printError } from './io';
import { isGone, openTarget, parseTarget } from './target';

const EXIT_TIMEOUT = 3;

const help = `Usage: pidfd wait [options] PID[:INODE]...

Waits until the processes have exited. They need not be children of the caller.
PID:INODE names the process by its pidfs inode as well (see pidfd info): a process
whose pid has been reused since is refused, or counts as exited with --exited.

Options:
  -t, --timeout DURATION  give up after DURATION (500ms, 10s, 2m, 1.5; 0: never)
  -c, --count N           return once N of the processes have exited
  -e, --exited            a process that is already gone counts as exited
  -v, --verbose           print each exit as it happens
      --json              print each exit as a JSON object, one per line
  -h, --help              show this help

Exit status: 0 when the processes have exited, 3 on timeout, 1 on errors.`;

const spec = {
  timeout: { short: 't', value: true },
  count: { short: 'c', value: true },
  exited: { short: 'e' },
  verbose: { short: 'v' },
  json: {},
  help: { short: 'h' },
};

interface Exit {
  pid: number;
  inode: number | null;
  status: ExitStatus | null;
  elapsedMs: number;
}

function describe(exit: Exit): string {
  const { status } = exit;
  const after = `after ${formatSeconds(exit.elapsedMs)}`;
  if (status === null) return `${exit.pid}: had already exited`;
  if (status.signal !== null) return `${exit.pid}: killed by ${status.signal}${status.coreDumped ? ' (core dumped)' : ''} ${after}`;
  if (status.code !== null) return `${exit.pid}: exited with code ${status.code} ${after}`;
  return `${exit.pid}: exited ${after}`;
}

function toJson({ pid, inode, status, elapsedMs }: Exit): string {
  return JSON.stringify({
    pid,
    inode,
    code: status?.code ?? null,
    signal: status?.signal ?? null,
    coreDumped: status?.coreDumped ?? false,
    alreadyExited: status === null,
    elapsedMs: Math.round(elapsedMs),
  });
}

async function main(argv: readonly string[]): Promise<number> {
  const start = performance.now();
  const { options, positionals } = parseArgs(argv, spec);
  if (options.help) {
    print(help);
    return 0;
  }
  if (positionals.length === 0) throw new UsageError('no processes given');
  const targets = positionals.map(parseTarget);
  const timeout = options.timeout === undefined ? 0 : parseDuration(options.timeout as string, '--timeout');
  const count = options.count === undefined ? targets.length : parseCount(options.count as string, '--count');
  if (count > targets.length) throw new UsageError(`cannot wait for ${count} of ${targets.length} processes`);

  const report = (exit: Exit) => {
    if (options.json) print(toJson(exit));
    else if (options.verbose) print(describe(exit));
  };

  const handles: Pidfd[] = [];
  let exited = 0;
  try {
    for (const target of targets) {
      try {
        handles.push(openTarget(target));
      } catch (err) {
        if (!options.exited || !isGone(err)) throw err;
        exited++;
        report({ pid: target.pid, inode: target.inode, status: null, elapsedMs: performance.now() - start });
      }
    }
    if (exited >= count) return 0;

    const deadline = new AbortController();
    const timer = timeout > 0 ? setTimeout(() => deadline.abort(), timeout) : undefined;
    const pending = new Set(handles);
    try {
      await new Promise<void>((resolve, reject) => {
        for (const handle of handles) {
          const { inode } = handle;
          handle.onExit({ signal: deadline.signal }).then((status) => {
            pending.delete(handle);
            report({ pid: handle.pid, inode, status, elapsedMs: performance.now() - start });
            if (++exited >= count) resolve();
          }, reject);
        }
      });
    } catch (err) {
      if (!deadline.signal.aborted) throw err;
      const left = [...pending].map((handle) => handle.pid).join(', ');
      printError(`pidfd wait: timed out after ${formatSeconds(timeout)}; still running: ${left}`);
      return EXIT_TIMEOUT;
    } finally {
      clearTimeout(timer);
    }
    return 0;
  } finally {
    for (const handle of handles) handle.close();
  }
}

export const wait: Command = { summary: 'wait for processes to exit', help, failure: 1, main };
