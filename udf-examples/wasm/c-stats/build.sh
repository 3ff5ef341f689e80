#!/bin/sh
# Builds stats.wasm (a WASI preview1 command) with clang + wasi-libc.
# Debian: apt-get install -y clang lld wasi-libc libclang-rt-14-dev-wasm32
set -eu
cd "$(dirname "$0")"
clang --target=wasm32-wasi -Os -Wl,--strip-all -o stats.wasm stats.c
echo "built $(pwd)/stats.wasm ($(wc -c < stats.wasm) bytes)"
