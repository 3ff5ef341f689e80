#!/bin/sh
# Regenerate the TypeScript types of proto/strata/v1/*.proto into src/protocol/generated.
# proto-loader-gen-types writes extensionless imports; Node's type stripping (and tsc with
# nodenext) need ".ts", so they are added afterwards.
set -e
cd "$(dirname "$0")/.."
rm -rf src/protocol/generated
node_modules/.bin/proto-loader-gen-types --longs=String --enums=String --defaults --oneofs --includeComments \
  --grpcLib=@grpc/grpc-js -I proto -O src/protocol/generated strata/v1/link.proto
find src/protocol/generated -name '*.ts' -exec sed -i -E "s#(from '\./[^']*)';#\1.ts';#; s#(from '\.\./[^']*)';#\1.ts';#" {} +
