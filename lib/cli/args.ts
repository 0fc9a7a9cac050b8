// Command-line parsing for the pidfd command: options, counts, signals, durations.
import { constants } from 'node:os';

/** Bad usage: reported with a pointer to --help. */
export class UsageError extends Error {
  override name = 'UsageError';
}

/** An expected failure (unknown pid, identity mismatch): reported as its message alone. */
export class Failure extends Error {
  override name = 'Failure';
  constructor(
    message: string,
    readonly code?: string,
  ) {
    super(message);
  }
}

export interface OptionSpec {
  /** A one-letter alias, e.g. 't' for -t. */
  short?: string;
  /** True when the option takes a value (--timeout 5s, --timeout=5s, -t5s). */
  value?: boolean;
}

export interface Parsed {
  options: Record<string, string | true | undefined>;
  positionals: string[];
}

/**
 * getopt_long-style parsing. `--` ends the options; with stopAtPositional the first operand
 * does too (everything from the command on belongs to the command). The last repeat wins.
 */
export function parseArgs(argv: readonly string[], spec: Record<string, OptionSpec>, stopAtPositional = false): Parsed {
  const options: Parsed['options'] = {};
  const positionals: string[] = [];
  const byShort = new Map(Object.entries(spec).flatMap(([name, s]) => (s.short ? [[s.short, name]] : [])));
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--') {
      positionals.push(...argv.slice(i + 1));
      break;
    }
    if (arg.startsWith('--')) {
      const eq = arg.indexOf('=');
      const name = arg.slice(2, eq < 0 ? undefined : eq);
      if (!Object.hasOwn(spec, name)) throw new UsageError(`unknown option '--${name}'`);
      if (!spec[name].value) {
        if (eq >= 0) throw new UsageError(`option '--${name}' takes no value`);
        options[name] = true;
      } else if (eq >= 0) {
        options[name] = arg.slice(eq + 1);
      } else {
        if (i + 1 >= argv.length) throw new UsageError(`option '--${name}' needs a value`);
        options[name] = argv[++i];
      }
    } else if (arg.startsWith('-') && arg.length > 1) {
      // Bundled letters: -ev, -t5s, -t 5s.
      for (let j = 1; j < arg.length; j++) {
        const name = byShort.get(arg[j]);
        if (name === undefined) throw new UsageError(`unknown option '-${arg[j]}'`);
        if (!spec[name].value) {
          options[name] = true;
          continue;
        }
        if (j + 1 < arg.length) options[name] = arg.slice(j + 1);
        else if (i + 1 < argv.length) options[name] = argv[++i];
        else throw new UsageError(`option '-${arg[j]}' needs a value`);
        break;
      }
    } else {
      if (stopAtPositional) {
        positionals.push(...argv.slice(i));
        break;
      }
      positionals.push(arg);
    }
  }
  return { options, positionals };
}

const units: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };
/** The longest delay a Node timer can hold. */
const MAX_MS = 2 ** 31 - 1;

/**
 * Milliseconds for `500ms`, `10s`, `2m`, `1h`, `1d` or plain seconds (`1.5`); 0 is allowed.
 * Rounded up to a whole millisecond, so a non-zero duration never becomes 0.
 */
export function parseDuration(text: string, option: string): number {
  const match = /^(\d+(?:\.\d*)?|\.\d+)(ms|s|m|h|d)?$/.exec(text);
  if (match === null) throw new UsageError(`invalid duration for ${option}: '${text}' (examples: 500ms, 10s, 2m, 1.5)`);
  const ms = Math.ceil(Number(match[1]) * units[match[2] ?? 's']);
  if (ms > MAX_MS) throw new UsageError(`${option} ${text} is too long (at most 24 days)`);
  return ms;
}

/** A positive integer. */
export function parseCount(text: string, option: string): number {
  if (!/^\d+$/.test(text) || Number(text) < 1) throw new UsageError(`invalid ${option}: '${text}' (a positive integer)`);
  return Number(text);
}

const signalNumbers = constants.signals as Record<string, number>;

/**
 * A signal for `SIGTERM`, `TERM`, `term` or `15`: its name where Node knows one ('SIGTERM'),
 * else its number (real-time signals, 0 to probe).
 */
export function parseSignal(text: string, option = '--signal'): NodeJS.Signals | number {
  if (/^\d+$/.test(text)) {
    const number = Number(text);
    const name = Object.keys(signalNumbers).find((key) => signalNumbers[key] === number);
    if (name !== undefined) return name as NodeJS.Signals;
    if (number <= 64) return number;
  } else {
    const upper = text.toUpperCase();
    const name = upper.startsWith('SIG') ? upper : `SIG${upper}`;
    if (Object.hasOwn(signalNumbers, name)) return name as NodeJS.Signals;
  }
  throw new UsageError(`unknown signal for ${option}: '${text}'`);
}

export function signalNumber(signal: NodeJS.Signals | number): number {
  return typeof signal === 'number' ? signal : signalNumbers[signal];
}

/** A subcommand of the pidfd command. */
export interface Command {
  /** One line for `pidfd --help`. */
  summary: string;
  /** The text of `pidfd COMMAND --help`. */
  help: string;
  /** The exit status for bad usage and failures of the command itself. */
  failure: number;
  main(argv: readonly string[]): Promise<number>;
}
