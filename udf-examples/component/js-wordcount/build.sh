#!/bin/sh
# Compiles wordcount.js into build/wordcount.component.wasm on the project's Node
# (node_modules/.bin/node); see build.ts. `./build.sh quickjs` picks the other engine.
set -eu
cd "$(dirname "$0")"
root=$(cd ../../.. && pwd)
"$root/node_modules/.bin/node" build.ts "${1:-starlingmonkey}"
