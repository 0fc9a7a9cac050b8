#include "env.h"

#include <sys/stat.h>

#include <cstring>

#include "syscalls.h"

namespace pidfd {

Env* Env::From(napi_env env) {
  void* data = nullptr;
  napi_get_instance_data(env, &data);
  return static_cast<Env*>(data);
}

// Delivers every queued event in one JS call. Raw N-API with status checks: nothing here
// may throw, and during teardown Node refuses calls into JS.
void Env::Flush() {
  std::vector<ExitEvent> batch;
  batch.swap(pending);
  uv_check_stop(&flush);
  if (batch.empty() || on_exits == nullptr) return;

  napi_handle_scope handle_scope;
  if (napi_open_handle_scope(env, &handle_scope) != napi_ok) return;
  // A callback scope, so the promises resolved below run their reactions (and
  // process.nextTick) before this loop turn ends, in the awaiting code's async context.
  napi_callback_scope callback_scope;
  napi_value resource, fn, recv, buffer, events;
  void* data;
  if (napi_create_object(env, &resource) == napi_ok &&
      napi_open_callback_scope(env, resource, async_context, &callback_scope) == napi_ok) {
    size_t bytes = batch.size() * sizeof(ExitEvent);
    if (napi_create_arraybuffer(env, bytes, &data, &buffer) == napi_ok &&
        napi_create_typedarray(env, napi_int32_array, batch.size() * 3, buffer, 0, &events) == napi_ok &&
        napi_get_reference_value(env, on_exits, &fn) == napi_ok && napi_get_undefined(env, &recv) == napi_ok) {
      memcpy(data, batch.data(), bytes);  // ExitEvent is three int32s: [id, status, error]
      if (napi_call_function(env, recv, fn, 1, &events, nullptr) == napi_pending_exception) {
        napi_value error;
        napi_get_and_clear_last_exception(env, &error);
        napi_fatal_exception(env, error);  // surfaces as 'uncaughtException', like any callback
      }
    }
    napi_close_callback_scope(env, callback_scope);
  }
  napi_close_handle_scope(env, handle_scope);
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
  if (s->on_exits != nullptr) napi_delete_reference(s->env, s->on_exits);
  s->on_exits = nullptr;
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
  napi_async_init(env, Napi::Object::New(env), Napi::String::New(env, "pidfd:exit"),
                  &s->async_context);
  napi_set_instance_data(env, s, nullptr, nullptr);
  napi_add_async_cleanup_hook(env, Teardown, s, nullptr);
}

Napi::Value SetExitCallback(const Napi::CallbackInfo& info) {
  Env* s = Env::From(info.Env());
  if (s->on_exits != nullptr) napi_delete_reference(info.Env(), s->on_exits);
  napi_create_reference(info.Env(), info[0], 1, &s->on_exits);
  return info.Env().Undefined();
}

}  // namespace pidfd
