// The subreaper side of process trees: orphans among our descendants reparent to this
// process instead of init, so lib/tree.ts can find and reap them (through their pidfds).
#include <sys/prctl.h>

#include "args.h"
#include "syscalls.h"

namespace pidfd {

// setChildSubreaper() -> 0 | -errno: orphans among our descendants reparent to us from now on.
static Napi::Value SetChildSubreaper(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), static_cast<double>(ret(prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0))));
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
