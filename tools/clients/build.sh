#!/usr/bin/env bash
# Generates a client's code from the public contract (proto/flotilla/*/v1) with Debian's protoc, into
# OUT (never into the repository), and for Go builds the client program, offline:
#
#   tools/clients/build.sh python OUT   # OUT/python: flotilla/*/v1/*_pb2*.py, google/rpc/*_pb2.py
#   tools/clients/build.sh go OUT       # OUT/go/src/...: generated packages; OUT/flotilla-go-client
#
# Needs protoc 3.15 or later (proto3 `optional`); Debian 12's protobuf-compiler 3.21 works.
# Python: grpc_python_plugin (protobuf-compiler-grpc), python3-grpcio, python3-protobuf; the
# google.rpc messages come from tools/clients/proto (Debian has no Python googleapis protos).
# Go: golang-go, protoc-gen-go, protoc-gen-go-grpc and the -dev packages under /usr/share/gocode
# (golang-google-grpc-dev brings golang-google-genproto-dev: google.rpc's Status and errdetails),
# built in GOPATH mode, so nothing is downloaded.
set -euo pipefail
lang=${1:?usage: build.sh python|go OUT}
out=${2:?usage: build.sh python|go OUT}
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
mkdir -p "$out"
out=$(cd "$out" && pwd)

protoc_version=$(protoc --version | awk '{print $2}')
IFS=. read -r major minor _ <<<"$protoc_version"
if [ "$major" -lt 3 ] || { [ "$major" -eq 3 ] && [ "$minor" -lt 15 ]; }; then
  echo "build.sh: protoc $protoc_version is too old: the contract uses proto3 optional (3.15 or later)" >&2
  exit 1
fi

contract=()
for f in "$root"/proto/flotilla/*/v1/*.proto; do contract+=("${f#"$root/proto/"}"); done

case $lang in
  python)
    mkdir -p "$out/python"
    protoc -I "$root/proto" -I "$here/proto" \
      --plugin=protoc-gen-grpc_python="$(command -v grpc_python_plugin)" \
      --python_out="$out/python" --grpc_python_out="$out/python" \
      "${contract[@]}" google/rpc/status.proto google/rpc/error_details.proto
    ;;
  go)
    # The contract has no go_package option: map each proto package (flotilla/NAME/v1) to a Go
    # package flotilla.local/NAMEv1 here.
    maps=()
    for f in "${contract[@]}"; do
      name=$(basename "$(dirname "$(dirname "$f")")")
      maps+=("M$f=flotilla.local/${name}v1;${name}v1")
    done
    go_opts=$(IFS=,; echo "${maps[*]}")
    mkdir -p "$out/go/src"
    protoc -I "$root/proto" \
      --go_out="$out/go/src" --go_opt="$go_opts" \
      --go-grpc_out="$out/go/src" --go-grpc_opt="$go_opts" \
      "${contract[@]}"
    # GOPATH mode: the generated package first, then Debian's Go libraries; no module proxy.
    (cd "$here/go" && GO111MODULE=off GOPATH="$out/go:/usr/share/gocode" GOPROXY=off GOFLAGS= \
      go build -o "$out/flotilla-go-client" .)
    ;;
  *)
    echo "build.sh: unknown language $lang (python or go)" >&2
    exit 2
    ;;
esac
