// Reading the binding's arguments with raw N-API. While an environment is torn down (a
// worker terminated mid-call) any call can fail; a failed read must become an error result,
// never fd 0, a truncated string, or a fatal "napi_throw" from node-addon-api.
#pragma once

#include <napi.h>

#include <string>
#include <vector>

namespace pidfd {

inline int32_t IntArg(const Napi::CallbackInfo& info, size_t i, int32_t fallback = -1) {
  int32_t v;
  return napi_get_value_int32(info.Env(), info[i], &v) == napi_ok ? v : fallback;
}

inline int64_t Int64Arg(const Napi::CallbackInfo& info, size_t i, int64_t fallback = -1) {
  int64_t v;
  return napi_get_value_int64(info.Env(), info[i], &v) == napi_ok ? v : fallback;
}

inline bool BoolArg(const Napi::CallbackInfo& info, size_t i) {
  bool v = false;
  return napi_get_value_bool(info.Env(), info[i], &v) == napi_ok && v;
}

inline bool StringValue(napi_env env, napi_value value, std::string* out) {
  size_t length, copied;
  if (napi_get_value_string_utf8(env, value, nullptr, 0, &length) != napi_ok) return false;
  out->resize(length);
  return napi_get_value_string_utf8(env, value, &(*out)[0], length + 1, &copied) == napi_ok &&
         copied == length;
}

inline bool StringsArg(const Napi::CallbackInfo& info, size_t i, std::vector<std::string>* out) {
  napi_env env = info.Env();
  uint32_t length;
  if (napi_get_array_length(env, info[i], &length) != napi_ok) return false;
  out->resize(length);
  for (uint32_t k = 0; k < length; k++) {
    napi_value element;
    if (napi_get_element(env, info[i], k, &element) != napi_ok || !StringValue(env, element, &(*out)[k])) {
      return false;
    }
  }
  return true;
}

// A typed array argument's data and element count; false when it is not one.
template <typename T>
bool TypedArg(const Napi::CallbackInfo& info, size_t i, T** data, size_t* length) {
  napi_typedarray_type type;
  void* bytes = nullptr;
  napi_value buffer;
  size_t offset;
  *length = 0;
  if (napi_get_typedarray_info(info.Env(), info[i], &type, length, &bytes, &buffer, &offset) != napi_ok) {
    return false;
  }
  *data = static_cast<T*>(bytes);
  return true;
}

}  // namespace pidfd
