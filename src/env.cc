#include "env.h"

namespace pidfd {

Env* Env::From(napi_env env) {
  void* data = nullptr;
  napi_get_instance_data(env, &data);
  return static_cast<Env*>(data);
}

// uv_check callback: delivers every event queued during this loop turn in one JS call.
static void Flush(uv_check_t* handle) {
  Env* s = static_cast<Env*>(handle->data);
  std::vector<ExitEvent> batch;
  batch.swap(s->pending);
  uv_check_stop(handle);
  if (batch.empty() || s->on_exits == nullptr) return;

  Napi::Env env(s->env);
  Napi::HandleScope handle_scope(env);
  // A callback scope, so the promises resolved below run their reactions (and
  // process.nextTick) before this loop turn ends, in the awaiting code's async context.
  Napi::CallbackScope callback_scope(s->env, s->async_context);
  auto events = Napi::Int32Array::New(env, batch.size() * 3);
  for (size_t i = 0; i < batch.size(); i++) {
    events[i * 3] = batch[i].id;
    events[i * 3 + 1] = batch[i].status;
    events[i * 3 + 2] = batch[i].error;
  }
  napi_value fn, recv = env.Undefined(), arg = events;
  napi_get_reference_value(s->env, s->on_exits, &fn);
  if (napi_call_function(s->env, recv, fn, 1, &arg, nullptr) == napi_pending_exception) {
    napi_value error;
    napi_get_and_clear_last_exception(s->env, &error);
    napi_fatal_exception(s->env, error);  // surfaces as 'uncaughtException', like any callback
  }
}

void Env::Queue(const ExitEvent& event) {
  if (pending.empty()) uv_check_start(&flush, Flush);
  pending.push_back(event);
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
