// The libuv delivery path (Node): a uv_poll_t per source in the environment's own loop, and
// one uv_check per loop turn that hands that turn's exits to JS in one call.
#include <uv.h>

#include "env.h"
#include "loop.h"

namespace pidfd {

namespace {

class UvLoop;

struct UvSource {
  uv_poll_t poll;
  UvLoop* loop;
};

struct UvTimer {
  uv_timer_t timer;
  UvLoop* loop;
};

int ToUv(int events) { return (events & kReadable ? UV_READABLE : 0) | (events & kPriority ? UV_PRIORITIZED : 0); }

class UvLoop final : public Loop {
 public:
  Env* env;
  uv_loop_t* loop;
  uv_check_t flush;

  UvLoop(Env* e, uv_loop_t* l) : env(e), loop(l) {
    name = "uv";
    uv_check_init(loop, &flush);
    uv_unref(reinterpret_cast<uv_handle_t*>(&flush));
    flush.data = this;
    env->open_handles++;
  }

  static UvSource* Of(Source* source) { return static_cast<UvSource*>(source->impl); }
  static UvTimer* Of(Timer* timer) { return static_cast<UvTimer*>(timer->impl); }

  int Add(Source* source, int fd) override {
    auto* u = new UvSource();
    int r = uv_poll_init(loop, &u->poll, fd);  // fails before the handle exists
    if (r != 0) {
      delete u;
      return r;
    }
    u->loop = this;
    u->poll.data = source;
    source->impl = u;
    source->fd = fd;
    env->open_handles++;
    return 0;
  }

  static void OnPoll(uv_poll_t* handle, int status, int events) {
    auto* source = static_cast<Source*>(handle->data);
    source->on_ready(source, status, (events & UV_READABLE ? kReadable : 0) | (events & UV_PRIORITIZED ? kPriority : 0));
  }

  int Start(Source* source, int events, ReadyFn on_ready) override {
    source->on_ready = on_ready;
    int r = uv_poll_start(&Of(source)->poll, ToUv(events), OnPoll);
    source->events = r == 0 ? events : 0;
    return r;
  }

  void Stop(Source* source) override {
    source->events = 0;
    uv_poll_stop(&Of(source)->poll);
  }

  void SetRef(Source* source, bool ref) override {
    source->ref = ref;
    auto* handle = reinterpret_cast<uv_handle_t*>(&Of(source)->poll);
    if (ref) uv_ref(handle);
    else uv_unref(handle);
  }

  void Close(Source* source, SourceClosedFn on_closed) override {
    source->events = 0;
    source->on_closed = on_closed;
    uv_close(reinterpret_cast<uv_handle_t*>(&Of(source)->poll), [](uv_handle_t* handle) {
      auto* source = static_cast<Source*>(handle->data);
      UvSource* u = Of(source);
      Env* env = u->loop->env;
      source->impl = nullptr;
      delete u;
      source->on_closed(source);
      env->HandleClosed();
    });
  }

  void AddTimer(Timer* timer) override {
    auto* u = new UvTimer();
    uv_timer_init(loop, &u->timer);
    u->loop = this;
    u->timer.data = timer;
    timer->impl = u;
    env->open_handles++;
  }

  void StartTimer(Timer* timer, uint64_t delay_ms, TimerFn on_fire) override {
    timer->on_fire = on_fire;
    timer->deadline = uv_now(loop) + delay_ms;
    uv_timer_start(&Of(timer)->timer, [](uv_timer_t* handle) {
      auto* timer = static_cast<Timer*>(handle->data);
      timer->deadline = UINT64_MAX;
      timer->on_fire(timer);
    }, delay_ms, 0);
  }

  void StopTimer(Timer* timer) override {
    timer->deadline = UINT64_MAX;
    uv_timer_stop(&Of(timer)->timer);
  }

  void CloseTimer(Timer* timer, void (*on_closed)(Timer*)) override {
    timer->on_closed = on_closed;
    uv_close(reinterpret_cast<uv_handle_t*>(&Of(timer)->timer), [](uv_handle_t* handle) {
      auto* timer = static_cast<Timer*>(handle->data);
      UvTimer* u = Of(timer);
      Env* env = u->loop->env;
      timer->impl = nullptr;
      delete u;
      timer->on_closed(timer);
      env->HandleClosed();
    });
  }

  uint64_t Now() override { return uv_now(loop); }

  void RequestFlush() override {
    uv_check_start(&flush, [](uv_check_t* handle) {
      uv_check_stop(handle);
      static_cast<UvLoop*>(handle->data)->env->Flush();
    });
  }

  bool NeedsCallbackScope() const override { return true; }

  void Teardown() override {
    uv_close(reinterpret_cast<uv_handle_t*>(&flush),
             [](uv_handle_t* handle) { static_cast<UvLoop*>(handle->data)->env->HandleClosed(); });
  }
};

}  // namespace

Loop* NewUvLoop(Env* env) {
  uv_loop_t* loop = nullptr;
  if (napi_get_uv_event_loop(env->env, &loop) != napi_ok || loop == nullptr) {
    napi_throw_error(env->env, "ERR_PIDFD_RUNTIME", "pidfd: this runtime has no libuv loop (set PIDFD_DELIVERY=thread)");
    return nullptr;
  }
  return new UvLoop(env, loop);
}

}  // namespace pidfd
