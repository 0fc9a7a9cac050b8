// Module init: the raw binding. Every function returns a number (a result, or -errno);
// lib/ turns errnos into Error objects and owns defaults, validation and promises.
#include <sys/socket.h>

#include "args.h"
#include "env.h"
#include "spawn.h"
#include "syscalls.h"

namespace pidfd {

Napi::Value StartWatch(const Napi::CallbackInfo& info);
Napi::Value StopWatch(const Napi::CallbackInfo& info);
Napi::Value RefWatch(const Napi::CallbackInfo& info);
Napi::Value PendingWatches(const Napi::CallbackInfo& info);
Napi::Value GetInfo(const Napi::CallbackInfo& info);
Napi::Value Stat(const Napi::CallbackInfo& info);
Napi::Value ProbeExitRecord(const Napi::CallbackInfo& info);
void RegisterCgroup(Napi::Env env, Napi::Object exports);     // cgroup.cc
void RegisterSubreaper(Napi::Env env, Napi::Object exports);  // subreaper.cc

static Napi::Value Result(const Napi::CallbackInfo& info, long r) {
  return Napi::Number::New(info.Env(), static_cast<double>(r));
}

// open(pid, flags) -> pidfd | -errno
static Napi::Value Open(const Napi::CallbackInfo& info) {
  long fd = sys_pidfd_open(IntArg(info, 0), IntArg(info, 1));
  if (fd >= 0) Env::From(info.Env())->Own(static_cast<int>(fd));
  return Result(info, fd);
}

// sendSignal(pidfd, signal, flags, ifRunning) -> 0 sent | 1 not sent: ifRunning and the
// thread group has exited (a zombie takes signals silently) | -errno. One call, as kill()
// sits on the path from the user's kill to the exit.
static Napi::Value SendSignal(const Napi::CallbackInfo& info) {
  int fd = IntArg(info, 0);
  // A failed check is left to pidfd_send_signal to report (EBADF...).
  if (BoolArg(info, 3) && pidfd_state(fd) > 0) return Result(info, 1);
  return Result(info, sys_pidfd_send_signal(fd, IntArg(info, 1), IntArg(info, 2)));
}

// getfd(pidfd, targetfd) -> a new close-on-exec fd | -errno
static Napi::Value Getfd(const Napi::CallbackInfo& info) {
  return Result(info, sys_pidfd_getfd(IntArg(info, 0), IntArg(info, 1)));
}

// mrelease(pidfd) -> 0 | -errno
static Napi::Value Mrelease(const Napi::CallbackInfo& info) {
  return Result(info, sys_process_mrelease(IntArg(info, 0)));
}

// waitid(pidfd, options) -> 0 | -errno; the status itself is the watcher's business.
static Napi::Value Waitid(const Napi::CallbackInfo& info) {
  siginfo_t si;
  return Result(info, sys_waitid_pidfd(IntArg(info, 0), &si, IntArg(info, 1)));
}

// close(fd) -> 0 | -errno
static Napi::Value Close(const Napi::CallbackInfo& info) {
  int fd = IntArg(info, 0);
  Env::From(info.Env())->Disown(fd);
  return Result(info, sys_close(fd));
}

// readable(pidfd) -> 0 while the thread group runs, 1 once it has exited, 2 once it has
// also been reaped (POLLHUP, Linux 6.9+), or -errno.
static Napi::Value Readable(const Napi::CallbackInfo& info) {
  return Result(info, pidfd_state(IntArg(info, 0)));
}

// socketpair(out Int32Array[2]) -> 0 | -errno: one end for us, one for a child's stdio.
static Napi::Value SocketPair(const Napi::CallbackInfo& info) {
  size_t length;
  int32_t* out;
  if (!TypedArg(info, 0, &out, &length) || length < 2) return Result(info, -EINVAL);
  int fds[2];
  long r = ret(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds));
  if (r == 0) {
    out[0] = fds[0];
    out[1] = fds[1];
  }
  return Result(info, r);
}

static Napi::Object Init(Napi::Env env, Napi::Object exports) {
  InitEnv(env);
  const std::pair<const char*, Napi::Function::Callback> functions[] = {
      {"open", Open},
      {"sendSignal", SendSignal},
      {"close", Close},
      {"readable", Readable},
      {"socketpair", SocketPair},
      {"getfd", Getfd},
      {"mrelease", Mrelease},
      {"waitid", Waitid},
      {"getInfo", GetInfo},
      {"stat", Stat},
      {"probeExitRecord", ProbeExitRecord},
      {"spawn", Spawn},
      {"spawnMethod", SpawnMethod},
      {"watch", StartWatch},
      {"unwatch", StopWatch},
      {"refWatch", RefWatch},
      {"pendingWatches", PendingWatches},
      {"setExitCallback", SetExitCallback},
  };
  for (const auto& f : functions) exports.Set(f.first, Napi::Function::New(env, f.second, f.first));
  RegisterCgroup(env, exports);
  RegisterSubreaper(env, exports);
  return exports;
}

}  // namespace pidfd

static Napi::Object InitModule(Napi::Env env, Napi::Object exports) {
  return pidfd::Init(env, exports);
}

NODE_API_MODULE(pidfd, InitModule)
