#!/bin/sh
# Compiles wordcount.js into a component (build/wordcount.component.wasm); see build.ts.
set -eu
cd "$(dirname "$0")"
node build.ts "${1:-starlingmonkey}"
