#!/bin/sh
# Builds shout.wasm, a component exporting run(input: string) -> string.
# Debian: apt-get install -y clang lld wasi-libc libclang-rt-14-dev-wasm32
set -eu
cd "$(dirname "$0")"
clang --target=wasm32-wasi -mexec-model=reactor -Os -Wl,--strip-all -o shout.core.wasm shout.c
node build.ts
rm -f shout.core.wasm
