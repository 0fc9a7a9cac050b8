// Children whose environment is gone (a worker terminated while they ran) still have to be
// reaped, or they stay zombies for the life of the process. No loop is left to watch them,
// so one process-wide thread does, started the first time it is needed. It also removes the
// cgroups of such an environment's process trees once they are empty.
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/prctl.h>

#include <cstring>
#include <string>
#include <vector>

#include "cgroup.h"
#include "pthread_compat.h"
#include "reaper.h"
#include "syscalls.h"

namespace pidfd {

namespace {

struct Orphan {
  int fd;   // pidfd of an unreaped child of ours, or a tree's cgroup.events
  int pid;  // for kernels whose waitid has no P_PIDFD
  std::string cgroup_dir;  // set for a tree: removed once it is empty
  void* stack;  // a tree keeper's, unmapped once it is reaped
  size_t stack_size;
};
// pthreads, not uv_*: Bun stubs libuv's thread functions.
pthread_once_t init_once = PTHREAD_ONCE_INIT;
pthread_mutex_t mutex = PTHREAD_MUTEX_INITIALIZER;
// Never destroyed: the thread may still read it while exit handlers run.
std::vector<Orphan>& orphans = *new std::vector<Orphan>();
int wake_fd = -1;          // eventfd: a new orphan arrived
bool started = false;

void Init() { wake_fd = eventfd(0, EFD_CLOEXEC); }

// Reaps the child (removes the empty cgroup) if it has exited; true when the fd is done with.
bool TryReap(const Orphan& orphan) {
  if (!orphan.cgroup_dir.empty()) {
    int bits = CgroupEvents(orphan.fd);
    if (bits >= 0 && (bits & kCgroupPopulated)) return false;
    RemoveCgroup(orphan.cgroup_dir.c_str());
    return true;
  }
  siginfo_t si;
  memset(&si, 0, sizeof si);
  long r = sys_wait_child(orphan.fd, orphan.pid, &si, WEXITED | WNOHANG);
  return r < 0 || si.si_pid != 0;  // reaped, or someone else did (ECHILD)
}

// The fd (and a keeper's stack) once done with.
void Release(const Orphan& orphan) {
  sys_close(orphan.fd);
  if (orphan.stack != nullptr) munmap(orphan.stack, orphan.stack_size);
}

void* Run(void*) {
  prctl(PR_SET_NAME, "pidfd-reaper");
  std::vector<struct pollfd> fds;
  for (;;) {
    pthread_mutex_lock(&mutex);
    fds.assign(1, {wake_fd, POLLIN, 0});
    for (const Orphan& orphan : orphans) {
      fds.push_back({orphan.fd, static_cast<short>(orphan.cgroup_dir.empty() ? POLLIN : POLLPRI), 0});
    }
    pthread_mutex_unlock(&mutex);
    if (poll(fds.data(), fds.size(), -1) < 0) continue;
    if (fds[0].revents) {
      uint64_t count;
      if (syscall(SYS_read, wake_fd, &count, sizeof count) < 0) {
        // spurious: the next poll tells
      }
    }
    pthread_mutex_lock(&mutex);
    for (size_t i = 1; i < fds.size(); i++) {
      if (fds[i].revents == 0) continue;
      for (size_t j = 0; j < orphans.size(); j++) {
        if (orphans[j].fd != fds[i].fd) continue;
        if (TryReap(orphans[j])) {
          Release(orphans[j]);
          orphans[j] = orphans.back();
          orphans.pop_back();
        }
        break;
      }
    }
    pthread_mutex_unlock(&mutex);
  }
}

void Adopt(Orphan orphan) {
  if (TryReap(orphan)) {
    Release(orphan);
    return;
  }
  pthread_once(&init_once, Init);
  pthread_mutex_lock(&mutex);
  orphans.push_back(std::move(orphan));
  if (!started) {
    static pthread_t thread;  // never joined: it serves the process until exit
    started = pthread_create(&thread, nullptr, Run, nullptr) == 0;
  }
  pthread_mutex_unlock(&mutex);
  uint64_t one = 1;
  if (syscall(SYS_write, wake_fd, &one, sizeof one) < 0) {
    // the eventfd cannot overflow at one write per orphan
  }
}

}  // namespace

void AdoptOrphan(int pidfd, int pid, void* stack, size_t stack_size) {
  Adopt(Orphan{pidfd, pid, std::string(), stack, stack_size});
}

void AdoptOrphanCgroup(int events_fd, const std::string& dir) { Adopt(Orphan{events_fd, 0, dir, nullptr, 0}); }

}  // namespace pidfd
