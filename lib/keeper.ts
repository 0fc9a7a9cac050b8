// The JS side of a tree's keeper (src/keeper.cc): the flags spawn() passes, and the watch on
// the keeper's exit where no tree object takes it (a cgroup tree with dieWithParent).
import { adoptWatch, release, type ExitListener, type Resources } from './watcher';

/** src/keeper.h KeeperFlags */
export const KEEPER = 1;
export const KEEPER_DIE = 2;
export const KEEPER_UNREF = 4;

/**
 * Holds the watch on a keeper whose tree is followed by other means (the cgroup's events):
 * released once the keeper has exited and been reaped, which also closes the lifeline.
 */
class KeeperWatch implements ExitListener {
  readonly #resources: Resources = { fd: -1, watch: 0 };

  constructor(id: number) {
    adoptWatch(this.#resources, this, id);
  }

  onWatchFired(): void {
    release(this.#resources);
  }
}

export function holdKeeperWatch(id: number): void {
  new KeeperWatch(id); // the watcher's listener table holds it until the keeper exits
}
