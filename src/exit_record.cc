#include "exit_record.h"

#include <sys/epoll.h>
#include <sys/ioctl.h>

#include <algorithm>
#include <cstring>
#include <unordered_set>
#include <vector>

#include "syscalls.h"

namespace pidfd {

constexpr uint64_t kInfoExit = 8;  // PIDFD_INFO_EXIT

int32_t ReadExitRecord(int fd) {
  uint64_t info[PIDFD_INFO_SIZE / 8] = {kInfoExit};
  if (ioctl(fd, PIDFD_GET_INFO_IOCTL, info) < 0 || !(info[0] & kInfoExit)) return -1;
  int32_t status;
  memcpy(&status, reinterpret_cast<char*>(info) + 60, sizeof status);  // exit_code
  return status;
}

// One per environment, created on first use. The pidfds of exited-but-unreaped processes
// sit in an edge-triggered epoll set, which wakes once more when the process is reaped;
// a timer bounds the wait for parents that never reap. Every step is O(1) per watch but
// the timer's, which runs at most once per deadline: a kill storm puts thousands here.
struct ReapWaiter {
  Env* env;
  int epoll_fd;
  Source poll;  // the epoll set, in the environment's loop
  Timer timer;
  uint64_t armed = UINT64_MAX;  // the deadline the timer is set for
  std::unordered_set<int32_t> waiting;  // watch ids
  int open_handles = 2;
};

static void Forget(ReapWaiter* r, Watch* w) {
  epoll_ctl(r->epoll_fd, EPOLL_CTL_DEL, w->fd, nullptr);
  r->waiting.erase(w->id);
  w->awaiting_reap = false;
  if (r->waiting.empty()) {
    r->env->loop->StopTimer(&r->timer);  // an armed timer would keep the loop alive
    r->armed = UINT64_MAX;
  }
}

static void Finish(ReapWaiter* r, Watch* w) {
  Forget(r, w);
  Deliver(w, ExitEvent{w->id, ReadExitRecord(w->fd), 0});
}

static Watch* Waiting(ReapWaiter* r, int32_t id) {
  auto it = r->env->watches.find(id);
  return it != r->env->watches.end() && it->second->awaiting_reap ? it->second : nullptr;
}

static void OnDeadline(Timer* timer);

// Makes the timer fire by deadline (a timer that fires early just looks again).
static void ArmTimer(ReapWaiter* r, uint64_t deadline) {
  if (deadline >= r->armed) return;
  r->armed = deadline;
  uint64_t now = r->env->loop->Now();
  r->env->loop->StartTimer(&r->timer, deadline > now ? deadline - now : 0, OnDeadline);
}

static void OnDeadline(Timer* timer) {
  auto* r = static_cast<ReapWaiter*>(timer->data);
  r->armed = UINT64_MAX;
  uint64_t now = r->env->loop->Now(), next = UINT64_MAX;
  std::vector<int32_t> ids(r->waiting.begin(), r->waiting.end());
  for (int32_t id : ids) {
    Watch* w = Waiting(r, id);
    if (w == nullptr) continue;
    if (w->deadline <= now) Finish(r, w);
    else next = std::min(next, w->deadline);
  }
  if (next != UINT64_MAX) ArmTimer(r, next);
  r->env->Flush();  // uv: a timer runs after this turn's check phase
}

static void OnReapWakeup(Source* source, int, int) {
  auto* r = static_cast<ReapWaiter*>(source->data);
  struct epoll_event events[64];
  int n;
  do {
    n = epoll_wait(r->epoll_fd, events, 64, 0);
    for (int i = 0; i < n; i++) {
      Watch* w = Waiting(r, static_cast<int32_t>(events[i].data.u32));
      if (w != nullptr && (events[i].events & EPOLLHUP)) Finish(r, w);
    }
  } while (n == 64);
}

static ReapWaiter* Waiter(Env* s) {
  if (s->reap_waiter != nullptr) return s->reap_waiter;
  int fd = epoll_create1(EPOLL_CLOEXEC);
  if (fd < 0) return nullptr;
  auto* r = new ReapWaiter();
  r->env = s;
  r->epoll_fd = fd;
  r->poll.data = r->timer.data = r;
  if (s->loop->Add(&r->poll, fd) != 0) {
    sys_close(fd);
    delete r;
    return nullptr;
  }
  s->loop->AddTimer(&r->timer);
  s->loop->SetRef(&r->poll, false);  // the timer bounds the wait
  s->loop->Start(&r->poll, kReadable, OnReapWakeup);
  return s->reap_waiter = r;
}

void AwaitReap(Watch* w) {
  ReapWaiter* r = Waiter(w->env);
  struct epoll_event event;
  event.events = EPOLLIN | EPOLLET;
  event.data.u64 = static_cast<uint32_t>(w->id);
  if (r == nullptr || epoll_ctl(r->epoll_fd, EPOLL_CTL_ADD, w->fd, &event) < 0) {
    return Deliver(w, ExitEvent{w->id, ReadExitRecord(w->fd), 0});
  }
  // Added after the readiness check: a reap in between is reported at once by the add.
  w->awaiting_reap = true;
  w->deadline = w->env->loop->Now() + w->record_wait_ms;
  r->waiting.insert(w->id);
  ArmTimer(r, w->deadline);
}

void ForgetReap(Watch* w) {
  ReapWaiter* r = w->env->reap_waiter;
  if (w->awaiting_reap && r != nullptr) Forget(r, w);
}

static void OnWaiterClosed(ReapWaiter* r) {
  if (--r->open_handles == 0) {
    sys_close(r->epoll_fd);
    delete r;
  }
}

void CloseReapWaiter(Env* s) {
  ReapWaiter* r = s->reap_waiter;
  if (r == nullptr) return;
  s->reap_waiter = nullptr;
  s->loop->Close(&r->poll, [](Source* source) { OnWaiterClosed(static_cast<ReapWaiter*>(source->data)); });
  s->loop->CloseTimer(&r->timer, [](Timer* timer) { OnWaiterClosed(static_cast<ReapWaiter*>(timer->data)); });
}

}  // namespace pidfd
