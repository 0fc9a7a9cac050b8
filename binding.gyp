{
  "targets": [
    {
      "target_name": "pidfd",
      "sources": ["src/addon.cc", "src/env.cc", "src/watch.cc", "src/exit_record.cc", "src/info.cc", "src/spawn.cc", "src/keeper.cc", "src/reaper.cc", "src/loop_uv.cc", "src/loop_thread.cc", "src/glibc_compat.cc", "src/cgroup.cc", "src/subreaper.cc"],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
      "defines": ["NAPI_VERSION=8", "NAPI_DISABLE_CPP_EXCEPTIONS", "NODE_API_SWALLOW_UNTHROWABLE_EXCEPTIONS"],
      "cflags_cc": ["-std=c++17", "-Wall", "-Wextra", "-fvisibility=hidden"],
      "ldflags": ["-Wl,-z,nodelete"],
      "libraries": ["-lpthread"]
    },
    {
      "target_name": "pidfd-keeper",
      "type": "none",
      "actions": [
        {
          "action_name": "build_keeper",
          "inputs": ["src/keeper_program.c", "src/keeper_loop.h", "src/wait_status.h", "src/build-keeper.sh"],
          "outputs": ["<(PRODUCT_DIR)/pidfd-keeper"],
          "action": ["sh", "src/build-keeper.sh", "<@(_outputs)"]
        }
      ]
    }
  ]
}
