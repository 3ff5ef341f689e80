#!/bin/sh
# Builds build/stats.wasm (a WASI preview1 command) with clang + wasi-libc; the checked-in
# stats.wasm is left alone. Debian: apt-get install -y clang lld wasi-libc libclang-rt-14-dev-wasm32
set -eu
cd "$(dirname "$0")"
mkdir -p build
clang --target=wasm32-wasi -Os -Wl,--strip-all -o build/stats.wasm stats.c
echo "built $(pwd)/build/stats.wasm ($(wc -c < build/stats.wasm) bytes)"
echo "deploy it: npm run strata -- fn deploy udf-examples/wasm/c-stats --module udf-examples/wasm/c-stats/build/stats.wasm"
