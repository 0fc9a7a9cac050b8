// Which JavaScript runtime loaded us, and what differs there: how exits reach JS, and how a
// child's stdio fd becomes a stream. Everything else is the same code on Node, Deno and Bun.
import * as fs from 'node:fs';
import * as net from 'node:net';

export type Runtime = 'node' | 'deno' | 'bun';

export const runtime: Runtime = 'bun' in process.versions ? 'bun' : 'deno' in process.versions ? 'deno' : 'node';

/**
 * How exits reach JS (src/loop.h): 'thread' (one epoll thread and a threadsafe function)
 * where the runtime has no real libuv loop (Bun stubs uv_poll; Deno's is a thread per
 * handle) or PIDFD_DELIVERY=thread asks for it; else 'uv' (a uv_poll per watch in Node's own
 * loop, the fastest there).
 */
export const delivery: 'thread' | 'uv' = runtime !== 'node' || process.env.PIDFD_DELIVERY === 'thread' ? 'thread' : 'uv';

/**
 * Our end of a child's stdio socketpair as a stream: a net.Socket, as child_process gives.
 * Bun's net.Socket cannot adopt an fd (it never reads), so there it is an fs stream on the
 * same fd: the same Readable/Writable interface, the same EOF and close.
 */
export function stdioStream(fd: number, slot: number): net.Socket {
  const readable = slot !== 0;
  if (runtime === 'bun') {
    const stream = readable ? fs.createReadStream('', { fd }) : fs.createWriteStream('', { fd });
    return stream as unknown as net.Socket;
  }
  return new net.Socket({ fd, readable, writable: slot !== 1 && slot !== 2 });
}

/**
 * Lets go of a child's stdin once the child is gone. On Bun an end()ed fs stream closes by
 * itself, and destroying it while it does makes Bun emit an error nobody listens to.
 */
export function releaseStdin(stdin: net.Socket): void {
  if (runtime === 'bun' && stdin.writableEnded) return;
  stdin.destroy();
}
