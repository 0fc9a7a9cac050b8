// pidfd: Linux process handles for Node.js.
export { open, Pidfd } from './pidfd';
export { spawn, Subprocess, type SpawnOptions, type StdioOption } from './subprocess';
export type { ExitStatus } from './exit-status';
export type { SystemError } from './errors';
