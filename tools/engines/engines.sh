#!/usr/bin/env bash
# Starts and stops isolated, real Docker engines on this machine, loopback only.
#
#   engines.sh install                       install docker.io and busybox-static if dockerd is missing
#   engines.sh start DIR COUNT [--label k=v]... [--label@N k=v]... [--shared-key]
#                            [--netns [--netns-forward PORT]...]
#                                            --label@N labels engine N only; --netns: see below
#   engines.sh start-one DIR NAME            (re)start one engine from its saved arguments
#   engines.sh stop-one DIR NAME             stop one engine (SIGTERM, then SIGKILL after a deadline)
#   engines.sh kill-one DIR NAME             SIGKILL one engine's dockerd (its containerd stays)
#   engines.sh stop DIR                      stop every engine under DIR
#   engines.sh list DIR                      one line per engine: NAME SOCKET PID
#
# Each engine lives in DIR/NAME with its own data root, exec root, unix socket, pidfile, key file
# (so each has its own engine ID) and labels. It listens on its unix socket only (root and the
# docker group), never on TCP: a plaintext Docker API port is root on the host for any local user
# who finds it. It never creates the
# default bridge (--bridge=none --iptables=false). Only processes whose PIDs this script recorded
# are ever signalled. A small busybox image, busybox:local, is imported offline into each engine.
# With --netns each engine's dockerd runs in a network namespace of its own (`ip netns add
# flotilla-<12 hex of sha256 of the engine's absolute dir>`, name kept in DIR/NAME/netns), so
# user-defined (bridge) networks can be created on it without touching the host's network; host
# networking and published ports then live in that namespace, not on the host's loopback. Its
# socket stays in DIR/NAME. Stopping an engine deletes its namespace; start-one re-creates it.
# --netns-forward PORT relays 127.0.0.1:PORT in each namespace to 127.0.0.1:PORT on the host (one
# relay process per engine, PID in DIR/NAME/forward.pid), e.g. for dockerd to pull from a registry
# on the host's loopback. No interface or address is added on the host for it.
set -euo pipefail

IMAGE=busybox:local
START_DEADLINE=${FLOTILLA_ENGINE_START_DEADLINE:-60}
STOP_DEADLINE=${FLOTILLA_ENGINE_STOP_DEADLINE:-20}

die() { echo "engines.sh: $*" >&2; exit 2; }
docker_cli() { command -v docker >/dev/null && echo docker || echo /usr/bin/docker; }

cmd_install() {
  if command -v dockerd >/dev/null && command -v busybox >/dev/null; then return 0; fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q >/dev/null
  apt-get install -y -q docker.io busybox-static >/dev/null
}

# The rootfs tarball for busybox:local, built once per DIR from the static busybox.
image_tar() {
  local dir=$1 tar="$1/busybox-local.tar"
  if [ ! -s "$tar" ]; then
    local root; root=$(mktemp -d "$dir/rootfs.XXXXXX")
    mkdir -p "$root/bin" "$root/tmp" "$root/etc"
    cp "$(command -v busybox)" "$root/bin/busybox"
    for applet in sh sleep echo true false cat ls env date printf yes head tail wc nc kill; do
      ln -s busybox "$root/bin/$applet"
    done
    echo "root:x:0:0:root:/:/bin/sh" >"$root/etc/passwd"
    tar -C "$root" -cf "$tar.part" . && mv "$tar.part" "$tar"
    rm -rf "$root"
  fi
  echo "$tar"
}

alive() { [ -n "${1:-}" ] && kill -0 "$1" 2>/dev/null; }
pid_of() { [ -s "$1" ] && cat "$1" || true; }

# The network namespace of an engine directory (stable per absolute path, unique across DIRs).
netns_name() { echo "flotilla-$(printf '%s' "$1" | sha256sum | cut -c1-12)"; }
netns_exists() { [ -e "/run/netns/$1" ]; }
# Deletes an engine's namespace, if it has one; a namespace already gone is fine.
netns_del() {
  local edir=$1 ns
  [ -s "$edir/netns" ] || return 0
  ns=$(cat "$edir/netns")
  ip netns del "$ns" 2>/dev/null || true
}
# Creates the engine's namespace with lo up; with "fresh", a stale one of that name is replaced.
netns_up() {
  local edir=$1 fresh=${2:-} ns; ns=$(cat "$edir/netns")
  if netns_exists "$ns"; then
    [ "$fresh" = fresh ] || return 0
    ip netns del "$ns" 2>/dev/null || true
  fi
  ip netns add "$ns" || die "cannot create network namespace $ns"
  ip -n "$ns" link set lo up
}

# The relay of --netns-forward: binds 127.0.0.1:PORT in the namespace, connects on the host.
FORWARD_PY='
import ctypes, os, socket, sys, threading
libc = ctypes.CDLL(None, use_errno=True)
def enter(fd):
    if libc.setns(fd, 0x40000000) != 0: raise OSError(ctypes.get_errno(), "setns")
ns, ready, ports = sys.argv[1], sys.argv[2], [int(p) for p in sys.argv[3:]]
host = os.open("/proc/self/ns/net", os.O_RDONLY)
inside = os.open("/run/netns/" + ns, os.O_RDONLY)
enter(inside)
listeners = []
for port in ports:
    l = socket.socket(); l.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    l.bind(("127.0.0.1", port)); l.listen(64); listeners.append((l, port))
enter(host)
def pipe(a, b):
    try:
        while True:
            data = a.recv(65536)
            if not data: break
            b.sendall(data)
    except OSError: pass
    for s, how in ((b, socket.SHUT_WR), (a, socket.SHUT_RD)):
        try: s.shutdown(how)
        except OSError: pass
def serve(c, port):
    try: h = socket.create_connection(("127.0.0.1", port))
    except OSError: c.close(); return
    t = threading.Thread(target=pipe, args=(h, c), daemon=True); t.start()
    pipe(c, h); t.join(); c.close(); h.close()
def accept(l, port):
    while True:
        c, _ = l.accept()
        threading.Thread(target=serve, args=(c, port), daemon=True).start()
for l, port in listeners: threading.Thread(target=accept, args=(l, port), daemon=True).start()
open(ready, "w").close()
threading.Event().wait()
'

start_forward() {
  local edir=$1 ns=$2
  [ -s "$edir/forward" ] || return 0
  command -v python3 >/dev/null || die "--netns-forward needs python3"
  stop_pid "$(pid_of "$edir/forward.pid")"
  local -a ports; mapfile -t ports <"$edir/forward"
  rm -f "$edir/forward.ready"
  setsid python3 -c "$FORWARD_PY" "$ns" "$edir/forward.ready" "${ports[@]}" >>"$edir/forward.log" 2>&1 </dev/null &
  echo $! >"$edir/forward.pid"
  local deadline=$((SECONDS + START_DEADLINE))
  until [ -e "$edir/forward.ready" ]; do
    if [ $SECONDS -ge $deadline ] || ! alive "$(cat "$edir/forward.pid")"; then
      tail -n 20 "$edir/forward.log" >&2
      die "the --netns-forward relay of $(basename "$edir") did not start"
    fi
    sleep 0.1
  done
}

# Launch dockerd for one engine directory from its saved args file, wait until it answers.
# With DIR/NAME/netns, dockerd runs in that network namespace (created if missing; replaced when
# the second argument is "fresh"). nsenter --net switches only the network namespace and execs
# dockerd in place, so $! is dockerd's PID as without it. (Not `ip netns exec`: that also gives the
# process a mount namespace with a fresh /sys, which hides /sys/fs/cgroup from dockerd.)
launch() {
  local edir=$1 fresh=${2:-}
  local -a args
  mapfile -t args <"$edir/args"
  local pid; pid=$(pid_of "$edir/docker.pid")
  if alive "$pid"; then die "$(basename "$edir") already runs as PID $pid"; fi
  rm -f "$edir/docker.pid" "$edir/docker.sock"
  local -a in_ns=()
  if [ -s "$edir/netns" ]; then
    netns_up "$edir" "$fresh"
    in_ns=(nsenter "--net=/run/netns/$(cat "$edir/netns")")
    start_forward "$edir" "$(cat "$edir/netns")"
  fi
  setsid "${in_ns[@]}" dockerd "${args[@]}" >>"$edir/dockerd.log" 2>&1 </dev/null &
  echo $! >"$edir/launcher.pid"
  local deadline=$((SECONDS + START_DEADLINE))
  until "$(docker_cli)" -H "unix://$edir/docker.sock" version >/dev/null 2>&1; do
    if [ $SECONDS -ge $deadline ] || ! alive "$(cat "$edir/launcher.pid")"; then
      tail -n 20 "$edir/dockerd.log" >&2
      die "engine $(basename "$edir") did not start"
    fi
    sleep 0.2
  done
}

# The first engine of DIR imports the rootfs and saves the image; the others load that save, so
# every engine of DIR holds the same image ID, as engines that pulled one image from a registry do.
import_image() {
  local edir=$1 tar=$2 saved="$(dirname "$1")/busybox-local.image.tar"
  local -a cli=("$(docker_cli)" -H "unix://$edir/docker.sock")
  if "${cli[@]}" image inspect "$IMAGE" >/dev/null 2>&1; then return 0; fi
  if [ -s "$saved" ]; then
    "${cli[@]}" load -q -i "$saved" >/dev/null
  else
    "${cli[@]}" import "$tar" "$IMAGE" >/dev/null
    "${cli[@]}" save -o "$saved.part" "$IMAGE" && mv "$saved.part" "$saved"
  fi
}

cmd_start() {
  local dir=$1 count=$2; shift 2
  local -a labels=() forward=(); local shared_key=0 netns=0; local -A own_labels=()
  while [ $# -gt 0 ]; do
    case $1 in
      --label) labels+=("--label" "$2"); shift 2 ;;
      --label@*) own_labels[${1#--label@}]+="$2 "; shift 2 ;;
      --shared-key) shared_key=1; shift ;;
      --netns) netns=1; shift ;;
      --netns-forward) [[ ${2:-} =~ ^[1-9][0-9]{0,4}$ ]] || die "--netns-forward takes a port"; forward+=("$2"); shift 2 ;;
      *) die "unknown option $1" ;;
    esac
  done
  [ ${#forward[@]} -eq 0 ] || [ "$netns" = 1 ] || die "--netns-forward needs --netns"
  mkdir -p "$dir"; dir=$(cd "$dir" && pwd)
  local tar; tar=$(image_tar "$dir")
  local i
  for i in $(seq 1 "$count"); do
    local name="engine-$i" edir="$dir/engine-$i"
    mkdir -p "$edir/data" "$edir/exec"
    local key="$edir/key.json"
    [ "$shared_key" = 1 ] && key="$dir/shared-key.json"
    cat >"$edir/daemon.json" <<JSON
{"deprecated-key-path": "$key", "shutdown-timeout": 2}
JSON
    local -a mine=(); local l
    for l in ${own_labels[$i]:-}; do mine+=("--label" "$l"); done
    printf '%s\n' --config-file "$edir/daemon.json" \
      --host "unix://$edir/docker.sock" \
      --data-root "$edir/data" --exec-root "$edir/exec" --pidfile "$edir/docker.pid" \
      --storage-driver vfs --bridge=none --iptables=false --ip6tables=false --ip-forward=false \
      --ip-masq=false --userland-proxy=false \
      --label "flotilla.engine=$name" "${labels[@]}" "${mine[@]}" >"$edir/args"
    # A namespace left by an earlier run of this folder is dropped (unless that engine still runs:
    # then launch refuses to start it again).
    if ! alive "$(pid_of "$edir/docker.pid")"; then
      stop_pid "$(pid_of "$edir/forward.pid")"
      netns_del "$edir"; rm -f "$edir/netns" "$edir/forward" "$edir/forward.pid"
    fi
    if [ "$netns" = 1 ]; then netns_name "$edir" >"$edir/netns"; fi
    if [ ${#forward[@]} -gt 0 ]; then printf '%s\n' "${forward[@]}" >"$edir/forward"; fi
    launch "$edir" fresh
    import_image "$edir" "$tar"
  done
  # Only the engines started now: a folder reused with fewer engines keeps stale engine-N folders.
  cmd_list "$dir" | awk -v n="$count" '{ split($1, p, "-"); if (p[2] + 0 <= n) print }'
}

# Waits for a PID to exit; SIGKILL after the deadline.
stop_pid() {
  local pid=$1
  alive "$pid" || return 0
  kill -TERM "$pid" 2>/dev/null || true
  local deadline=$((SECONDS + STOP_DEADLINE))
  while alive "$pid"; do
    if [ $SECONDS -ge $deadline ]; then kill -KILL "$pid" 2>/dev/null || true; sleep 0.1; fi
    sleep 0.1
  done
}

cmd_stop_one() {
  local edir="$1/$2"
  [ -d "$edir" ] || die "no engine $2 under $1"
  stop_pid "$(pid_of "$edir/launcher.pid")"
  # dockerd normally stops its own containerd; one left behind by a SIGKILL is stopped here.
  stop_pid "$(pid_of "$edir/exec/containerd/containerd.pid")"
  rm -f "$edir/docker.pid"
  # After dockerd and containerd have exited; the name stays in $edir/netns for start-one.
  stop_pid "$(pid_of "$edir/forward.pid")"
  netns_del "$edir"
}

cmd_kill_one() {
  local edir="$1/$2"
  local pid; pid=$(pid_of "$edir/launcher.pid")
  alive "$pid" && kill -KILL "$pid"
  while alive "$pid"; do sleep 0.05; done
}

cmd_start_one() {
  local edir="$1/$2"
  [ -f "$edir/args" ] || die "no engine $2 under $1"
  # A containerd left behind by kill-one would hold the exec root.
  stop_pid "$(pid_of "$edir/exec/containerd/containerd.pid")"
  launch "$edir"
}

cmd_stop() {
  local dir=$1 edir
  [ -d "$dir" ] || return 0
  for edir in "$dir"/engine-*; do
    [ -f "$edir/args" ] || continue
    cmd_stop_one "$dir" "$(basename "$edir")" &
  done
  wait
  # Container filesystems and mounts live under data/; unmount before deleting.
  for edir in "$dir"/engine-*; do
    [ -d "$edir" ] || continue
    { grep -o " $edir/[^ ]*" /proc/self/mounts || true; } | sort -r | while read -r m; do umount -l "$m" 2>/dev/null || true; done
  done
}

cmd_list() {
  local dir=$1 edir
  for edir in "$dir"/engine-*; do
    [ -f "$edir/args" ] || continue
    echo "$(basename "$edir") unix://$edir/docker.sock $(pid_of "$edir/launcher.pid")"
  done
}

sub=${1:-}; shift || true
case $sub in
  install) cmd_install ;;
  start) [ $# -ge 2 ] || die "usage: start DIR COUNT [--label k=v]... [--shared-key] [--netns [--netns-forward PORT]...]"; cmd_install; cmd_start "$@" ;;
  start-one) [ $# -eq 2 ] || die "usage: start-one DIR NAME"; cmd_start_one "$@" ;;
  stop-one) [ $# -eq 2 ] || die "usage: stop-one DIR NAME"; cmd_stop_one "$@" ;;
  kill-one) [ $# -eq 2 ] || die "usage: kill-one DIR NAME"; cmd_kill_one "$@" ;;
  stop) [ $# -eq 1 ] || die "usage: stop DIR"; cmd_stop "$@" ;;
  list) [ $# -eq 1 ] || die "usage: list DIR"; cmd_list "$@" ;;
  *) sed -n '2,27p' "$0" >&2; exit 2 ;;
esac
