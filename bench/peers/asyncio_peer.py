#!/usr/bin/env python3
"""asyncio peer for `npm run bench` (Python >= 3.9 for the pidfd calls).

    python3 asyncio_peer.py latency-serve     kill -> pidfd readable, a run per line
    python3 asyncio_peer.py spawn N INFLIGHT  create_subprocess_exec /bin/true

`spawn` prints exactly one JSON object on stdout. `latency-serve` answers line by
line (see latency_serve); without pidfd support its first line is "skipped REASON".
Any other failure: a message on stderr and exit status 1. See README.md.
"""
import asyncio
import json
import os
import platform
import signal
import sys
import time
import warnings

NAME = "python-asyncio"
SETTLE_S = 0.005  # let the child reach clock_nanosleep, as limit.c does


def emit(obj):
    sys.stdout.write(json.dumps(obj, separators=(",", ":")) + "\n")
    sys.stdout.flush()


def positive(text, what):
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value <= 0:
        raise ValueError(f"{what} must be a positive integer, got {text!r}")
    return value


def pidfd_unsupported():
    """Why this Python or kernel cannot run the latency test, or None."""
    if not hasattr(os, "pidfd_open"):
        return f"os.pidfd_open missing (Python {platform.python_version()}, needs 3.9+)"
    if not hasattr(signal, "pidfd_send_signal"):
        return "signal.pidfd_send_signal missing"
    try:
        os.close(os.pidfd_open(os.getpid()))
    except OSError as e:
        return f"pidfd_open: {e.strerror}"
    return None


async def latency_once(loop, reap):
    """One kill -> readable run; with reap, the reader callback also reaps the child
    (waitid(P_PIDFD)) before resolving, the same work as pidfd.spawn's exited."""
    pid = os.posix_spawn("/bin/sleep", ["sleep", "1000"], os.environ)
    fd = -1
    reaped = None
    try:
        fd = os.pidfd_open(pid)
        await asyncio.sleep(SETTLE_S)
        ready = loop.create_future()

        def on_readable():
            nonlocal reaped
            loop.remove_reader(fd)  # level-triggered: fire once only
            if reap:
                reaped = os.waitid(os.P_PIDFD, fd, os.WEXITED)
            ready.set_result(None)

        loop.add_reader(fd, on_readable)
        t0 = time.monotonic_ns()
        signal.pidfd_send_signal(fd, signal.SIGKILL)
        await ready
        t1 = time.monotonic_ns()
    except BaseException:
        if reaped is None:
            os.kill(pid, signal.SIGKILL)  # do not leave a sleeper behind
            os.waitpid(pid, 0)
        raise
    finally:
        if fd >= 0:
            loop.remove_reader(fd)
            os.close(fd)
    if reaped is None:
        _, status = os.waitpid(pid, 0)
        killed = os.waitstatus_to_exitcode(status) == -signal.SIGKILL
    else:
        killed = reaped.si_code == os.CLD_KILLED and reaped.si_status == signal.SIGKILL
    if not killed:
        raise RuntimeError(f"child {pid}: not killed by SIGKILL")
    return t1 - t0


def latency_serve():
    """Served one run at a time, so the Node worker can interleave these runs with its
    own: a first line "ready" (or "skipped REASON"), then for each line "plain" or "reap"
    on stdin, one run and its nanoseconds on stdout."""
    reason = pidfd_unsupported()
    print(f"skipped {reason}" if reason else f"ready {platform.python_version()}", flush=True)
    if reason:
        return
    loop = asyncio.new_event_loop()
    try:
        for line in sys.stdin:
            mode = line.strip()
            if mode not in ("plain", "reap"):
                raise ValueError(f"latency-serve: expected 'plain' or 'reap', got {mode!r}")
            print(loop.run_until_complete(latency_once(loop, mode == "reap")), flush=True)
    finally:
        loop.close()


def child_watcher_name():
    """The asyncio machinery that reaps create_subprocess_exec children."""
    getter = getattr(asyncio, "get_child_watcher", None)  # removed in 3.14
    if getter is None:
        return "event loop (pidfd or thread)"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        return type(getter()).__name__


async def spawn(n, inflight):
    left = n

    async def worker():
        nonlocal left
        while left > 0:
            left -= 1
            proc = await asyncio.create_subprocess_exec(
                "/bin/true",
                stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.DEVNULL,
                stderr=asyncio.subprocess.DEVNULL,
            )
            code = await proc.wait()
            if code != 0:
                raise RuntimeError(f"/bin/true exited with {code}")

    t0 = time.monotonic_ns()
    await asyncio.gather(*(worker() for _ in range(min(n, inflight))))
    t1 = time.monotonic_ns()
    return {
        "name": NAME,
        "n": n,
        "inflight": inflight,
        "elapsed_ns": t1 - t0,
        "child_watcher": child_watcher_name(),
    }


def main(argv):
    usage = "usage: asyncio_peer.py latency-serve | spawn N INFLIGHT"
    if argv == ["latency-serve"]:
        latency_serve()
        return 0
    if len(argv) == 3 and argv[0] == "spawn":
        result = asyncio.run(spawn(positive(argv[1], "N"), positive(argv[2], "INFLIGHT")))
    else:
        raise ValueError(usage)
    result["python"] = platform.python_version()
    emit(result)
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv[1:]))
    except Exception as e:  # any failure: message on stderr, exit 1
        print(f"asyncio_peer: {type(e).__name__}: {e}", file=sys.stderr)
        sys.exit(1)
