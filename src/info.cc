// Process information through a pidfd: PIDFD_GET_INFO (Linux 6.13+), the pidfs inode, and
// the probe for exit records. lib/info.ts decodes the bytes and owns the /proc fallback.
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/statfs.h>

#include <cstring>

#include "args.h"
#include "exit_record.h"
#include "syscalls.h"

namespace pidfd {

// getInfo(fd, mask, out Uint8Array[72]) -> 0 | -errno; out holds struct pidfd_info.
Napi::Value GetInfo(const Napi::CallbackInfo& info) {
  int fd = IntArg(info, 0);
  uint64_t mask = static_cast<uint64_t>(Int64Arg(info, 1, 0));
  size_t length;
  uint8_t* out;
  if (!TypedArg(info, 2, &out, &length) || length < PIDFD_INFO_SIZE) {
    return Napi::Number::New(info.Env(), -EINVAL);
  }
  alignas(8) unsigned char buffer[PIDFD_INFO_SIZE] = {0};
  memcpy(buffer, &mask, sizeof mask);
  long r = ret(ioctl(fd, PIDFD_GET_INFO_IOCTL, buffer));
  if (r == 0) memcpy(out, buffer, PIDFD_INFO_SIZE);
  return Napi::Number::New(info.Env(), static_cast<double>(r));
}

// stat(fd, out Float64Array[2]) -> 0 | -errno; out = [st_ino, filesystem magic].
// Raw syscalls: glibc 2.33 turned fstat into a new versioned symbol.
Napi::Value Stat(const Napi::CallbackInfo& info) {
  int fd = IntArg(info, 0);
  size_t length;
  double* out;
  if (!TypedArg(info, 1, &out, &length) || length < 2) return Napi::Number::New(info.Env(), -EINVAL);
  struct stat st;
  struct statfs fs;
  long r = ret(syscall(SYS_fstat, fd, &st));
  if (r == 0) r = ret(syscall(SYS_fstatfs, fd, &fs));
  if (r == 0) {
    out[0] = static_cast<double>(st.st_ino);
    out[1] = static_cast<double>(static_cast<uint64_t>(fs.f_type));
  }
  return Napi::Number::New(info.Env(), static_cast<double>(r));
}

// probeExitRecord() -> 1 when the kernel records exit statuses (Linux 6.15+), 0 when not,
// or -errno: a child exits at once, is reaped with a pidfd open, and the record is read.
Napi::Value ProbeExitRecord(const Napi::CallbackInfo& info) {
  long pid = vfork();  // the child only exits: nothing shared is touched
  if (pid == 0) syscall(SYS_exit_group, 0);
  if (pid < 0) return Napi::Number::New(info.Env(), -errno);
  long fd = sys_pidfd_open(pid, 0);
  siginfo_t si;
  sys_wait_child(-1, pid, &si, WEXITED);  // by pid: the probe must work without P_PIDFD
  if (fd < 0) return Napi::Number::New(info.Env(), static_cast<double>(fd));
  int32_t status = ReadExitRecord(static_cast<int>(fd));
  sys_close(fd);
  return Napi::Number::New(info.Env(), status == 0 ? 1 : 0);
}

}  // namespace pidfd
