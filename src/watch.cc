// The exit watcher: a pidfd's source in the environment's loop (loop.h). A pidfd polls
// readable once its whole thread group has exited (a zombie counts). From watch() until
// its source is closed the watcher owns the fd, and closes it only in the close callback.
#include "watch.h"

#include <sys/mman.h>

#include <cstring>

#include "args.h"
#include "cgroup.h"
#include "exit_record.h"
#include "keeper.h"
#include "reaper.h"
#include "syscalls.h"

namespace pidfd {

static void OnClosed(Source* source) {
  Watch* w = static_cast<Watch*>(source->data);
  if (w->fd >= 0) sys_close(w->fd);
  if (w->extra_fd >= 0) sys_close(w->extra_fd);
  if (w->stack != nullptr) munmap(w->stack, w->stack_size);
  delete w;
}

static void Close(Watch* w) {
  if (w->closing) return;
  w->closing = true;
  ForgetReap(w);
  if (w->mode == kModeCgroup) ForgetCgroup(w);
  w->env->watches.erase(w->id);
  w->env->loop->Close(&w->source, OnClosed);
}

void Deliver(Watch* w, const ExitEvent& event) {
  w->fired = true;
  if (w->orphaned) return Close(w);
  w->env->Queue(event);
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
  event->status = pidfd_wait_status(&si);
  return true;
}

// The root's status from its keeper; false until it has come. EOF without one: the keeper
// died first (killed), and the status is unknown.
static bool ReadReport(Watch* w, ExitEvent* event) {
  keeper_record record;
  long n;
  do n = ret(syscall(SYS_read, w->fd, &record, sizeof record));
  while (n == -EINTR);
  if (n == -EAGAIN) return false;
  if (n == sizeof record && record.kind == KEEPER_ROOT_EXITED) event->status = record.a;
  else if (n == sizeof record) return false;
  else event->error = -ECHILD;
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
  event->status = pidfd_wait_status(&si);
  return true;
}

static void OnReadable(Source* source, int status, int /*events*/) {
  Watch* w = static_cast<Watch*>(source->data);
  if (w->fired) return;  // still in epoll until its delivery is done (StopDelivered)
  ExitEvent event{w->id, -1, status < 0 ? status : 0};
  if (status == 0 && w->mode == kModeCgroup) {  // a cgroup.events change: is the tree empty?
    int bits = CgroupEvents(w->fd);
    if (bits >= 0 && (bits & kCgroupPopulated)) return;
    event.error = bits < 0 ? bits : CgroupEmptied(w);
    return Deliver(w, event);
  }
  if (status == 0 && w->mode == kModeReport && !ReadReport(w, &event)) return;
  if (status == 0 && w->mode == kModeReap && !Reap(w, &event)) return;  // not a zombie yet
  if (status == 0 && w->mode != kModeReap && w->mode != kModeReport && PeekChildStatus(w, &event)) return Deliver(w, event);
  if (status == 0 && w->mode == kModeRecord) {
    event.status = ReadExitRecord(w->fd);  // there is one once the parent has reaped it
    if (event.status < 0) {
      w->env->loop->Stop(source);
      return AwaitReap(w);
    }
  }
  Deliver(w, event);
}

void StopDelivered(Env* s, const std::vector<ExitEvent>& events) {
  for (const ExitEvent& event : events) {
    auto it = s->watches.find(event.id);
    if (it == s->watches.end()) continue;  // closed meanwhile
    Source* source = &it->second->source;
    if (source->events != 0) s->loop->Stop(source);
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
  w->own_child = mode != kModeReap && mode != kModeCgroup && mode != kModeReport && PeekChild(fd, &si) == 0;  // asked once, not per exit
  w->source.data = w;
  int r = s->loop->Add(&w->source, fd);  // fails before there is anything to close
  if (r != 0) {
    delete w;
    return r;
  }
  s->Disown(fd);  // the watcher owns it now
  s->watches[id] = w;
  if (!ref) s->loop->SetRef(&w->source, false);
  // A regular file always polls readable: a cgroup.events change comes as POLLPRI.
  r = s->loop->Start(&w->source, mode == kModeCgroup ? kPriority : kReadable, OnReadable);
  if (r != 0) {
    w->fd = -1;  // still the caller's: the close callback must not close it
    Close(w);
    return r;
  }
  if (mode == kModeCgroup) OnReadable(&w->source, 0, 0);  // emptied before we looked?
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
      w->env->loop->SetRef(&w->source, false);
    } else {
      Close(w);
    }
  }
  return info.Env().Undefined();
}

// refWatch(id, ref): whether a pending watch keeps the event loop alive.
Napi::Value RefWatch(const Napi::CallbackInfo& info) {
  Watch* w = Find(info);
  if (w != nullptr && !w->orphaned) w->env->loop->SetRef(&w->source, BoolArg(info, 1));
  return info.Env().Undefined();
}

// pendingWatches() -> how many watches still keep the event loop alive (tests, debugging).
Napi::Value PendingWatches(const Napi::CallbackInfo& info) {
  Env* s = Env::From(info.Env());
  uint32_t count = 0;
  for (auto& entry : s->watches) {
    const Source& source = entry.second->source;
    if (source.events != 0 && source.ref && !entry.second->fired) count++;
  }
  return Napi::Number::New(info.Env(), count);
}

void CloseAllWatches(Env* s) {
  std::vector<Watch*> all;
  for (auto& entry : s->watches) all.push_back(entry.second);
  for (Watch* w : all) {
    if ((w->mode == kModeReap || w->mode == kModeCgroup) && !w->fired) {
      s->loop->Stop(&w->source);  // out of epoll before the fd changes hands
      if (w->mode == kModeReap) AdoptOrphan(w->fd, w->pid, w->stack, w->stack_size);
      else AdoptCgroupWatch(w);
      w->stack = nullptr;  // the reaper unmaps it after the reap
      w->fd = -1;
    }
    Close(w);
  }
  CloseReapWaiter(s);
}

}  // namespace pidfd
