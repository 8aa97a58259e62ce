#!/usr/bin/env bash
# The LiteSVM JSON-RPC server for tests (server.mjs).
#   testnet.sh install         npm install of the locked versions, only when package-lock.json changed
#   testnet.sh start STATE_DIR start the server; its port goes to STATE_DIR/port, pid to STATE_DIR/pid
#   testnet.sh stop STATE_DIR  stop the server started with that STATE_DIR
# CTest runs start and stop as fixtures (tests/chain_settlement/CMakeLists.txt).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"

install() {
  command -v npm >/dev/null || { echo "testnet: npm not found (Node.js 20 is needed for the settlement tests)" >&2; exit 1; }
  # npm writes node_modules/.package-lock.json; newer than the lockfile means up to date.
  # Not `npm ci`: the registry has litesvm's linux-x64-gnu binary at 1.5.0 but
  # not its other platforms' optional packages, so the lockfile cannot list
  # them and `npm ci` refuses it as out of sync. `npm install --no-save`
  # installs exactly the locked versions and leaves the lockfile as it is.
  if [[ ! -f "$here/node_modules/.package-lock.json" ||
        "$here/package-lock.json" -nt "$here/node_modules/.package-lock.json" ]]; then
    (cd "$here" && npm install --no-save --no-audit --no-fund --loglevel=error)
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
