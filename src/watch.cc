// The exit watcher: a uv_poll_t on a pidfd in the environment's own loop. A pidfd polls
// readable once its whole thread group has exited (a zombie counts). From watch() until
// its uv handle is closed the watcher owns the fd, and closes it only after uv_close.
#include "watch.h"

#include <cstring>

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
  w->env->watches.erase(w->id);
  uv_close(reinterpret_cast<uv_handle_t*>(&w->poll), OnClosed);
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
  if (si.si_code == CLD_EXITED) event->status = (si.si_status & 0xff) << 8;
  else event->status = si.si_status | (si.si_code == CLD_DUMPED ? 0x80 : 0);
  return true;
}

static void OnReadable(uv_poll_t* handle, int status, int /*events*/) {
  Watch* w = static_cast<Watch*>(handle->data);
  ExitEvent event{w->id, -1, status < 0 ? status : 0};
  if (status == 0 && w->mode == kModeReap && !Reap(w, &event)) return;  // not a zombie yet
  uv_poll_stop(handle);
  if (status == 0 && w->mode == kModeRecord) {
    if (!IsReaped(w->fd)) return AwaitReap(w);
    event.status = ReadExitRecord(w->fd);
  }
  Deliver(w, event);
}

// watch(fd, id, mode, ref, recordWaitMs, pid) -> 0 | -errno. On success the watcher owns fd.
Napi::Value StartWatch(const Napi::CallbackInfo& info) {
  Env* s = Env::From(info.Env());
  auto* w = new Watch();
  w->env = s;
  w->fd = info[0].As<Napi::Number>().Int32Value();
  w->id = info[1].As<Napi::Number>().Int32Value();
  w->mode = info[2].As<Napi::Number>().Int32Value();
  w->record_wait_ms = static_cast<uint64_t>(info[4].As<Napi::Number>().Int64Value());
  w->pid = info[5].As<Napi::Number>().Int32Value();
  int r = uv_poll_init(s->loop, &w->poll, w->fd);  // fails before the handle exists
  if (r != 0) {
    delete w;
    return Napi::Number::New(info.Env(), r);
  }
  w->poll.data = w;
  s->open_handles++;
  s->watches[w->id] = w;
  r = uv_poll_start(&w->poll, UV_READABLE, OnReadable);
  if (r != 0) {
    w->fd = -1;  // still the caller's: the close callback must not close it
    Close(w);
    return Napi::Number::New(info.Env(), r);
  }
  if (!info[3].ToBoolean()) uv_unref(reinterpret_cast<uv_handle_t*>(&w->poll));
  return Napi::Number::New(info.Env(), 0);
}

static Watch* Find(const Napi::CallbackInfo& info) {
  Env* s = Env::From(info.Env());
  auto it = s->watches.find(info[0].As<Napi::Number>().Int32Value());
  return it == s->watches.end() ? nullptr : it->second;
}

// unwatch(id): the handle is closed. An unreaped child of ours stays watched, unref'd,
// until it exits and is reaped, so closing a handle never leaves a zombie behind.
Napi::Value StopWatch(const Napi::CallbackInfo& info) {
  Watch* w = Find(info);
  if (w != nullptr) {
    if (w->mode == kModeReap && !w->fired) {
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
    if (info[1].ToBoolean()) uv_ref(h);
    else uv_unref(h);
  }
  return info.Env().Undefined();
}

void CloseAllWatches(Env* s) {
  std::vector<Watch*> all;
  for (auto& entry : s->watches) all.push_back(entry.second);
  for (Watch* w : all) {
    if (w->mode == kModeReap && !w->fired) {
      uv_poll_stop(&w->poll);  // out of epoll before the fd changes hands
      AdoptOrphan(w->fd, w->pid);
      w->fd = -1;
    }
    Close(w);
  }
  CloseReapWaiter(s);
}

}  // namespace pidfd
