// The cgroup v2 side of process trees: open a cgroup's files, read cgroup.events, wait for a
// state (the freezer). Thin: numbers in, numbers
// out; mkdir/rmdir and the writes to cgroup.kill and cgroup.freeze are plain files that
// lib/tree.ts handles with node:fs. Watching cgroup.events on the loop is watch.cc's (a mode).
#include "cgroup.h"

#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <time.h>

#include <cstring>
#include <algorithm>
#include <string>
#include <unordered_map>
#include <vector>

#include "args.h"
#include "env.h"
#include "reaper.h"
#include "syscalls.h"
#include "watch.h"

namespace pidfd {

int CgroupEvents(int fd) {
  char buf[256];
  long n;
  do n = ret(pread(fd, buf, sizeof buf - 1, 0));
  while (n == -EINTR);
  if (n < 0) return static_cast<int>(n);
  buf[n] = '\0';
  int bits = 0;
  if (strstr(buf, "populated 1") != nullptr) bits |= kCgroupPopulated;
  if (strstr(buf, "frozen 1") != nullptr) bits |= kCgroupFrozen;
  return bits;
}

int RemoveCgroup(const char* path) {
  if (rmdir(path) == 0) return 0;
  if (errno != EBUSY && errno != ENOTEMPTY) return -errno;
  // A member made cgroups of its own: they are empty too once ours is. Depth-first.
  DIR* dir = opendir(path);
  if (dir == nullptr) return -errno;
  std::vector<std::string> children;
  while (struct dirent* entry = readdir(dir)) {
    if (entry->d_type == DT_DIR && strcmp(entry->d_name, ".") != 0 && strcmp(entry->d_name, "..") != 0) {
      children.push_back(std::string(path) + "/" + entry->d_name);
    }
  }
  closedir(dir);
  for (const std::string& child : children) RemoveCgroup(child.c_str());
  return rmdir(path) == 0 ? 0 : -errno;
}

int CgroupEmptied(Watch* w) {
  auto it = w->env->cgroup_dirs.find(w->id);
  if (it == w->env->cgroup_dirs.end()) return 0;
  int r = it->second.empty() ? 0 : RemoveCgroup(it->second.c_str());  // "": not ours to remove
  w->env->cgroup_dirs.erase(it);
  return r == -ENOENT ? 0 : r;
}

void AdoptCgroupWatch(Watch* w) {
  auto it = w->env->cgroup_dirs.find(w->id);
  if (it == w->env->cgroup_dirs.end() || it->second.empty()) {
    sys_close(w->fd);
    return;
  }
  AdoptOrphanCgroup(w->fd, it->second);
  w->env->cgroup_dirs.erase(it);
}

void ForgetCgroup(Watch* w) { w->env->cgroup_dirs.erase(w->id); }

// Tree directories made but not yet watched (between the mkdir and watchCgroup, across the
// clone), per environment. A worker terminated in that window runs no more JS: its cleanup
// hook hands them to the reaper thread, which removes each once empty. Workers are threads:
// one mutex. Plain pthreads, as reaper.cc (Bun stubs libuv's).
static pthread_mutex_t pending_mutex = PTHREAD_MUTEX_INITIALIZER;
static std::unordered_map<napi_env, std::vector<std::string>>& pending = *new std::unordered_map<napi_env, std::vector<std::string>>();

static void Unpend(napi_env env, const std::string& dir) {
  pthread_mutex_lock(&pending_mutex);
  auto it = pending.find(env);
  if (it != pending.end()) {
    auto& dirs = it->second;
    dirs.erase(std::remove(dirs.begin(), dirs.end(), dir), dirs.end());
  }
  pthread_mutex_unlock(&pending_mutex);
}

static void AdoptPending(void* arg) {
  napi_env env = static_cast<napi_env>(arg);
  std::vector<std::string> dirs;
  pthread_mutex_lock(&pending_mutex);
  auto it = pending.find(env);
  if (it != pending.end()) {
    dirs.swap(it->second);
    pending.erase(it);
  }
  pthread_mutex_unlock(&pending_mutex);
  for (const std::string& dir : dirs) {
    long fd = ret(syscall(SYS_openat, AT_FDCWD, (dir + "/cgroup.events").c_str(), O_RDONLY | O_CLOEXEC));
    if (fd < 0) RemoveCgroup(dir.c_str());
    else AdoptOrphanCgroup(static_cast<int>(fd), dir);  // removed now if empty, else once empty
  }
}

// createCgroup(dir) -> 0 | -errno: mkdir, mode 0755 whatever the umask, and remembered
// until watchCgroup or removeCgroup takes it (or the environment's end removes it).
static Napi::Value CreateCgroup(const Napi::CallbackInfo& info) {
  std::string dir;
  if (!StringValue(info.Env(), info[0], &dir)) return Napi::Number::New(info.Env(), -EINVAL);
  long r = ret(syscall(SYS_mkdirat, AT_FDCWD, dir.c_str(), 0755));
  if (r < 0) return Napi::Number::New(info.Env(), static_cast<double>(r));
  syscall(SYS_fchmodat, AT_FDCWD, dir.c_str(), 0755);  // the umask may have taken bits away
  napi_env env = info.Env();
  pthread_mutex_lock(&pending_mutex);
  auto it = pending.find(env);
  bool first = it == pending.end();
  pending[env].push_back(dir);
  pthread_mutex_unlock(&pending_mutex);
  if (first) napi_add_env_cleanup_hook(env, AdoptPending, env);
  return Napi::Number::New(info.Env(), 0);
}

// removeCgroup(dir) -> 0 | -errno: a tree directory that never got a process (spawn failed).
static Napi::Value RemoveCgroupDir(const Napi::CallbackInfo& info) {
  std::string dir;
  if (!StringValue(info.Env(), info[0], &dir)) return Napi::Number::New(info.Env(), -EINVAL);
  Unpend(info.Env(), dir);
  return Napi::Number::New(info.Env(), RemoveCgroup(dir.c_str()));
}

static int64_t NowMs() {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000 + ts.tv_nsec / 1000000;
}

// openCgroupFile(path, directory) -> fd | -errno: close-on-exec, read-only; a directory fd
// is what CLONE_INTO_CGROUP takes. Owned by the environment until closed or watched.
static Napi::Value OpenCgroupFile(const Napi::CallbackInfo& info) {
  std::string path;
  if (!StringValue(info.Env(), info[0], &path)) return Napi::Number::New(info.Env(), -EINVAL);
  int flags = O_RDONLY | O_CLOEXEC | (BoolArg(info, 1) ? O_DIRECTORY : 0);
  long fd;
  do fd = ret(syscall(SYS_openat, AT_FDCWD, path.c_str(), flags));
  while (fd == -EINTR);
  if (fd >= 0) Env::From(info.Env())->Own(static_cast<int>(fd));
  return Napi::Number::New(info.Env(), static_cast<double>(fd));
}

// watchCgroup(eventsFd, id, ref, dir) -> 0 | -errno: watches a tree's cgroup.events on the
// loop (watch.cc, kModeCgroup); once the tree is empty the directory is removed and the
// event delivered under id. On success the watcher owns eventsFd.
static Napi::Value WatchCgroup(const Napi::CallbackInfo& info) {
  Env* s = Env::From(info.Env());
  const int32_t id = IntArg(info, 1, 0);
  std::string dir;
  if (!StringValue(info.Env(), info[3], &dir)) return Napi::Number::New(info.Env(), -EINVAL);
  s->cgroup_dirs[id] = dir;  // first: the watch may find the tree empty at once
  int r = Watch::Start(s, IntArg(info, 0), id, kModeCgroup, BoolArg(info, 2), 0, 0);
  if (r != 0) s->cgroup_dirs.erase(id);
  else if (!dir.empty()) Unpend(info.Env(), dir);  // the watch removes it from now on
  return Napi::Number::New(info.Env(), r);
}

// cgroupEvents(fd) -> populated (1) | frozen (2) bits, or -errno.
static Napi::Value ReadCgroupEvents(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), CgroupEvents(IntArg(info, 0)));
}

// awaitCgroupEvents(fd, mask, want, timeoutMs) -> 1 once (events & mask) == want, 0 when
// timeoutMs passed first, or -errno. Blocks: for the freezer, which settles in
// microseconds to milliseconds, between a synchronous freeze and its signals.
static Napi::Value AwaitCgroupEvents(const Napi::CallbackInfo& info) {
  const int fd = IntArg(info, 0), mask = IntArg(info, 1, 0), want = IntArg(info, 2, 0);
  const int64_t deadline = NowMs() + Int64Arg(info, 3, 0);
  for (;;) {
    int bits = CgroupEvents(fd);  // re-arms POLLPRI before the state is checked
    if (bits < 0 || (bits & mask) == want) return Napi::Number::New(info.Env(), bits < 0 ? bits : 1);
    int64_t left = deadline - NowMs();
    if (left <= 0) return Napi::Number::New(info.Env(), 0);
    struct pollfd p = {fd, POLLPRI, 0};
    long r = ret(poll(&p, 1, static_cast<int>(left)));
    if (r < 0 && r != -EINTR) return Napi::Number::New(info.Env(), static_cast<double>(r));
  }
}

void RegisterCgroup(Napi::Env env, Napi::Object exports) {
  const std::pair<const char*, Napi::Function::Callback> functions[] = {
      {"openCgroupFile", OpenCgroupFile},
      {"createCgroup", CreateCgroup},
      {"removeCgroup", RemoveCgroupDir},
      {"watchCgroup", WatchCgroup},
      {"cgroupEvents", ReadCgroupEvents},
      {"awaitCgroupEvents", AwaitCgroupEvents},
  };
  for (const auto& f : functions) exports.Set(f.first, Napi::Function::New(env, f.second, f.first));
}

}  // namespace pidfd
