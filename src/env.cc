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
  napi_callback_scope callback_scope;
  napi_value resource, fn, recv, count;
  if (napi_get_reference_value(env, s->resource, &resource) == napi_ok &&
      napi_open_callback_scope(env, resource, s->async_context, &callback_scope) == napi_ok) {
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
    napi_close_callback_scope(env, callback_scope);
  }
  napi_close_handle_scope(env, handle_scope);
}

// Delivers every queued event, then takes the delivered watches out of epoll: that syscall
// need not delay the news.
void Env::Flush() {
  std::vector<ExitEvent> batch;
  batch.swap(pending);
  uv_check_stop(&flush);
  if (batch.empty()) return;
  CallJs(this, batch);
  StopDelivered(this, batch);
  if (pending.empty()) {  // keep the capacity for the next turn
    batch.clear();
    pending.swap(batch);
  }
}

// uv_check callback: the events of one loop turn's poll phase, delivered together.
static void OnCheck(uv_check_t* handle) { static_cast<Env*>(handle->data)->Flush(); }

void Env::Queue(const ExitEvent& event) {
  if (pending.empty()) uv_check_start(&flush, OnCheck);
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
  if (tearing_down && open_handles == 0) {
    napi_remove_async_cleanup_hook(cleanup_hook);
    delete this;
  }
}

// Environment teardown (worker termination, process exit): Node keeps the loop turning
// until the hook is removed, so every uv handle gets its close callback before we free.
static void Teardown(napi_async_cleanup_hook_handle handle, void* data) {
  Env* s = static_cast<Env*>(data);
  s->cleanup_hook = handle;
  s->tearing_down = true;
  for (napi_ref* ref : {&s->on_exits, &s->events_ref, &s->resource}) {
    if (*ref != nullptr) napi_delete_reference(s->env, *ref);
    *ref = nullptr;
  }
  s->events = nullptr;
  napi_async_destroy(s->env, s->async_context);
  s->async_context = nullptr;
  s->pending.clear();
  s->CloseOwned();
  CloseAllWatches(s);
  uv_close(reinterpret_cast<uv_handle_t*>(&s->flush),
           [](uv_handle_t* h) { static_cast<Env*>(h->data)->HandleClosed(); });
}

void InitEnv(Napi::Env env) {
  Env* s = new Env();
  s->env = env;
  napi_get_uv_event_loop(env, &s->loop);
  uv_check_init(s->loop, &s->flush);
  uv_unref(reinterpret_cast<uv_handle_t*>(&s->flush));
  s->flush.data = s;
  s->open_handles = 1;
  Napi::Object resource = Napi::Object::New(env);
  napi_create_reference(env, resource, 1, &s->resource);
  napi_async_init(env, resource, Napi::String::New(env, "pidfd:exit"), &s->async_context);
  napi_set_instance_data(env, s, nullptr, nullptr);
  napi_add_async_cleanup_hook(env, Teardown, s, nullptr);
}

// setExitCallback(fn) -> the Int32Array that fn(count) reads [id, status, error] triples from.
Napi::Value SetExitCallback(const Napi::CallbackInfo& info) {
  napi_env env = info.Env();
  Env* s = Env::From(env);
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

}  // namespace pidfd
