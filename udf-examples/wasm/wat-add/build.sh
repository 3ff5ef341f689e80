#!/bin/sh
# Assembles add.wat into build/add.wasm (the checked-in add.wasm is left alone): wat2wasm
# (Debian package wabt) when present, else wasm-tools inside the installed @bytecodealliance/jco,
# run on the project's own Node 24 (node_modules/.bin/node), whatever node is on PATH.
set -eu
cd "$(dirname "$0")"
root=$(cd ../../.. && pwd)
mkdir -p build
if command -v wat2wasm >/dev/null 2>&1; then
  wat2wasm add.wat -o build/add.wasm
else
  "$root/node_modules/.bin/node" --input-type=module -e "
    import { readFileSync, writeFileSync } from 'node:fs';
    import { parse } from '@bytecodealliance/jco';
    writeFileSync('build/add.wasm', await parse(readFileSync('add.wat', 'utf8')));"
fi
echo "built $(pwd)/build/add.wasm ($(wc -c < build/add.wasm) bytes)"
echo "deploy it: npm run strata -- fn deploy udf-examples/wasm/wat-add --module udf-examples/wasm/wat-add/build/add.wasm"
