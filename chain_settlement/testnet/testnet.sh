#!/usr/bin/env bash
# The LiteSVM JSON-RPC server for tests (server.mjs).
#   testnet.sh install         npm ci, only when package-lock.json changed since the last install
#   testnet.sh start STATE_DIR start the server; its port goes to STATE_DIR/port, pid to STATE_DIR/pid
#   testnet.sh stop STATE_DIR  stop the server started with that STATE_DIR
# CTest runs start and stop as fixtures (tests/chain_settlement/CMakeLists.txt).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"

install() {
  command -v npm >/dev/null || { echo "testnet: npm not found (Node.js 20 is needed for the settlement tests)" >&2; exit 1; }
  # npm ci writes node_modules/.package-lock.json; newer than the lockfile means up to date.
  if [[ ! -f "$here/node_modules/.package-lock.json" ||
        "$here/package-lock.json" -nt "$here/node_modules/.package-lock.json" ]]; then
    (cd "$here" && npm ci --no-audit --no-fund --loglevel=error)
  fi
}

case "${1:-}" in
  install) install ;;
  start)
    state="${2:?state directory}"
    install
    mkdir -p "$state"
    "$0" stop "$state"
    rm -f "$state/port"
    nohup node "$here/server.mjs" --port-file "$state/port" >"$state/server.log" 2>&1 &
    echo $! >"$state/pid"
    for _ in $(seq 300); do
      [[ -s "$state/port" ]] && { echo "testnet: $(cat "$state/server.log")"; exit 0; }
      kill -0 "$(cat "$state/pid")" 2>/dev/null || break
      sleep 0.1
    done
    echo "testnet: server did not start:" >&2
    cat "$state/server.log" >&2
    exit 1 ;;
  stop)
    state="${2:?state directory}"
    if [[ -f "$state/pid" ]]; then
      kill "$(cat "$state/pid")" 2>/dev/null || true
      rm -f "$state/pid" "$state/port"
    fi ;;
  *) echo "usage: testnet.sh install | start STATE_DIR | stop STATE_DIR" >&2; exit 2 ;;
esac
