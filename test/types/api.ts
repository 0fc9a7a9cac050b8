// A consumer of the whole public API, compiled (never run) by test/types.test.ts against the
// packed package under each TypeScript version and module mode. `@ts-expect-error` lines
// must fail to compile: they keep the types from growing looser.
import * as pidfd from 'pidfd';
import type {
  ExitStatus, Features, KillReason, ProcessInfo, SignalScope, SpawnOptions, StdioOption,
  SupervisionOptions, SystemError, TerminateOptions, TreeMethod, TreeOptions, TreeTerminateOptions,
} from 'pidfd';

export async function everything(): Promise<void> {
  // open(), and what every handle has
  const handle: pidfd.Pidfd = pidfd.open(process.pid);
  const thread = pidfd.open(process.pid, { thread: true });
  const pid: number = handle.pid;
  const isThread: boolean = thread.thread;
  const fd: number = handle.fd;
  const closed: boolean = handle.closed;
  const running: boolean = handle.running;
  const inode: number | null = handle.inode;
  const status: ExitStatus = await handle.exited;
  const statusPid: number = status.pid;
  const code: number | null = status.code;
  const signal: NodeJS.Signals | null = status.signal;
  const core: boolean = status.coreDumped;
  await handle.onExit();
  await handle.onExit({ signal: AbortSignal.timeout(1) });
  const scope: SignalScope = 'processGroup';
  const sent: boolean = handle.kill();
  handle.kill('SIGKILL', { scope });
  handle.kill(9);
  const terminateOptions: TerminateOptions = { signal: 'SIGINT', timeout: 100, killSignal: 9, abortSignal: AbortSignal.timeout(5) };
  const terminated: ExitStatus = await handle.terminate(terminateOptions);
  const info: ProcessInfo = handle.info();
  const ids: number[] = [info.pid, info.ppid, info.uid, info.gid, info.euid, info.egid];
  const cgroupId: number | null = info.cgroupId;
  const copy: number = handle.getfd(0);
  handle.mrelease();
  const chained: pidfd.Pidfd = handle.ref().unref();
  handle.close();
  handle[Symbol.dispose]();
  {
    using scoped = pidfd.open(process.pid);
    scoped.kill(0);
  }

  // spawn() and Subprocess
  const stdio: StdioOption = 'pipe';
  const supervision: SupervisionOptions = { timeout: 1000, signal: AbortSignal.timeout(2000), killSignal: 'SIGTERM', dieWithParent: true };
  const options: SpawnOptions = {
    ...supervision, cwd: new URL('file:///tmp'), env: { PATH: '/bin' }, argv0: 'sh', stdio: [stdio, 'ignore', 'inherit', 3, null, undefined],
    detached: false, uid: 0, gid: 0,
  };
  const child: pidfd.Subprocess = pidfd.spawn('sh', ['-c', 'exit 0'], options);
  const asHandle: pidfd.Pidfd = child;
  child.stdin?.end();
  child.stdout?.setEncoding('utf8');
  child.stderr?.resume();
  const streams: Array<import('node:net').Socket | null> = child.stdio;
  const file: string = child.spawnfile;
  const args: string[] = child.spawnargs;
  const reason: KillReason | null = child.killedBy;
  const childStatus: ExitStatus = await child.exited;
  const same: pidfd.Subprocess = child.ref().unref();
  pidfd.spawn('true');

  // trees: spawn's tree is non-null exactly when the tree option asks for one
  const noTree: null = pidfd.spawn('true').tree;
  const noTree2: null = pidfd.spawn('true', [], { tree: false }).tree;
  // @ts-expect-error without the tree option there is no tree
  pidfd.spawn('true', []).tree.kill();
  const method: TreeMethod = 'cgroup';
  const treeOptions: TreeOptions = { method, cgroup: '/sys/fs/cgroup/x' };
  const treeChild = pidfd.spawn('sh', [], { tree: true });
  const tree: pidfd.ProcessTree = treeChild.tree;
  const tree2: pidfd.ProcessTree = pidfd.spawn('sh', [], { tree: treeOptions, timeout: 5 }).tree;
  const maybe: pidfd.ProcessTree | null = pidfd.spawn('sh', [], { tree: Math.random() > 0.5 }).tree;
  const opts: SpawnOptions = { tree: true };
  const maybe2: pidfd.ProcessTree | null = pidfd.spawn('sh', [], opts).tree;
  const treeMethod: TreeMethod = tree.method;
  const cgroup: string | null = tree.cgroup;
  const root: number = tree.root;
  const pids: number[] = tree.pids();
  const signalled: number = tree.kill('SIGKILL');
  await tree.exited;
  const done: boolean = tree.done;
  const treeTerminate: TreeTerminateOptions = { signal: 'SIGTERM', timeout: 10, killSignal: 'SIGKILL', abortSignal: AbortSignal.timeout(5) };
  const ended: void = await tree.terminate(treeTerminate);
  tree.ref().unref().close();
  tree2[Symbol.dispose]();
  const treeClosed: boolean = tree2.closed;
  const found: pidfd.ProcessTree = pidfd.tree(process.pid);
  pidfd.tree(child);

  // from(), features, errors
  const { spawn } = await import('node:child_process');
  const fromChild: pidfd.Pidfd = pidfd.from(spawn('true'));
  const features: Features = pidfd.features;
  const flags: boolean[] = [features.open, features.spawnPidfd, features.waitid, features.thread, features.signalScope,
    features.info, features.exitInfo, features.getfd, features.mrelease, features.inode];
  try {
    pidfd.open(1);
  } catch (e) {
    const err = e as SystemError;
    const parts: [string, number, string, string | undefined, string[] | undefined] = [err.code, err.errno, err.syscall, err.path, err.spawnargs];
    void parts;
  }

  // @ts-expect-error the signal is a name or a number
  handle.kill(true);
  // @ts-expect-error features are read-only
  features.open = false;
  // @ts-expect-error no such scope
  handle.kill('SIGTERM', { scope: 'session' });

  void [statusPid, ids, pid, isThread, fd, closed, running, inode, code, signal, core, sent, terminated, cgroupId, copy, chained, asHandle,
    streams, file, args, reason, childStatus, same, noTree, noTree2, tree2, maybe, maybe2, treeMethod, cgroup, root, pids,
    signalled, done, ended, treeClosed, found, fromChild, flags];
}
