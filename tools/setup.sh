#!/usr/bin/env bash
# Installs everything Flotilla needs on a fresh Debian machine, as root: Docker engines
# (docker.io, no daemon started), busybox-static for the offline test image, etcd, protoc with the
# Python and Go gRPC toolchains (tools/clients), the npm packages from the lockfile, Node.js 24 LTS
# (from the npm registry, see tools/node.sh), and a build of every project.
set -euo pipefail
cd "$(dirname "$0")/.."
source tools/node.sh

need=()
command -v dockerd >/dev/null || need+=(docker.io)
command -v busybox >/dev/null || need+=(busybox-static)
command -v etcd >/dev/null || need+=(etcd-server)
command -v ip >/dev/null || need+=(iproute2)
# The cluster CA (flotilla ca, the test certificates) is made with openssl.
command -v openssl >/dev/null || need+=(openssl)
command -v script >/dev/null || need+=(bsdutils)
# exec -it, run -it and attach are tested on a pseudo-terminal python3 drives (apps/cli/test/pty-session.py).
command -v python3 >/dev/null || need+=(python3)
# Engines in network namespaces of their own (engines.sh --netns) are entered with nsenter.
command -v nsenter >/dev/null || need+=(util-linux)
# The CLI's zsh completion is checked by zsh itself.
command -v zsh >/dev/null || need+=(zsh)
# The engine-agent's systemd unit is checked by systemd-analyze verify (tools/deploy).
command -v systemd-analyze >/dev/null || need+=(systemd)
# The Python and Go clients of tools/clients, generated from proto/ with Debian's protoc 3.21
# (3.15+ for proto3 optional; not python3-grpc-tools, whose bundled protoc 3.5.1 refuses it).
# libprotobuf-dev holds the well-known .proto files; golang-google-grpc-dev brings genproto
# (google.rpc Status, errdetails). Its golang/protobuf must be 1.5: apt's default, 1.3, cannot
# marshal what protoc-gen-go 1.28 generates.
for pkg in protobuf-compiler libprotobuf-dev protobuf-compiler-grpc python3-grpcio python3-protobuf \
  golang-go protoc-gen-go protoc-gen-go-grpc golang-google-protobuf-dev golang-google-grpc-dev \
  golang-google-genproto-dev golang-github-golang-protobuf-1-5-dev; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'ok installed' || need+=("$pkg")
done
if [ ${#need[@]} -gt 0 ]; then
  echo "setup: installing ${need[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q >/dev/null
  # The packages' own services are not wanted: engines and etcd are started by our scripts.
  printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d
  apt-get install -y -q --no-install-recommends "${need[@]}" >/dev/null
  rm -f /usr/sbin/policy-rc.d
fi

# Rebuild node_modules when the lockfile or the Node.js major changed since the last install.
stamp=node_modules/.flotilla-node-major
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ] || [ "$(cat $stamp 2>/dev/null)" != "$(flotilla_node_major)" ]; then
  echo "setup: npm ci"
  npm ci --no-audit --no-fund
  flotilla_node_major >"$stamp"
fi

export NX_NO_CLOUD=true NX_DAEMON=false
echo "setup: building"
npx nx run-many -t build --outputStyle=static >/dev/null
echo "setup: done"
