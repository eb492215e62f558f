#!/usr/bin/env bash
# Generates the TypeScript for proto/ (ts-proto through buf) and the descriptor sets that server
# reflection serves. Never edit libs/proto/src/gen by hand; the test command fails when it is stale.
# FLOTILLA_PROTO_OUT=DIR writes everything under DIR instead (to compare with what is committed).
set -euo pipefail
cd "$(dirname "$0")/.."
out=${FLOTILLA_PROTO_OUT:-.}
mkdir -p "$out/libs/proto/descriptor" "$out/libs/grpc/descriptor"
npx buf lint
npx buf generate --output "$out"
# One descriptor set per service (its files and what they import, and the version service every
# server serves too), so a server's reflection lists only the services it serves.
for service in cluster agent discovery; do
  npx buf build --path "proto/flotilla/$service" --path proto/flotilla/version -o "$out/libs/proto/descriptor/$service.binpb"
done
# The standard health service, for reflection (grpc-health-check ships its .proto).
npx buf build node_modules/grpc-health-check/proto -o "$out/libs/grpc/descriptor/health.binpb"
