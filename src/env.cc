#include "env.h"

#include <sys/stat.h>

#include <algorithm>
#include <cstring>

#include "syscalls.h"

namespace pidfd {

Env* Env::From(napi_env env) {
  void* data = nullptr;
  napi_get_instance_data(env, &data);
  return static_cast<Env*>(data);
}

// Hands a batch to JS through the shared Int32Array, kEventChunk events per call, all under
// one callback scope, so the promises resolved run their reactions (and process.nextTick)
// before this loop turn ends, in the awaiting code's async context. Raw N-API with status
// checks and nothing allocated: nothing here may throw, and during teardown Node refuses
// calls into JS.
static void CallJs(Env* s, const std::vector<ExitEvent>& batch) {
  if (s->on_exits == nullptr) return;
  napi_env env = s->env;
  napi_handle_scope handle_scope;
  if (napi_open_handle_scope(env, &handle_scope) != napi_ok) return;
  // The thread path runs inside the threadsafe function's own callback scope.
  bool scoped = s->loop->NeedsCallbackScope();
  napi_callback_scope callback_scope = nullptr;
  napi_value resource, fn, recv, count;
  if (!scoped || (napi_get_reference_value(env, s->resource, &resource) == napi_ok &&
                  napi_open_callback_scope(env, resource, s->async_context, &callback_scope) == napi_ok)) {
    if (napi_get_reference_value(env, s->on_exits, &fn) == napi_ok && napi_get_undefined(env, &recv) == napi_ok) {
      for (size_t i = 0; i < batch.size(); i += kEventChunk) {
        size_t n = std::min(kEventChunk, batch.size() - i);
        memcpy(s->events, &batch[i], n * sizeof(ExitEvent));
        if (napi_create_uint32(env, static_cast<uint32_t>(n), &count) != napi_ok) break;
        if (napi_call_function(env, recv, fn, 1, &count, nullptr) == napi_pending_exception) {
          napi_value error;
          napi_get_and_clear_last_exception(env, &error);
          napi_fatal_exception(env, error);  // surfaces as 'uncaughtException', like any callback
        }
      }
    }
    if (scoped) napi_close_callback_scope(env, callback_scope);
  }
  napi_close_handle_scope(env, handle_scope);
}

// Delivers every queued event, then takes the delivered watches out of epoll: that syscall
// need not delay the news.
void Env::Flush() {
  std::vector<ExitEvent> batch;
  batch.swap(pending);
  if (batch.empty()) return;
  CallJs(this, batch);
  StopDelivered(this, batch);
  if (pending.empty()) {  // keep the capacity for the next turn
    batch.clear();
    pending.swap(batch);
  }
}

void Env::Queue(const ExitEvent& event) {
  if (pending.empty()) loop->RequestFlush();
  pending.push_back(event);
}

static uint64_t Inode(int fd) {
  struct stat st;
  return syscall(SYS_fstat, fd, &st) == 0 ? static_cast<uint64_t>(st.st_ino) : 0;
}

void Env::Own(int fd) { owned[fd] = Inode(fd); }

void Env::Disown(int fd) { owned.erase(fd); }

// Closes what JS left open, but only fds that still are the pidfds we handed out.
void Env::CloseOwned() {
  for (const auto& entry : owned) {
    if (entry.second != 0 && Inode(entry.first) == entry.second) sys_close(entry.first);
  }
  owned.clear();
}

void Env::HandleClosed() {
  open_handles--;
  MaybeFree();
}

void Env::MaybeFree() {
  if (!tearing_down || in_teardown || open_handles != 0) return;
  if (cleanup_hook != nullptr) napi_remove_async_cleanup_hook(cleanup_hook);
  delete this;
}

Env::~Env() { delete loop; }

// Environment teardown (worker termination, process exit). On the uv path Node keeps the
// loop turning until the async hook is removed, so every uv handle gets its close callback
// before we free; the thread path closes everything before the hook returns.
static void Teardown(Env* s) {
  s->tearing_down = true;
  s->in_teardown = true;
  for (napi_ref* ref : {&s->on_exits, &s->events_ref, &s->resource}) {
    if (*ref != nullptr) napi_delete_reference(s->env, *ref);
    *ref = nullptr;
  }
  s->events = nullptr;
  if (s->async_context != nullptr) napi_async_destroy(s->env, s->async_context);
  s->async_context = nullptr;
  s->pending.clear();
  s->CloseOwned();
  CloseAllWatches(s);
  s->loop->Teardown();
  s->in_teardown = false;
  s->MaybeFree();
}

static void AsyncTeardown(napi_async_cleanup_hook_handle handle, void* data) {
  static_cast<Env*>(data)->cleanup_hook = handle;
  Teardown(static_cast<Env*>(data));
}

static void SyncTeardown(void* data) { Teardown(static_cast<Env*>(data)); }

// An Env whose loop was never made has no hook: it goes with the instance data.
static void FreeUnhooked(napi_env, void* data, void*) { delete static_cast<Env*>(data); }

void InitEnv(Napi::Env env) {
  Env* s = new Env();
  s->env = env;
  napi_set_instance_data(env, s, FreeUnhooked, nullptr);
}

// Makes the environment's loop, once: the thread path where asked (runtimes without
// libuv), else uv. Registered after the loop's threadsafe function, the hook runs before
// the runtime tears that down (hooks run in reverse order).
static bool MakeLoop(Env* s, bool thread) {
  napi_env env = s->env;
  napi_value resource, name;
  napi_create_object(env, &resource);
  napi_create_reference(env, resource, 1, &s->resource);
  s->loop = thread ? NewThreadLoop(s, resource) : NewUvLoop(s);
  if (s->loop == nullptr) return false;
  napi_status status;
  if (thread) {
    status = napi_add_env_cleanup_hook(env, SyncTeardown, s);
  } else {
    napi_create_string_utf8(env, "pidfd:exit", NAPI_AUTO_LENGTH, &name);
    napi_async_init(env, resource, name, &s->async_context);
    status = napi_add_async_cleanup_hook(env, AsyncTeardown, s, nullptr);
  }
  if (status == napi_ok) napi_set_instance_data(env, s, nullptr, nullptr);  // the hook frees it now
  return true;
}

// setExitCallback(fn, thread) -> the Int32Array that fn(count) reads [id, status, error]
// triples from. The first call also chooses the delivery path: thread (true) or uv.
Napi::Value SetExitCallback(const Napi::CallbackInfo& info) {
  napi_env env = info.Env();
  Env* s = Env::From(env);
  if (s->loop == nullptr && !MakeLoop(s, info[1].ToBoolean())) return info.Env().Undefined();
  napi_value events;
  if (s->events_ref == nullptr) {
    napi_value buffer;
    void* data;
    if (napi_create_arraybuffer(env, kEventChunk * sizeof(ExitEvent), &data, &buffer) != napi_ok ||
        napi_create_typedarray(env, napi_int32_array, kEventChunk * 3, buffer, 0, &events) != napi_ok) {
      return info.Env().Undefined();  // the pending exception tells why
    }
    napi_create_reference(env, events, 1, &s->events_ref);
    s->events = static_cast<ExitEvent*>(data);
  }
  napi_get_reference_value(env, s->events_ref, &events);
  if (s->on_exits != nullptr) napi_delete_reference(env, s->on_exits);
  napi_create_reference(env, info[0], 1, &s->on_exits);
  return Napi::Value(env, events);
}

// delivery() -> "uv", "thread", or "" before setExitCallback (tests, debugging).
Napi::Value Delivery(const Napi::CallbackInfo& info) {
  Env* s = Env::From(info.Env());
  return Napi::String::New(info.Env(), s->loop == nullptr ? "" : s->loop->name);
}

}  // namespace pidfd
