#!/usr/bin/env bash
# Brings up a local Flotilla cluster on embedded defaults and keeps it running until Ctrl-C: N real
# Docker engines (no default bridge; each in a network namespace of its own, so `flotilla network
# create` is safe and published ports live there, not on the host), one engine-agent beside each,
# the cluster-manager (started empty), and discovery, which feeds it the agents it finds.
#
#   bash tools/local-cluster.sh [--engines N] [--dir DIR] [--discovery file|nodes] [--insecure]
#
# Secure by default: a cluster CA in DIR/pki (made once, kept), a certificate per service (role in
# its OU), mutual TLS on every link, engines on unix sockets only, the default container policy;
# and an operator certificate installed as this user's CLI identity ($XDG_CONFIG_HOME/flotilla/tls),
# so `flotilla` works with no flags. --insecure runs every service in plaintext on loopback instead.
#
# Ports: discovery on 127.0.0.1:4230, the manager on 127.0.0.1:4240, agents on 127.0.0.1:4250...;
# each service's Prometheus /metrics on its gRPC port + 1000 (5230, 5240, 5250...). A demo
# registry on 127.0.0.1:4229 (relayed into each engine's namespace) serves demo/app:1 to the user
# "demo" with the password in DIR/registry-password, to try `flotilla login` and pulls.
# Everything it started is stopped by PID on exit; state lives in DIR (default .flotilla/cluster);
# with file discovery the agents are listed in DIR/discovery.txt.
set -euo pipefail
cd "$(dirname "$0")/.."
source tools/node.sh
root=$(pwd)

count=3
insecure=0
dir=$root/.flotilla/cluster
mode=file
while [ $# -gt 0 ]; do
  case $1 in
    --engines) count=$2; shift 2 ;;
    --dir) dir=$2; shift 2 ;;
    --discovery) mode=$2; shift 2 ;;
    --insecure) insecure=1; shift ;;
    -h|--help) sed -n '2,19p' "$0"; exit 0 ;;
    *) echo "local-cluster: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
done
[[ $count =~ ^[1-9][0-9]?$ ]] || { echo "local-cluster: --engines takes 1 to 99, not '$count'" >&2; exit 2; }
[[ $mode =~ ^(file|nodes)$ ]] || { echo "local-cluster: --discovery takes file or nodes, not '$mode'" >&2; exit 2; }

bash tools/setup.sh

registry_port=4229
discovery_port=4230
manager_port=4240
agent_port=4250
zones=(a b c d e f g h i j)
labels=()
for i in $(seq 1 "$count"); do labels+=("--label@$i" "zone=${zones[$(((i - 1) % 10))]}"); done

agent_pids=()
cleanup() {
  trap - EXIT INT TERM
  echo
  echo "local-cluster: stopping"
  for pid in "${agent_pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${agent_pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  bash tools/engines/engines.sh stop "$dir/engines" || true
}
trap cleanup EXIT INT TERM

bash tools/engines/engines.sh stop "$dir/engines" >/dev/null 2>&1 || true
mkdir -p "$dir/logs"
echo "local-cluster: starting $count Docker engines"
bash tools/engines/engines.sh start "$dir/engines" "$count" "${labels[@]}" --netns --netns-forward "$registry_port" >"$dir/engines.txt"

flotilla() { node apps/cli/dist/main.js "$@" </dev/null; }
pki=$dir/pki
# identity ROLE NAME: the flags that give a service its certificate (or --insecure).
identity() {
  if [ "$insecure" = 1 ]; then echo --insecure; return; fi
  [ -f "$pki/$2.crt" ] || flotilla ca issue --dir "$pki" --role "$1" "$2" >/dev/null
  echo --tls-ca "$pki/ca.crt" --tls-cert "$pki/$2.crt" --tls-key "$pki/$2.key"
}
if [ "$insecure" = 0 ]; then
  [ -f "$pki/ca.key" ] || flotilla ca init --dir "$pki" --name "Flotilla local cluster CA" >/dev/null
  # This user's CLI identity: an operator of the local cluster.
  flotilla ca issue --dir "$pki" --role operator --install "operator-$(id -un)" >/dev/null
fi

i=0
while read -r name socket _pid; do
  port=$((agent_port + i))
  # shellcheck disable=SC2046
  node apps/engine-agent/dist/main.js --docker-host "$socket" --listen "127.0.0.1:$port" --metrics-address "127.0.0.1:$((port + 1000))" $(identity agent "agent-$name") \
    >"$dir/logs/agent-$name.log" 2>&1 &
  agent_pids+=($!)
  echo "$name $socket 127.0.0.1:$port" >>"$dir/agents.txt.new"
  i=$((i + 1))
done <"$dir/engines.txt"
mv "$dir/agents.txt.new" "$dir/agents.txt"

# The manager starts empty: the engines arrive through discovery.
# shellcheck disable=SC2046
node apps/cluster-manager/dist/main.js --listen "127.0.0.1:$manager_port" --metrics-address "127.0.0.1:$((manager_port + 1000))" $(identity manager manager) \
  >"$dir/logs/manager.log" 2>&1 &
agent_pids+=($!)

if [ "$mode" = file ]; then
  {
    echo "# Engine-agents for discovery, one HOST:PORT (or range) per line; edits apply at once."
    awk '{print $3}' "$dir/agents.txt"
  } >"$dir/discovery.txt.new"
  mv "$dir/discovery.txt.new" "$dir/discovery.txt"
  discovery_uri="file://$dir/discovery.txt"
else
  discovery_uri="nodes://127.0.0.1:[$agent_port:$((agent_port + count - 1))]"
fi
# shellcheck disable=SC2046
node apps/discovery/dist/main.js --listen "127.0.0.1:$discovery_port" --metrics-address "127.0.0.1:$((discovery_port + 1000))" --discovery "$discovery_uri" $(identity discovery discovery) \
  --manager "127.0.0.1:$manager_port" >"$dir/logs/discovery.log" 2>&1 &
agent_pids+=($!)

# The demo registry, with a password of its own (made once, kept with the cluster's state).
[ -s "$dir/registry-password" ] || (umask 077 && head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$dir/registry-password")
node tools/registry/serve.js "$registry_port" "$dir/registry-password" >"$dir/logs/registry.log" 2>&1 &
agent_pids+=($!)

# By name, not by glob: a background job opens its log in the child, maybe after we look.
for name in $(awk '{print $1}' "$dir/agents.txt"); do
  log=$dir/logs/agent-$name.log
  for _ in $(seq 1 150); do grep -qs '"Docker engine reachable"' "$log" && break; sleep 0.2; done
  grep -q '"Docker engine reachable"' "$log" || { echo "local-cluster: an agent did not come up; see $log" >&2; tail -n 5 "$log" >&2; exit 1; }
done

for _ in $(seq 1 150); do
  [ "$(grep -c '"engine connected"' "$dir/logs/manager.log" || true)" -ge "$count" ] && break
  sleep 0.2
done
[ "$(grep -c '"engine connected"' "$dir/logs/manager.log" || true)" -ge "$count" ] || { echo "local-cluster: the manager did not validate every engine; see $dir/logs/manager.log" >&2; exit 1; }

cat <<TEXT

Flotilla local cluster is up: the cluster-manager at 127.0.0.1:$manager_port, $count engines found by
discovery at 127.0.0.1:$discovery_port ($discovery_uri).
A demo registry at 127.0.0.1:$registry_port: user demo, password in $dir/registry-password (image 127.0.0.1:$registry_port/demo/app:1).
Prometheus metrics: curl http://127.0.0.1:$((manager_port + 1000))/metrics (discovery $((discovery_port + 1000)), agents from $((agent_port + 1000))).
Ctrl-C stops everything.

  engine     Docker engine (docker -H ..., root only)                      engine-agent (gRPC)
$(while read -r name socket agent; do printf '  %-10s %-60s %s\n' "$name" "$socket" "$agent"; done <"$dir/agents.txt")

$([ "$insecure" = 1 ] && echo "INSECURE: plaintext, no certificates: any local user may call every service." || echo "Mutual TLS: CA and certificates in $pki; your CLI identity (operator) in \${XDG_CONFIG_HOME:-\$HOME/.config}/flotilla/tls.")

Try:
  alias flotilla="$(command -v node) $root/apps/cli/dist/main.js"
  flotilla info
  flotilla login -u demo --password-stdin 127.0.0.1:$registry_port <$dir/registry-password && flotilla pull 127.0.0.1:$registry_port/demo/app:1
$(if [ "$insecure" = 1 ]; then
  echo "  npx buf curl --protocol grpc --http2-prior-knowledge http://127.0.0.1:$manager_port/flotilla.cluster.v1.ClusterService/GetInfo"
else
  echo "  npx buf curl --protocol grpc --cacert $pki/ca.crt --cert $pki/operator-$(id -un).crt --key $pki/operator-$(id -un).key https://127.0.0.1:$manager_port/flotilla.cluster.v1.ClusterService/GetInfo"
fi)
  docker -H $(awk 'NR==1{print $2}' "$dir/agents.txt") run -d --network none busybox:local sleep 60
$([ "$mode" = file ] && echo "  \$EDITOR $dir/discovery.txt     # remove a line: that engine leaves the cluster" || true)

Logs: $dir/logs
TEXT
wait "${agent_pids[@]}"
