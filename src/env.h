// Per-environment state: one per Node.js environment (main thread or worker) that loads
// the addon. Everything that touches a uv loop or calls into JS hangs off it; nothing is
// process-global except the cached spawn method.
#pragma once

#include <napi.h>
#include <uv.h>

#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

namespace pidfd {

struct Watch;
struct ReapWaiter;

// What the poll callback learned about one watch, delivered to JS in a batch.
struct ExitEvent {  // layout shared with JS: three int32s
  int32_t id;
  int32_t status;  // wait(2)-style status when we reaped the child, else -1
  int32_t error;   // 0, or -errno from waitid (ECHILD: someone else reaped it)
};
static_assert(sizeof(ExitEvent) == 12, "ExitEvent is copied to JS as three int32s");
constexpr size_t kEventChunk = 256;  // events per JS call; a storm takes several calls

struct Env {
  napi_env env;
  uv_loop_t* loop;
  napi_ref on_exits = nullptr;  // JS function (count) set by setExitCallback
  napi_ref events_ref = nullptr;  // the Int32Array it reads: up to kEventChunk events
  ExitEvent* events = nullptr;    // that array's memory
  napi_ref resource = nullptr;    // the async resource every delivery runs under
  napi_async_context async_context = nullptr;
  napi_async_cleanup_hook_handle cleanup_hook = nullptr;

  // Poll callbacks queue events here; one uv_check per loop turn delivers them all under
  // a single callback scope, so a kill storm costs one JS entry per turn, not per exit.
  uv_check_t flush;
  std::vector<ExitEvent> pending;

  std::unordered_map<int32_t, Watch*> watches;
  std::unordered_map<int32_t, std::string> cgroup_dirs;  // cgroup.cc: a tree watch's directory
  ReapWaiter* reap_waiter = nullptr;  // exit_record.cc, created on first use
  std::unique_ptr<char[]> spawn_stack;  // spawn.cc: the vfork child's stack, reused
  size_t open_handles = 0;  // uv handles (watches + flush) not yet closed
  bool tearing_down = false;

  // Pidfds that JS handles hold outside any watch, closed at teardown: a terminated worker
  // runs no FinalizationRegistry. Keyed by fd, with the inode to recognise it later.
  std::unordered_map<int, uint64_t> owned;
  void Own(int fd);
  void Disown(int fd);
  void CloseOwned();

  static Env* From(napi_env env);
  // Queues an event for the check phase. A caller outside the poll phase (a timer) must
  // Flush() itself: the loop may end before another check phase comes.
  void Queue(const ExitEvent& event);
  void Flush();
  void HandleClosed();  // the last one, during teardown, frees this Env
};

// Registered by addon.cc; implemented in env.cc and watch.cc.
Napi::Value SetExitCallback(const Napi::CallbackInfo& info);
void InitEnv(Napi::Env env);
void CloseAllWatches(Env* state);  // also closes the reap waiter
void StopDelivered(Env* state, const std::vector<ExitEvent>& events);

}  // namespace pidfd
