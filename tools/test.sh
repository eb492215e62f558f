#!/usr/bin/env bash
# The one test command: installs what is missing, checks the public contract (buf lint, generated
# code up to date, buf breaking against the previous commit), builds, and runs every project's
# tests through Nx against real Docker engines and etcd that the tests start themselves.
set -euo pipefail
cd "$(dirname "$0")/.."
source tools/node.sh
bash tools/setup.sh
export NX_NO_CLOUD=true NX_DAEMON=false

echo "test: buf lint"
npx buf lint

echo "test: generated code is up to date"
fresh=$(mktemp -d)
FLOTILLA_PROTO_OUT="$fresh" bash tools/proto-gen.sh >/dev/null
for d in libs/proto/src/gen libs/proto/descriptor libs/grpc/descriptor; do
  if ! diff -r "$fresh/$d" "$d" >/dev/null; then
    diff -r "$fresh/$d" "$d" | head -n 20
    echo "test: $d is stale: run 'npm run proto:gen' and commit the result" >&2
    exit 1
  fi
done
rm -rf "$fresh"

# The contract's one allowed breaking change (proto/CHANGES.md) moved flotilla.v1 to one package per
# service; against a commit from before it (proto/flotilla/v1) there is nothing to compare.
if git rev-parse -q --verify HEAD~1 >/dev/null && git cat-file -e HEAD~1:proto 2>/dev/null \
  && ! git cat-file -e HEAD~1:proto/flotilla/v1 2>/dev/null; then
  echo "test: buf breaking against HEAD~1"
  npx buf breaking --against '.git#ref=HEAD~1'
fi

echo "test: type-check every source and test file"
npx tsc -p tsconfig.check.json

results=$(mktemp -d)
trap 'rm -rf "$results"' EXIT
echo "test: running every project's tests"
status=0
FLOTILLA_TEST_RESULTS="$results" npx nx run-many -t test --outputStyle=stream --parallel=1 || status=$?
node tools/jest/summarise.js "$results"
exit $status
