// How a readiness event reaches JS: the one thing that differs between runtimes. Node has a
// real libuv loop (loop_uv.cc: a uv_poll_t per fd, a uv_check per turn); Bun and Deno do
// not (loop_thread.cc: one epoll thread per environment and a threadsafe function). Chosen
// once per environment; watches, reaping, exit records and batching sit above it, shared.
//
// Every call, and every callback, happens on the environment's JS thread.
#pragma once

#include <napi.h>

#include <cstdint>

namespace pidfd {

struct Env;

enum ReadyEvents : int {
  kReadable = 1,  // POLLIN: a pidfd's thread group has exited
  kPriority = 2,  // POLLPRI: e.g. a cgroup.events file changed
};

struct Source;
using ReadyFn = void (*)(Source* source, int status, int events);  // status: 0 or -errno
using SourceClosedFn = void (*)(Source* source);

// One watched fd. Its owner (a Watch, the exit-record waiter) embeds it and sets data;
// the loop's per-source state hangs off impl between Add() and the close callback.
struct Source {
  void* data = nullptr;
  void* impl = nullptr;
  int fd = -1;
  int events = 0;  // being watched for now; 0 when stopped
  bool ref = true;
  ReadyFn on_ready = nullptr;
  SourceClosedFn on_closed = nullptr;
};

// A one-shot timer in the loop's clock (milliseconds).
struct Timer;
using TimerFn = void (*)(Timer* timer);
struct Timer {
  void* data = nullptr;
  void* impl = nullptr;
  uint64_t deadline = UINT64_MAX;  // when started; UINT64_MAX when not
  TimerFn on_fire = nullptr;
  void (*on_closed)(Timer* timer) = nullptr;
};

class Loop {
 public:
  virtual ~Loop() = default;

  // Sources. Add() fails (-errno) before anything needs closing. Start() may be called
  // again after Stop(). A ready source is reported again each turn until stopped, as a
  // level-triggered poll would. Close() is asynchronous: on_closed runs later, never from
  // inside Close(); the fd stays the owner's to close there.
  virtual int Add(Source* source, int fd) = 0;
  virtual int Start(Source* source, int events, ReadyFn on_ready) = 0;
  virtual void Stop(Source* source) = 0;
  virtual void SetRef(Source* source, bool ref) = 0;
  virtual void Close(Source* source, SourceClosedFn on_closed) = 0;

  virtual void AddTimer(Timer* timer) = 0;  // ref'd while started: it bounds a wait
  virtual void StartTimer(Timer* timer, uint64_t delay_ms, TimerFn on_fire) = 0;
  virtual void StopTimer(Timer* timer) = 0;
  virtual void CloseTimer(Timer* timer, void (*on_closed)(Timer*)) = 0;
  virtual uint64_t Now() = 0;

  // Env::Flush() runs soon: at the end of this turn (uv's check phase), or at the end of
  // the current delivery (thread). Delivery may open a callback scope or not: the thread
  // path runs inside the threadsafe function's own.
  virtual void RequestFlush() = 0;
  virtual bool NeedsCallbackScope() const = 0;

  // Environment teardown: closes the loop's own handles; each one counts as an
  // Env::HandleClosed() when done (the thread loop's: before returning).
  virtual void Teardown() = 0;

  const char* name;  // "uv" or "thread"
};

// Returns nullptr with a pending JS exception when the loop cannot be made.
Loop* NewUvLoop(Env* env);
Loop* NewThreadLoop(Env* env, napi_value resource);

}  // namespace pidfd
