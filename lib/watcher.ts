// The JS side of the native watcher: watch ids, the one exit callback per environment,
// and the FinalizationRegistry that frees what a dropped handle still holds.
import { native } from './binding';
import { delivery } from './runtime';

/** What a handle holds that must be freed even if the handle is dropped without close(). */
export interface Resources {
  fd: number; // -1 once closed or handed to the watcher
  watch: number; // watch id while the native watcher owns the fd, else 0
}

export interface ExitListener {
  /** status: wait(2) status or -1; error: 0 or -errno from waitid */
  onWatchFired(status: number, error: number): void;
}

/** How a watch learns the exit status (src/watch.h). */
export const enum WatchMode {
  /** Report the exit only. */
  Plain = 0,
  /** Our own child: reap it with waitid(P_PIDFD). */
  Reap = 1,
  /** Someone else's: wait for its parent to reap it, then read the kernel's exit record. */
  Record = 2,
}

/**
 * How long a watch in Record mode waits, after the exit, for the parent to reap the process
 * (parents normally reap within a millisecond, on SIGCHLD). A zombie that is not reaped by
 * then resolves with a null status.
 */
export const EXIT_RECORD_WAIT_MS = 100;

const listeners = new Map<number, ExitListener>();
let nextId = 1;

// The native side reuses one Int32Array for every batch: [id, status, error] × count.
const events: Int32Array = native.setExitCallback((count: number) => {
  for (let i = 0, end = count * 3; i < end; i += 3) {
    const id = events[i];
    const listener = listeners.get(id);
    if (listener === undefined) continue;
    listeners.delete(id);
    listener.onWatchFired(events[i + 1], events[i + 2]);
  }
}, delivery === 'thread');

const registry = new FinalizationRegistry<Resources>(release);

/** Frees a handle's fd or watch; idempotent. */
export function release(resources: Resources): void {
  if (resources.watch !== 0) {
    listeners.delete(resources.watch);
    native.unwatch(resources.watch);
  } else if (resources.fd >= 0) {
    native.close(resources.fd);
  }
  resources.fd = -1;
  resources.watch = 0;
}

export function track(owner: object, resources: Resources): void {
  registry.register(owner, resources, resources);
}

export function untrack(resources: Resources): void {
  registry.unregister(resources);
}

/**
 * Starts watching resources.fd; the native watcher owns the fd from here on. The listener
 * is held strongly until the watch fires, like a ChildProcess while its child runs.
 * Returns 0 or -errno.
 */
export function startWatch(resources: Resources, listener: ExitListener, mode: WatchMode, ref: boolean, pid: number): number {
  const id = watchId();
  const r = native.watch(resources.fd, id, mode, ref, EXIT_RECORD_WAIT_MS, pid);
  if (r < 0) return r;
  adoptWatch(resources, listener, id);
  return 0;
}

/** A fresh watch id (spawn() starts its child's watch natively, under an id from here). */
export function watchId(): number {
  const id = nextId;
  nextId = nextId >= 0x7fffffff ? 1 : nextId + 1;
  return id;
}

/** Takes over a watch that the native side already started under id. */
export function adoptWatch(resources: Resources, listener: ExitListener, id: number): void {
  resources.watch = id;
  listeners.set(id, listener);
}
