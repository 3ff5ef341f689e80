#!/bin/sh
# Builds build/shout.wasm, a component exporting run(input: string) -> string; the checked-in
# shout.wasm is left alone. The component step runs on the project's Node (node_modules/.bin/node).
# Debian: apt-get install -y clang lld wasi-libc libclang-rt-14-dev-wasm32
set -eu
cd "$(dirname "$0")"
root=$(cd ../../.. && pwd)
mkdir -p build
clang --target=wasm32-wasi -mexec-model=reactor -Os -Wl,--strip-all -o build/shout.core.wasm shout.c
"$root/node_modules/.bin/node" build.ts
rm -f build/shout.core.wasm
echo "deploy it: npm run strata -- fn deploy udf-examples/component/c-shout --module udf-examples/component/c-shout/build/shout.wasm"
