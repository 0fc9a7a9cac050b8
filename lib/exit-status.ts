// ExitStatus, decoded from a wait(2)-style status word (waitid, or the kernel's exit record).
import { signalName } from './signals';

export interface ExitStatus {
  /** The process id the handle was opened for. */
  pid: number;
  /** The exit code, or null when it was killed by a signal or the status is unknown. */
  code: number | null;
  /** The signal that killed it ('SIGKILL'), or null. */
  signal: NodeJS.Signals | null;
  /** True when the killing signal dumped core. */
  coreDumped: boolean;
}

/** status: a wait(2) status word, or -1 when the status is not known. */
export function exitStatus(pid: number, status: number): ExitStatus {
  if (status < 0) return { pid, code: null, signal: null, coreDumped: false };
  const signal = status & 0x7f;
  if (signal === 0) return { pid, code: (status >> 8) & 0xff, signal: null, coreDumped: false };
  return { pid, code: null, signal: signalName(signal), coreDumped: (status & 0x80) !== 0 };
}
