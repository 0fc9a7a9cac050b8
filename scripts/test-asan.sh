#!/usr/bin/env bash
# Builds the addon with AddressSanitizer + UndefinedBehaviorSanitizer into a separate tree
# and runs the whole vitest suite (or the vitest arguments given) against it, in the stock
# node with the gcc ASan runtime preloaded.
#
#   scripts/test-asan.sh                      # whole suite
#   scripts/test-asan.sh test/spawn.test.ts   # some files (any vitest arguments)
#   ASAN_LEAKS=0 scripts/test-asan.sh         # without LeakSanitizer
#   ASAN_SKIP_TSC=1 scripts/test-asan.sh      # test the dist/ already built
#
# build/Release is never touched: the sanitized binary is built in $PIDFD_ASAN_DIR (default
# ${TMPDIR:-/tmp}/pidfd-asan-HASH, one per checkout: two checkouts testing at once on one
# machine must not rebuild each other's binary or empty each other's logs) from a copy of
# binding.gyp and src/, and loaded through
# node-gyp-build's PIDFD_PREBUILD override (node-gyp-build reads the package name from our
# package.json, then looks in $PIDFD_PREBUILD/build/Release before anything else). A
# build/Debug would not do: node-gyp-build prefers build/Release over build/Debug.
#
# Why LD_PRELOAD: node itself is not instrumented, so the ASan runtime must be the first
# library in the process (it replaces malloc); a sanitized .node dlopen()ed into a plain node
# aborts with "ASan runtime does not come first in initial library list".
#
# Leaks: LeakSanitizer runs at the exit of every process (node, and the sh/sleep children
# that inherit LD_PRELOAD). Node's own heap holds pointers to malloc'd memory from places
# LSan does not scan (the V8 heap is mmap'd, not malloc'd), so node reports hundreds of
# "leaks" that are not ours. Rather than a suppression list of V8 internals that changes with
# every Node version, every report is written to a log file (log_path) and a report counts
# only if its allocation stack has a frame in pidfd.node; lsan.supp suppresses the few
# allocations of ours that are legitimately owned by V8 objects (function data of the
# exported functions) or live for the whole process (the reaper thread).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
start=$(date +%s)

stage="${PIDFD_ASAN_DIR:-${TMPDIR:-/tmp}/pidfd-asan-$(printf %s "$root" | cksum | cut -d' ' -f1)}"
leaks="${ASAN_LEAKS:-1}"
libasan="$(g++ -print-file-name=libasan.so)"
if [ ! -e "$libasan" ] || [ "$libasan" = libasan.so ]; then
  echo "test-asan: no libasan for g++ (apt-get install libasan8 or the gcc that matches)" >&2
  exit 2
fi
libasan="$(readlink -f "$libasan")"

# node-gyp must not download headers: use the ones installed with node when present.
if [ -z "${npm_config_nodedir:-}" ] && [ -f "$(dirname "$(dirname "$(command -v node)")")/include/node/node_api.h" ]; then
  export npm_config_nodedir="$(dirname "$(dirname "$(command -v node)")")"
fi

echo "== test-asan: building the sanitized addon in $stage"
rm -rf "$stage/src" "$stage/build"
mkdir -p "$stage/logs"
rm -f "$stage"/logs/*
# Sticky and world-writable: the suite's non-root supervisors (uid 65534) write their reports
# here too. A sanitizer that cannot open its log_path dies, and their reports would be lost.
chmod 1777 "$stage/logs"
cp binding.gyp "$stage/"
cp -r src "$stage/src"
ln -sfn "$root/node_modules" "$stage/node_modules"
san="-fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer -g -O1"
(cd "$stage" && CFLAGS="$san" CXXFLAGS="$san" LDFLAGS="-fsanitize=address,undefined" \
  "$root/node_modules/.bin/node-gyp" rebuild --loglevel=warn >"$stage/build.log" 2>&1) || {
  cat "$stage/build.log" >&2
  exit 1
}
binary="$stage/build/Release/pidfd.node"
# Not `ldd | grep -q`: under pipefail, grep -q leaving early can kill ldd with SIGPIPE, and
# the check then fails at random on a busy machine.
if ! ldd "$binary" | grep libasan >/dev/null; then
  echo "test-asan: $binary is not linked against libasan (did the flags reach the compiler?)" >&2
  exit 1
fi
built=$(date +%s)
echo "   built in $((built - start)) s"

if [ "${ASAN_SKIP_TSC:-0}" != 1 ]; then
  echo "== test-asan: TypeScript"
  npm run --silent build
fi

cat >"$stage/lsan.supp" <<'EOF'
# Owned by V8 objects (function data / finalizers), which LSan cannot scan.
leak:Napi::Function::New
leak:napi_create_function
leak:napi_wrap
leak:napi_create_external
# V8's own descriptor arrays for the exports object, allocated inside napi_set_named_property
# at module init (seen at the exit of a non-root tree supervisor whose keepers still wait).
leak:napi_set_named_property
# The process-wide reaper thread and its state live until exit by design.
leak:pidfd::AdoptOrphan
leak:pidfd::(anonymous namespace)::Init
EOF

export PIDFD_PREBUILD="$stage"
export LD_PRELOAD="$libasan${LD_PRELOAD:+:$LD_PRELOAD}"
# Options for every process, and more for node (include_if_exists, %b = binary basename):
# the sh/sleep/... children inherit LD_PRELOAD, and must keep default signal behaviour
# (tests kill them with SIGSEGV for core dumps) and their own leaks are not ours.
common="log_path=$stage/logs/asan:log_exe_name=1:abort_on_error=1:halt_on_error=1:exitcode=0:allocator_may_return_null=1:detect_stack_use_after_return=0:print_suppressions=0"
echo "detect_leaks=0:disable_coredump=0:handle_segv=0:handle_sigbus=0:handle_sigfpe=0:handle_sigill=0:handle_abort=0" >"$stage/others.opts"
echo "detect_leaks=$leaks:handle_segv=1:handle_sigbus=1:handle_sigfpe=1" >"$stage/node.opts"
export ASAN_OPTIONS="$common:include=$stage/others.opts:include_if_exists=$stage/%b.opts"
export LSAN_OPTIONS="suppressions=$stage/lsan.supp:print_suppressions=0:report_objects=0"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:log_path=$stage/logs/ubsan"

# The sanitized binary must be the one the suite loads: check in a fresh node.
node -e '
  require(process.argv[1] + "/dist/index.js");
  const maps = require("fs").readFileSync("/proc/self/maps", "utf8");
  if (!maps.includes(process.argv[2])) { console.error("not loaded:", process.argv[2]); process.exit(1); }
  if (!maps.includes("libasan")) { console.error("no ASan runtime"); process.exit(1); }
' "$root" "$binary"

echo "== test-asan: vitest $* (detect_leaks=$leaks)"
set +e
npx vitest run "$@"
status=$?
set -e
finished=$(date +%s)

# Every sanitizer report, from every process of the run, is in the logs. An ASan/UBSan error
# is always fatal; a leak report is ours only when a frame of its stack is in pidfd.node.
errors=0
for log in "$stage"/logs/*; do
  [ -e "$log" ] || continue
  if grep -q "ERROR: AddressSanitizer\|runtime error:\|ERROR: UndefinedBehaviorSanitizer" "$log"; then
    echo "---- $log" >&2
    cat "$log" >&2
    errors=$((errors + 1))
  elif grep -q "ERROR: LeakSanitizer" "$log"; then
    # Split into leak records; keep those with a pidfd.node frame.
    ours=$(awk -v RS='' '/(Direct|Indirect) leak/ && /pidfd\.node/' "$log")
    if [ -n "$ours" ]; then
      echo "---- leaks from pidfd.node in $log" >&2
      echo "$ours" >&2
      errors=$((errors + 1))
    fi
  fi
done
logs=$(find "$stage/logs" -type f | wc -l)
echo "== test-asan: vitest exit $status, $logs sanitizer log(s), $errors with errors of ours;" \
  "build $((built - start)) s, tests $((finished - built)) s, total $((finished - start)) s"
[ "$status" -eq 0 ] && [ "$errors" -eq 0 ]
