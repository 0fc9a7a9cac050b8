#!/bin/sh
# Builds the pidfd-keeper program (keeper_program.c beside it) into $1: static, freestanding, no
# libc, with the C compiler node-gyp uses ($CC: a cross or zig wrapper in scripts/prebuild.sh),
# but none of the addon's flags ($CFLAGS may ask for sanitizers, which need a runtime).
# binding.gyp runs it as an action: the program lands beside the .node file. Compiled and
# linked apart: `zig cc -nostdlib` would also drop the libc headers the constants come from.
set -eu
out=$1
src=$(dirname "$0")
${CC:-cc} -std=gnu11 -O2 -ffreestanding -fno-builtin -fno-stack-protector -fno-asynchronous-unwind-tables \
  -fno-pie -Wall -Wextra -c -o "$out.o" "$src/keeper_program.c"
${CC:-cc} -static -nostdlib -no-pie -o "$out" "$out.o"
rm -f "$out.o"
