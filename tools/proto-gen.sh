#!/usr/bin/env bash
# Generates the TypeScript for proto/ (ts-proto through buf) and the descriptor set that server
# reflection serves. Never edit libs/proto/src/gen by hand; CI fails when it is stale.
set -euo pipefail
cd "$(dirname "$0")/.."
npx buf lint
npx buf generate
npx buf build -o libs/proto/descriptor/flotilla.binpb
# The standard health service, for reflection (grpc-health-check ships its .proto).
npx buf build node_modules/grpc-health-check/proto -o libs/grpc/descriptor/health.binpb
