#!/usr/bin/env node
// The pidfd command: wait for, run, inspect and signal processes through pidfds.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { supported, platform } from './binding';
import { type Command, UsageError } from './cli/args';
import { info } from './cli/info';
import { describeError, print, printError } from './cli/io';
import { kill } from './cli/kill';
import { run } from './cli/run';
import { wait } from './cli/wait';
import { platformError } from './errors';

const commands: Record<string, Command> = { wait, run, info, kill };

const help = `Usage: pidfd COMMAND [options] [ARG]...

Process handles from the command line: a pidfd names one process for good, so a
reused pid is never waited for or signalled by mistake.

Commands:
${Object.entries(commands)
  .map(([name, command]) => `  ${name.padEnd(6)}${command.summary}`)
  .join('\n')}

Options:
  -h, --help     show this help (pidfd COMMAND --help for a command's)
  -V, --version  show the version

Durations: 500ms, 10s, 2m, 1h, 1d, or seconds (1.5).`;

function version(): string {
  return JSON.parse(fs.readFileSync(path.join(__dirname, '..', 'package.json'), 'utf8')).version;
}

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === '-h' || name === '--help' || name === 'help') {
    print(rest.length > 0 && Object.hasOwn(commands, rest[0]) ? commands[rest[0]].help : help);
    return 0;
  }
  if (name === '-V' || name === '--version') {
    print(version());
    return 0;
  }
  if (name === undefined || !Object.hasOwn(commands, name)) {
    printError(name === undefined ? help : `pidfd: unknown command '${name}'\nTry 'pidfd --help'.`);
    return 1;
  }
  if (!supported) {
    printError(`pidfd ${name}: ${platformError(platform).message}`);
    return 1;
  }
  const command = commands[name];
  try {
    return await command.main(rest);
  } catch (err) {
    printError(`pidfd ${name}: ${describeError(err)}`);
    if (err instanceof UsageError) printError(`Try 'pidfd ${name} --help'.`);
    return command.failure;
  }
}

main(process.argv.slice(2)).then((code) => {
  process.exitCode = code;
});
