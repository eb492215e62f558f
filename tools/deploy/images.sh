#!/usr/bin/env bash
# Container images of the services, built on this machine with no registry:
#
#   images.sh base                 the Node.js base image, flotilla/node:VERSION (and :MAJOR), made
#                                  with `docker import` from a root filesystem holding this
#                                  machine's Node.js 24 binary (tools/node.sh), the shared libraries
#                                  `ldd` lists for it, /etc/passwd and /etc/group with the non-root
#                                  user flotilla (UID/GID 10001), and /tmp; no shell, no package manager
#   images.sh build SVC [TAG]      the image of SVC (engine-agent, cluster-manager, discovery) from
#                                  apps/SVC/Dockerfile with apps/SVC/deploy as the context, tagged
#                                  TAG (default flotilla/SVC:VERSION, VERSION from deploy/package.json);
#                                  makes the base image first when the engine lacks it. Prints TAG.
#
# Run `npx nx run-many -t build` first: it makes apps/SVC/deploy. Images go to the Docker engine of
# DOCKER_HOST (or docker's default). Docker's legacy builder is used (DOCKER_BUILDKIT=0): Debian's
# docker.io 20.10 has no BuildKit client here, and the Dockerfiles need nothing of BuildKit.
set -euo pipefail
cd "$(dirname "$0")/../.."
source tools/node.sh

FLOTILLA_UID=10001
export DOCKER_BUILDKIT=0

die() { echo "images.sh: $*" >&2; exit 2; }

node_version() { node -p 'process.versions.node'; }
base_tag() { echo "flotilla/node:$(node_version)"; }

has_image() { docker image inspect "$1" >/dev/null 2>&1; }

cmd_base() {
  local node_bin version root
  node_bin=$(command -v node)
  version=$(node_version)
  case $version in 24.*) ;; *) die "Node.js $version on PATH: the images need Node.js 24 (tools/node.sh)" ;; esac
  root=$(mktemp -d)
  trap "rm -rf '$root'" EXIT
  chmod 755 "$root"  # mktemp made it 0700: it is the image's /
  mkdir -p "$root/usr/local/bin" "$root/etc" "$root/tmp" "$root/app"
  chmod 1777 "$root/tmp"
  cp "$node_bin" "$root/usr/local/bin/node"
  # The shared libraries the binary loads, at the paths it looks for them (the loader included).
  local lib
  for lib in $(ldd "$node_bin" | awk '/=> \// { print $3 } /^[ \t]*\/[^ ]+ \(/ { print $1 }'); do
    mkdir -p "$root$(dirname "$lib")"
    cp -L "$lib" "$root$lib"
  done
  printf 'root:x:0:0:root:/root:/sbin/nologin\nflotilla:x:%s:%s:flotilla:/nonexistent:/sbin/nologin\n' "$FLOTILLA_UID" "$FLOTILLA_UID" >"$root/etc/passwd"
  printf 'root:x:0:\nflotilla:x:%s:\n' "$FLOTILLA_UID" >"$root/etc/group"
  # A check that the root filesystem is complete: the binary runs in it, alone.
  if command -v chroot >/dev/null && [ "$(id -u)" = 0 ]; then
    chroot "$root" /usr/local/bin/node -e 'process.exit(0)' || die "node does not run in the base root filesystem"
  fi
  tar --numeric-owner --owner=0 --group=0 -C "$root" -c . |
    docker import \
      --change 'ENV PATH=/usr/local/bin:/usr/bin:/bin' \
      --change 'ENV NODE_ENV=production' \
      --change 'WORKDIR /app' \
      --change "LABEL org.opencontainers.image.description=\"Node.js ${version} from the build machine, for Flotilla\"" \
      - "flotilla/node:${version}" >/dev/null
  docker tag "flotilla/node:${version}" "flotilla/node:${version%%.*}"
  echo "flotilla/node:${version}"
}

cmd_build() {
  local svc=${1:-} tag=${2:-} deploy version
  case $svc in engine-agent | cluster-manager | discovery) ;; *) die "build: SVC is engine-agent, cluster-manager or discovery (got '${svc}')" ;; esac
  deploy="apps/$svc/deploy"
  [ -s "$deploy/main.js" ] && [ -s "$deploy/health-check.js" ] || die "$deploy is missing or incomplete: run 'npx nx run-many -t build' first"
  version=$(node -p "require('./$deploy/package.json').version")
  tag=${tag:-flotilla/$svc:$version}
  has_image "$(base_tag)" || cmd_base >/dev/null
  docker build --quiet --build-arg "BASE=$(base_tag)" --tag "$tag" -f "apps/$svc/Dockerfile" "$deploy" >/dev/null
  echo "$tag"
}

case ${1:-} in
  base) cmd_base ;;
  build) shift; cmd_build "$@" ;;
  *) die "usage: images.sh base | build SVC [TAG]" ;;
esac
