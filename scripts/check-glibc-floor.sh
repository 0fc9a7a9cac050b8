#!/usr/bin/env bash
# Fail if a native file needs a newer glibc / libstdc++ / libgcc_s than our floor.
#
#   scripts/check-glibc-floor.sh prebuilds/*/*.node build/Release/*.node
#
# Floor (override with the environment variables in brackets):
#   GLIBC_2.17      [GLIBC_FLOOR=2.17]     glibc of RHEL/CentOS 7; also the first glibc for aarch64
#   GLIBCXX_3.4.21  [GLIBCXX_FLOOR=3.4.21] libstdc++ of gcc 5.1 (first with the C++11 ABI)
#   CXXABI_1.3.9    [CXXABI_FLOOR=1.3.9]   libsupc++ ABI of gcc 5.1
#   GCC_4.8.0       [GCC_FLOOR=4.8.0]      libgcc_s: gcc 5 added no version after GCC_4.8.0
#                                          (GCC_7.0.0 came with gcc 7)
# Also fails on a DT_NEEDED library outside the base set every glibc system has (libc, libm,
# libdl, libpthread, librt, ld-linux, libstdc++, libgcc_s).
#
# Works for x86_64 and aarch64 files (aarch64-linux-gnu-objdump is used for arm64 when present;
# GNU objdump of this host also reads them, multiarch builds do). Exit 0: all fine; 1: offenders
# listed on stdout; 2: usage or tool error.
set -euo pipefail

GLIBC_FLOOR="${GLIBC_FLOOR:-2.17}"
GLIBCXX_FLOOR="${GLIBCXX_FLOOR:-3.4.21}"
CXXABI_FLOOR="${CXXABI_FLOOR:-1.3.9}"
GCC_FLOOR="${GCC_FLOOR:-4.8.0}"
ALLOWED_NEEDED_RE='^(libc\.so\.6|libm\.so\.6|libdl\.so\.2|libpthread\.so\.0|librt\.so\.1|ld-linux-x86-64\.so\.2|ld-linux-aarch64\.so\.1|libstdc\+\+\.so\.6|libgcc_s\.so\.1)$'

[ $# -ge 1 ] || { echo "usage: $0 FILE.node..." >&2; exit 2; }

# version_gt A B: true when dotted version A > B
version_gt() { [ "$1" != "$2" ] && [ "$(printf '%s\n%s\n' "$1" "$2" | sort -V | tail -1)" = "$1" ]; }

status=0
for f in "$@"; do
  [ -f "$f" ] || { echo "$f: no such file" >&2; exit 2; }
  machine="$(LC_ALL=C readelf -h "$f" 2>/dev/null | sed -n 's/^ *Machine: *//p')"
  case "$machine" in
    *AArch64*) arch=arm64; OBJDUMP=aarch64-linux-gnu-objdump ;;
    *X86-64*)  arch=x64;   OBJDUMP=x86_64-linux-gnu-objdump ;;
    *) echo "$f: not an x86-64/AArch64 ELF file (Machine: ${machine:-?})" >&2; exit 2 ;;
  esac
  command -v "$OBJDUMP" >/dev/null || OBJDUMP=objdump
  tmp="$(mktemp)"
  offenders=()
  # Dynamic symbols: lines like
  #   0000000000000000      DF *UND*  0000000000000000 (GLIBC_2.28) fcntl64
  #   0000000000000000      DF *UND*  0000000000000000  GLIBCXX_3.4.29 _ZSt28__throw_bad_array_new_lengthv
  LC_ALL=C "$OBJDUMP" -T "$f" > "$tmp" || { echo "$f: $OBJDUMP -T failed" >&2; rm -f "$tmp"; exit 2; }
  while read -r ver sym; do
    lib="${ver%%_*}"; num="${ver#*_}"
    case "$lib" in
      GLIBC)   floor="$GLIBC_FLOOR" ;;
      GLIBCXX) floor="$GLIBCXX_FLOOR" ;;
      CXXABI)  floor="$CXXABI_FLOOR" ;;
      GCC)     floor="$GCC_FLOOR" ;;
      *) continue ;;
    esac
    if version_gt "$num" "$floor"; then offenders+=("$sym@$ver"); fi
  done < <(grep -E '\*UND\*' "$tmp" |
           sed -nE 's/.*[[:space:]]\(?((GLIBC|GLIBCXX|CXXABI|GCC)_[0-9][0-9.]*)\)?[[:space:]]+([^[:space:]]+).*$/\1 \3/p')
  # Undefined, non-weak symbols without a version must come from node itself (napi_*, node_api_*,
  # uv_*, v8/node C++ symbols); anything else stays unresolved at dlopen() on every system, e.g.
  # glibc 2.36's <sys/pidfd.h> lacks extern "C", so pidfd_open() from C++ becomes _Z10pidfd_openij.
  while read -r sym; do
    offenders+=("$sym@(unversioned, not provided by node: undefined at load time)")
  done < <(awk '$0 ~ /\*UND\*/ && $2 != "w" && $NF != "" && $(NF-1) ~ /^(Base|\*UND\*|[0-9a-f]+)$/ {print $NF}' "$tmp" |
           grep -vE '^(napi_|node_api_|uv_|_ZN2v8|_ZNK2v8|_ZN4node|_ZNK4node|node_module_register)' || true)
  # Version references (what the loader actually checks), as a cross-check that no required
  # version escaped the symbol scan.
  LC_ALL=C "$OBJDUMP" -p "$f" > "$tmp"
  while read -r ver; do
    lib="${ver%%_*}"; num="${ver#*_}"
    case "$lib" in
      GLIBC) floor="$GLIBC_FLOOR" ;; GLIBCXX) floor="$GLIBCXX_FLOOR" ;;
      CXXABI) floor="$CXXABI_FLOOR" ;; GCC) floor="$GCC_FLOOR" ;; *) continue ;;
    esac
    if version_gt "$num" "$floor"; then
      found=0
      for o in "${offenders[@]+"${offenders[@]}"}"; do [ "${o##*@}" = "$ver" ] && found=1; done
      [ $found = 1 ] || offenders+=("(version reference)@$ver")
    fi
  done < <(sed -n '/^Version References:/,/^$/p' "$tmp" | grep -oE '(GLIBC|GLIBCXX|CXXABI|GCC)_[0-9][0-9.]*' | sort -u)
  bad_needed=()
  while read -r lib; do
    [[ "$lib" =~ $ALLOWED_NEEDED_RE ]] || bad_needed+=("$lib")
  done < <(sed -nE 's/^ *NEEDED +([^ ]+)$/\1/p' "$tmp")
  needed="$(sed -nE 's/^ *NEEDED +([^ ]+)$/\1/p' "$tmp" | tr '\n' ' ')"
  maxes="$(grep -oE '(GLIBC|GLIBCXX|CXXABI|GCC)_[0-9][0-9.]*' "$tmp" | sort -u | sort -t_ -k1,1 -k2,2V |
           awk -F_ '{m[$1]=$0} END {for (k in m) printf "%s ", m[k]}')"
  rm -f "$tmp"
  if [ ${#offenders[@]} -eq 0 ] && [ ${#bad_needed[@]} -eq 0 ]; then
    echo "OK   $f ($arch; needs: ${maxes:-nothing versioned}; NEEDED: $needed)"
  else
    status=1
    echo "FAIL $f ($arch; floor GLIBC_$GLIBC_FLOOR GLIBCXX_$GLIBCXX_FLOOR CXXABI_$CXXABI_FLOOR GCC_$GCC_FLOOR)"
    for o in "${offenders[@]+"${offenders[@]}"}"; do echo "       $o"; done | sort -u
    for l in "${bad_needed[@]+"${bad_needed[@]}"}"; do echo "       NEEDED $l (not in the base set)"; done
  fi
done
exit $status
