// The portable delivery path, for runtimes without a real libuv loop (Bun, Deno; Node with
// PIDFD_DELIVERY=thread): one epoll thread per environment for all of its sources, and
// one Node-API threadsafe function that hands each batch to the JS thread. The thread only
// waits and collects; every callback (waitid, exit records, the JS call) runs on the JS
// thread, so the watches' rules are the same on both paths.
//
// Sources are EPOLLONESHOT and re-armed after each delivery that leaves them started: one
// report per delivery, like a level-triggered poll per loop turn, and a thread that never
// spins while JS is busy. Events carry a token, never a pointer: a source closed while
// its event was in flight is simply not found.
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/prctl.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <mutex>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "env.h"
#include "loop.h"
#include "pthread_compat.h"
#include "syscalls.h"

namespace pidfd {

namespace {

constexpr uint64_t kWakeToken = 0;

uint64_t MonotonicMs() {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000 + static_cast<uint64_t>(ts.tv_nsec) / 1000000;
}

uint32_t ToEpoll(int events) {
  uint32_t want = EPOLLONESHOT;
  if (events & kReadable) want |= EPOLLIN;
  if (events & kPriority) want |= EPOLLPRI;
  return want;
}

// As uv_poll does: an error or hangup wakes whatever the source waits for.
int FromEpoll(uint32_t got, int wanted) {
  if (got & (EPOLLERR | EPOLLHUP)) return wanted;
  return ((got & EPOLLIN) ? kReadable : 0) | ((got & EPOLLPRI) ? kPriority : 0);
}

uint64_t TokenOf(const Source* source) { return reinterpret_cast<uintptr_t>(source->impl); }

// The loops alive now. A runtime may still dispatch a queued call after we released the
// threadsafe function (Bun does, after napi_tsfn_abort): such a call finds its loop gone.
std::mutex live_mutex;
std::unordered_set<const void*>& live = *new std::unordered_set<const void*>();

bool Alive(const void* loop) {
  std::lock_guard<std::mutex> lock(live_mutex);
  return live.count(loop) != 0;
}

class ThreadLoop final : public Loop {
 public:
  explicit ThreadLoop(Env* env) : env_(env) {
    name = "thread";
    std::lock_guard<std::mutex> lock(live_mutex);
    live.insert(this);
  }

  // Creates the epoll set, the threadsafe function and the thread; false with a pending
  // JS exception.
  bool Init(napi_value resource) {
    napi_env env = env_->env;
    epoll_fd_ = epoll_create1(EPOLL_CLOEXEC);
    wake_fd_ = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    struct epoll_event wake = {};
    wake.events = EPOLLIN;
    wake.data.u64 = kWakeToken;
    if (epoll_fd_ < 0 || wake_fd_ < 0 || epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, wake_fd_, &wake) < 0) {
      return Fail("pidfd: cannot create the epoll set for exit delivery");
    }
    napi_value name;
    napi_create_string_utf8(env, "pidfd:exit", NAPI_AUTO_LENGTH, &name);
    if (napi_create_threadsafe_function(env, nullptr, resource, name, 0, 1, nullptr, nullptr, this, CallJs, &tsfn_) != napi_ok) {
      tsfn_ = nullptr;
      return Fail("pidfd: cannot create the threadsafe function for exit delivery");
    }
    napi_unref_threadsafe_function(env, tsfn_);  // only ref'd watches keep the loop alive
    if (pthread_create(&thread_, nullptr, Run, this) != 0) {
      return Fail("pidfd: cannot start the exit delivery thread");
    }
    thread_started_ = true;
    return true;
  }

  ~ThreadLoop() override {
    Shutdown();
    std::lock_guard<std::mutex> lock(live_mutex);
    live.erase(this);
  }

  int Add(Source* source, int fd) override {
    uint64_t token = next_token_++;
    source->impl = reinterpret_cast<void*>(static_cast<uintptr_t>(token));
    source->fd = fd;
    sources_[token] = source;
    env_->open_handles++;
    return 0;
  }

  int Start(Source* source, int events, ReadyFn on_ready) override {
    bool before = Counted(source);
    source->on_ready = on_ready;
    struct epoll_event event = {};
    event.events = ToEpoll(events);
    event.data.u64 = TokenOf(source);
    int op = source->events != 0 ? EPOLL_CTL_MOD : EPOLL_CTL_ADD;
    if (epoll_ctl(epoll_fd_, op, source->fd, &event) < 0) return -errno;
    source->events = events;
    Recount(before, source);
    return 0;
  }

  void Stop(Source* source) override {
    if (source->events == 0) return;
    bool before = Counted(source);
    epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, source->fd, nullptr);
    source->events = 0;
    Recount(before, source);
  }

  void SetRef(Source* source, bool ref) override {
    bool before = Counted(source);
    source->ref = ref;
    Recount(before, source);
  }

  void Close(Source* source, SourceClosedFn on_closed) override {
    Stop(source);
    source->on_closed = on_closed;
    sources_.erase(TokenOf(source));
    closing_sources_.push_back(source);
    if (!delivering_) RequestCall();
  }

  void AddTimer(Timer* timer) override {
    timers_.push_back(timer);
    env_->open_handles++;
  }

  void StartTimer(Timer* timer, uint64_t delay_ms, TimerFn on_fire) override {
    if (timer->deadline == UINT64_MAX) AdjustRefs(1);
    timer->on_fire = on_fire;
    timer->deadline = MonotonicMs() + delay_ms;
    WakeBy(timer->deadline);
  }

  void StopTimer(Timer* timer) override {
    if (timer->deadline != UINT64_MAX) AdjustRefs(-1);
    timer->deadline = UINT64_MAX;  // the thread may still wake for it: nothing is due then
  }

  void CloseTimer(Timer* timer, void (*on_closed)(Timer*)) override {
    StopTimer(timer);
    timer->on_closed = on_closed;
    timers_.erase(std::remove(timers_.begin(), timers_.end(), timer), timers_.end());
    closing_timers_.push_back(timer);
    if (!delivering_) RequestCall();
  }

  uint64_t Now() override { return MonotonicMs(); }

  void RequestFlush() override {
    if (!delivering_) RequestCall();  // a delivery always ends with a flush
  }

  bool NeedsCallbackScope() const override { return false; }  // the tsfn call has its own

  void Teardown() override {
    Shutdown();
    RunClosing();
  }

 private:
  Env* env_;
  int epoll_fd_ = -1;
  int wake_fd_ = -1;
  pthread_t thread_;
  bool thread_started_ = false;
  napi_threadsafe_function tsfn_ = nullptr;

  // Shared with the thread, under mutex_.
  std::mutex mutex_;
  std::vector<struct epoll_event> ready_;
  uint64_t wake_at_ = UINT64_MAX;  // the earliest timer deadline
  bool timer_due_ = false;
  bool call_pending_ = false;      // a tsfn call is queued and has not started draining
  bool stopping_ = false;

  // The JS thread's own.
  std::unordered_map<uint64_t, Source*> sources_;
  uint64_t next_token_ = kWakeToken + 1;
  std::vector<Timer*> timers_;
  std::vector<Source*> closing_sources_;
  std::vector<Timer*> closing_timers_;
  size_t refs_ = 0;        // started, ref'd sources and started timers
  bool tsfn_ref_ = false;
  bool delivering_ = false;

  bool Fail(const char* message) {
    Shutdown();
    napi_throw_error(env_->env, "ERR_PIDFD_RUNTIME", message);
    return false;
  }

  static bool Counted(const Source* source) { return source->events != 0 && source->ref; }

  void Recount(bool before, const Source* source) {
    bool after = Counted(source);
    if (before != after) AdjustRefs(after ? 1 : -1);
  }

  // ref/unref map to the threadsafe function: it keeps the runtime alive while any ref'd
  // watch or timer is pending.
  void AdjustRefs(int delta) {
    refs_ += delta;
    bool want = refs_ > 0;
    if (want == tsfn_ref_ || tsfn_ == nullptr) return;
    tsfn_ref_ = want;
    if (want) napi_ref_threadsafe_function(env_->env, tsfn_);
    else napi_unref_threadsafe_function(env_->env, tsfn_);
  }

  void Wake() {
    uint64_t one = 1;
    if (write(wake_fd_, &one, sizeof one) < 0) {
      // EAGAIN: the counter is already nonzero, the thread will wake anyway
    }
  }

  void WakeBy(uint64_t deadline) {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (deadline >= wake_at_) return;
      wake_at_ = deadline;
    }
    Wake();
  }

  // From the JS thread: a delivery soon, to flush or finish closes.
  void RequestCall() {
    std::lock_guard<std::mutex> lock(mutex_);
    if (call_pending_ || tsfn_ == nullptr) return;
    call_pending_ = true;
    napi_call_threadsafe_function(tsfn_, nullptr, napi_tsfn_nonblocking);
  }

  static void* Run(void* arg) {
    static_cast<ThreadLoop*>(arg)->Wait();
    return nullptr;
  }

  void Wait() {
    prctl(PR_SET_NAME, "pidfd-exits");  // so that tests and ps can tell it apart
    struct epoll_event events[256];
    for (;;) {
      int timeout = -1;
      {
        std::lock_guard<std::mutex> lock(mutex_);
        if (stopping_) return;
        if (wake_at_ != UINT64_MAX) {
          uint64_t now = MonotonicMs();
          timeout = wake_at_ > now ? static_cast<int>(std::min<uint64_t>(wake_at_ - now, 1 << 30)) : 0;
        }
      }
      int n = epoll_wait(epoll_fd_, events, 256, timeout);
      std::lock_guard<std::mutex> lock(mutex_);
      if (stopping_) return;
      for (int i = 0; i < n; i++) {
        if (events[i].data.u64 == kWakeToken) {
          uint64_t count;
          if (read(wake_fd_, &count, sizeof count) < 0) {
            // EAGAIN: already read
          }
        } else {
          ready_.push_back(events[i]);
        }
      }
      if (wake_at_ != UINT64_MAX && MonotonicMs() >= wake_at_) {
        wake_at_ = UINT64_MAX;
        timer_due_ = true;
      }
      if ((!ready_.empty() || timer_due_) && !call_pending_) {
        call_pending_ = true;
        // Under the lock: Shutdown() cannot release the tsfn meanwhile.
        napi_call_threadsafe_function(tsfn_, nullptr, napi_tsfn_nonblocking);
      }
    }
  }

  static void CallJs(napi_env env, napi_value /*js_callback*/, void* context, void* /*data*/) {
    if (env == nullptr || !Alive(context)) return;  // the tsfn is being torn down
    static_cast<ThreadLoop*>(context)->Deliver();
  }

  // On the JS thread: runs the ready sources' callbacks and due timers, hands the exits
  // they queued to JS in one batch, then re-arms the sources still started.
  void Deliver() {
    std::vector<struct epoll_event> batch;
    bool timer_due;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      batch.swap(ready_);
      timer_due = timer_due_;
      timer_due_ = false;
      call_pending_ = false;
    }
    delivering_ = true;
    for (const auto& event : batch) {
      auto it = sources_.find(event.data.u64);
      if (it == sources_.end() || it->second->events == 0) continue;  // closed or stopped since
      Source* source = it->second;
      source->on_ready(source, 0, FromEpoll(event.events, source->events));
    }
    if (timer_due) FireTimers();
    env_->Flush();
    delivering_ = false;
    for (const auto& event : batch) {
      auto it = sources_.find(event.data.u64);
      if (it == sources_.end() || it->second->events == 0) continue;
      struct epoll_event again = {};
      again.events = ToEpoll(it->second->events);
      again.data.u64 = event.data.u64;
      epoll_ctl(epoll_fd_, EPOLL_CTL_MOD, it->second->fd, &again);
    }
    RunClosing();
  }

  void FireTimers() {
    uint64_t now = MonotonicMs(), next = UINT64_MAX;
    std::vector<Timer*> due;
    for (Timer* timer : timers_) {
      if (timer->deadline <= now) due.push_back(timer);
      else next = std::min(next, timer->deadline);
    }
    for (Timer* timer : due) {
      if (timer->deadline > now) continue;  // restarted by an earlier one
      StopTimer(timer);
      timer->on_fire(timer);
    }
    for (Timer* timer : timers_) next = std::min(next, timer->deadline);
    if (next != UINT64_MAX) WakeBy(next);
  }

  void RunClosing() {
    while (!closing_sources_.empty() || !closing_timers_.empty()) {
      std::vector<Source*> sources;
      std::vector<Timer*> timers;
      sources.swap(closing_sources_);
      timers.swap(closing_timers_);
      for (Source* source : sources) {
        source->impl = nullptr;
        source->on_closed(source);
        env_->HandleClosed();
      }
      for (Timer* timer : timers) {
        timer->on_closed(timer);
        env_->HandleClosed();
      }
    }
  }

  // Stops the thread, then lets go of the threadsafe function: nothing calls it after.
  void Shutdown() {
    if (thread_started_) {
      {
        std::lock_guard<std::mutex> lock(mutex_);
        stopping_ = true;
      }
      Wake();
      pthread_join(thread_, nullptr);
      thread_started_ = false;
    }
    if (tsfn_ != nullptr) {
      napi_release_threadsafe_function(tsfn_, napi_tsfn_abort);
      tsfn_ = nullptr;
    }
    if (epoll_fd_ >= 0) sys_close(epoll_fd_);
    if (wake_fd_ >= 0) sys_close(wake_fd_);
    epoll_fd_ = wake_fd_ = -1;
  }
};

}  // namespace

Loop* NewThreadLoop(Env* env, napi_value resource) {
  auto* loop = new ThreadLoop(env);
  if (!loop->Init(resource)) {
    delete loop;
    return nullptr;
  }
  return loop;
}

}  // namespace pidfd
