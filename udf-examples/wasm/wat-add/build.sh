#!/bin/sh
# Assembles add.wat into add.wasm: wat2wasm (Debian package wabt) when present, else wasm-tools
# through the installed @bytecodealliance/jco (no extra toolchain needed).
set -eu
cd "$(dirname "$0")"
if command -v wat2wasm >/dev/null 2>&1; then
  wat2wasm add.wat -o add.wasm
else
  node --input-type=module -e "
    import { readFileSync, writeFileSync } from 'node:fs';
    import { parse } from '@bytecodealliance/jco';
    writeFileSync('add.wasm', await parse(readFileSync('add.wat', 'utf8')));"
fi
echo "built $(pwd)/add.wasm ($(wc -c < add.wasm) bytes)"
