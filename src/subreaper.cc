// The subreaper flag, read only: trees never set it on this process (each tree's keeper,
// src/keeper.cc, is the subreaper of that tree alone). Tests and features read it.
#include <sys/prctl.h>

#include "args.h"
#include "syscalls.h"

namespace pidfd {

// childSubreaper() -> 1 | 0 | -errno
static Napi::Value ChildSubreaper(const Napi::CallbackInfo& info) {
  int on = 0;
  long r = ret(prctl(PR_GET_CHILD_SUBREAPER, reinterpret_cast<unsigned long>(&on), 0, 0, 0));
  return Napi::Number::New(info.Env(), r < 0 ? static_cast<double>(r) : on != 0);
}

void RegisterSubreaper(Napi::Env env, Napi::Object exports) {
  exports.Set("childSubreaper", Napi::Function::New(env, ChildSubreaper, "childSubreaper"));
}

}  // namespace pidfd
