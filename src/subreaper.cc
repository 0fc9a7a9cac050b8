// The subreaper side of process trees: orphans among our descendants reparent to this
// process instead of init, so lib/tree.ts can find and reap them (through their pidfds).
#include <sys/prctl.h>
#include <uv.h>

#include "args.h"
#include "syscalls.h"

namespace pidfd {

// How many subreaper trees, over all environments, need us to be a subreaper: the process
// is one only while some do, so orphans of unrelated children go to init otherwise.
static uv_mutex_t* mutex = nullptr;
static uv_once_t once = UV_ONCE_INIT;
static int users = 0;

// setChildSubreaper(on) -> 0 | -errno: one more (or one fewer) tree needs orphans among our
// descendants to reparent to us.
static Napi::Value SetChildSubreaper(const Napi::CallbackInfo& info) {
  uv_once(&once, [] {
    mutex = new uv_mutex_t;  // never destroyed: any thread may still use it at exit
    uv_mutex_init(mutex);
  });
  const bool on = BoolArg(info, 0);
  long r = 0;
  uv_mutex_lock(mutex);
  if (on ? users == 0 : users == 1) r = ret(prctl(PR_SET_CHILD_SUBREAPER, on ? 1 : 0, 0, 0, 0));
  if (r == 0 && (on || users > 0)) users += on ? 1 : -1;
  uv_mutex_unlock(mutex);
  return Napi::Number::New(info.Env(), static_cast<double>(r));
}

// childSubreaper() -> 1 | 0 | -errno
static Napi::Value ChildSubreaper(const Napi::CallbackInfo& info) {
  int on = 0;
  long r = ret(prctl(PR_GET_CHILD_SUBREAPER, reinterpret_cast<unsigned long>(&on), 0, 0, 0));
  return Napi::Number::New(info.Env(), r < 0 ? static_cast<double>(r) : on != 0);
}

void RegisterSubreaper(Napi::Env env, Napi::Object exports) {
  exports.Set("setChildSubreaper", Napi::Function::New(env, SetChildSubreaper, "setChildSubreaper"));
  exports.Set("childSubreaper", Napi::Function::New(env, ChildSubreaper, "childSubreaper"));
}

}  // namespace pidfd
