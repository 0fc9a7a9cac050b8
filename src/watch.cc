// The exit watcher: a uv_poll_t on a pidfd in the environment's own loop. A pidfd polls
// readable once its whole thread group has exited (a zombie counts). From watch() until
// its uv handle is closed the watcher owns the fd, and closes it only after uv_close.
#include "watch.h"

#include <cstring>

#include "args.h"
#include "cgroup.h"
#include "exit_record.h"
#include "reaper.h"
#include "syscalls.h"

namespace pidfd {

static void OnClosed(uv_handle_t* handle) {
  Watch* w = static_cast<Watch*>(handle->data);
  if (w->fd >= 0) sys_close(w->fd);
  Env* s = w->env;
  delete w;
  s->HandleClosed();
}

static void Close(Watch* w) {
  if (w->closing) return;
  w->closing = true;
  ForgetReap(w);
  if (w->mode == kModeCgroup) ForgetCgroup(w);
  w->env->watches.erase(w->id);
  uv_close(reinterpret_cast<uv_handle_t*>(&w->poll), OnClosed);
}

void Deliver(Watch* w, const ExitEvent& event) {
  w->fired = true;
  if (w->orphaned) return Close(w);
  w->env->Queue(event);
}

// A wait(2)-style status word from waitid's siginfo.
static int32_t WaitStatus(const siginfo_t& si) {
  if (si.si_code == CLD_EXITED) return (si.si_status & 0xff) << 8;
  return si.si_status | (si.si_code == CLD_DUMPED ? 0x80 : 0);
}

// Collects our child's wait status; returns false if it is not waitable yet.
static bool Reap(Watch* w, ExitEvent* event) {
  siginfo_t si;
  memset(&si, 0, sizeof si);
  long r = sys_wait_child(w->fd, w->pid, &si, WEXITED | WNOHANG);
  if (r == -ECHILD) {
    // Reaped by someone else (SIGCHLD ignored, a waitpid(-1) elsewhere): the kernel may
    // still hold its status.
    event->status = ReadExitRecord(w->fd);
    if (event->status < 0) event->error = static_cast<int32_t>(r);
    return true;
  }
  if (r < 0) {
    event->error = static_cast<int32_t>(r);
    return true;
  }
  if (si.si_pid == 0) return false;
  event->status = WaitStatus(si);
  return true;
}

// waitid(WNOWAIT) on a child of this process that is not ours to reap (child_process
// spawned it; libuv reaps it on SIGCHLD): 0 with si_pid 0 while it runs, 0 with its status
// once it has exited, leaving the reap to its owner; ECHILD for anyone else's process.
// Through the pidfd only, never by pid.
static long PeekChild(int fd, siginfo_t* si) {
  memset(si, 0, sizeof *si);
  return sys_wait_child(fd, 0, si, WEXITED | WNOHANG | WNOWAIT);
}

// Such a child's exact status at its exit, rather than after its owner's reap.
static bool PeekChildStatus(Watch* w, ExitEvent* event) {
  siginfo_t si;
  if (!w->own_child || PeekChild(w->fd, &si) != 0 || si.si_pid == 0) return false;
  event->status = WaitStatus(si);
  return true;
}

static void OnReadable(uv_poll_t* handle, int status, int /*events*/) {
  Watch* w = static_cast<Watch*>(handle->data);
  if (w->fired) return;  // still in epoll until its delivery is done (StopDelivered)
  ExitEvent event{w->id, -1, status < 0 ? status : 0};
  if (status == 0 && w->mode == kModeCgroup) {  // a cgroup.events change: is the tree empty?
    int bits = CgroupEvents(w->fd);
    if (bits >= 0 && (bits & kCgroupPopulated)) return;
    event.error = bits < 0 ? bits : CgroupEmptied(w);
    return Deliver(w, event);
  }
  if (status == 0 && w->mode == kModeReap && !Reap(w, &event)) return;  // not a zombie yet
  if (status == 0 && w->mode != kModeReap && PeekChildStatus(w, &event)) return Deliver(w, event);
  if (status == 0 && w->mode == kModeRecord) {
    event.status = ReadExitRecord(w->fd);  // there is one once the parent has reaped it
    if (event.status < 0) {
      uv_poll_stop(handle);
      return AwaitReap(w);
    }
  }
  Deliver(w, event);
}

void StopDelivered(Env* s, const std::vector<ExitEvent>& events) {
  for (const ExitEvent& event : events) {
    auto it = s->watches.find(event.id);
    if (it == s->watches.end()) continue;  // closed meanwhile
    uv_poll_t* poll = &it->second->poll;
    if (uv_is_active(reinterpret_cast<uv_handle_t*>(poll))) uv_poll_stop(poll);
  }
}

int Watch::Start(Env* s, int fd, int32_t id, int mode, bool ref, uint64_t record_wait_ms, int32_t pid) {
  auto* w = new Watch();
  w->env = s;
  w->fd = fd;
  w->id = id;
  w->mode = mode;
  w->record_wait_ms = record_wait_ms;
  w->pid = pid;
  siginfo_t si;
  w->own_child = mode != kModeReap && mode != kModeCgroup && PeekChild(fd, &si) == 0;  // asked once, not per exit
  int r = uv_poll_init(s->loop, &w->poll, fd);  // fails before the handle exists
  if (r != 0) {
    delete w;
    return r;
  }
  w->poll.data = w;
  s->Disown(fd);  // the watcher owns it now
  s->open_handles++;
  s->watches[id] = w;
  // A regular file always polls readable: a cgroup.events change comes as POLLPRI.
  r = uv_poll_start(&w->poll, mode == kModeCgroup ? UV_PRIORITIZED : UV_READABLE, OnReadable);
  if (r != 0) {
    w->fd = -1;  // still the caller's: the close callback must not close it
    Close(w);
    return r;
  }
  if (mode == kModeCgroup) OnReadable(&w->poll, 0, 0);  // emptied before we looked?
  if (!ref) uv_unref(reinterpret_cast<uv_handle_t*>(&w->poll));
  return 0;
}

// watch(fd, id, mode, ref, recordWaitMs, pid) -> 0 | -errno. On success the watcher owns fd.
Napi::Value StartWatch(const Napi::CallbackInfo& info) {
  int r = Watch::Start(Env::From(info.Env()), IntArg(info, 0), IntArg(info, 1, 0),
                       IntArg(info, 2, kModePlain), BoolArg(info, 3),
                       static_cast<uint64_t>(Int64Arg(info, 4, 0)), IntArg(info, 5));
  return Napi::Number::New(info.Env(), r);
}

static Watch* Find(const Napi::CallbackInfo& info) {
  Env* s = Env::From(info.Env());
  auto it = s->watches.find(IntArg(info, 0, 0));
  return it == s->watches.end() ? nullptr : it->second;
}

// unwatch(id): the handle is closed. An unreaped child of ours stays watched, unref'd,
// until it exits and is reaped, so closing a handle never leaves a zombie behind; a tree's
// cgroup likewise, until it is empty and removed.
Napi::Value StopWatch(const Napi::CallbackInfo& info) {
  Watch* w = Find(info);
  if (w != nullptr) {
    if ((w->mode == kModeReap || w->mode == kModeCgroup) && !w->fired) {
      w->orphaned = true;
      uv_unref(reinterpret_cast<uv_handle_t*>(&w->poll));
    } else {
      Close(w);
    }
  }
  return info.Env().Undefined();
}

// refWatch(id, ref): whether a pending watch keeps the event loop alive.
Napi::Value RefWatch(const Napi::CallbackInfo& info) {
  Watch* w = Find(info);
  if (w != nullptr && !w->orphaned) {
    auto* h = reinterpret_cast<uv_handle_t*>(&w->poll);
    if (BoolArg(info, 1)) uv_ref(h);
    else uv_unref(h);
  }
  return info.Env().Undefined();
}

// pendingWatches() -> how many watches still keep the event loop alive (tests, debugging).
Napi::Value PendingWatches(const Napi::CallbackInfo& info) {
  Env* s = Env::From(info.Env());
  uint32_t count = 0;
  for (auto& entry : s->watches) {
    auto* h = reinterpret_cast<uv_handle_t*>(&entry.second->poll);
    if (uv_is_active(h) && uv_has_ref(h) && !entry.second->fired) count++;
  }
  return Napi::Number::New(info.Env(), count);
}

void CloseAllWatches(Env* s) {
  std::vector<Watch*> all;
  for (auto& entry : s->watches) all.push_back(entry.second);
  for (Watch* w : all) {
    if ((w->mode == kModeReap || w->mode == kModeCgroup) && !w->fired) {
      uv_poll_stop(&w->poll);  // out of epoll before the fd changes hands
      if (w->mode == kModeReap) AdoptOrphan(w->fd, w->pid);
      else AdoptCgroupWatch(w);
      w->fd = -1;
    }
    Close(w);
  }
  CloseReapWaiter(s);
}

}  // namespace pidfd
