#!/usr/bin/env bash
# One idempotent set-up step for a fresh Debian machine (run as root): installs
# the Debian packages flotilla needs, then configures and builds into ./build.
# Re-running it only rebuilds what changed.
set -euo pipefail
cd "$(dirname "$0")"

packages=(
  g++ cmake ninja-build pkg-config
  libopenmpi-dev openmpi-bin
  libhdf5-dev hdf5-tools zlib1g-dev
  libtbb-dev libboost-program-options-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  libsqlite3-dev sqlite3 libsodium-dev libcurl4-openssl-dev
  libtomlplusplus-dev nlohmann-json3-dev libhwloc-dev libyaml-dev
  gnuplot-nox
)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

build_type=${FLOTILLA_BUILD_TYPE:-RelWithDebInfo}
if [[ ! -f build/build.ninja ]]; then
  cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE="$build_type" >/dev/null
fi
cmake --build build -j "$(nproc)"

# The settlement tests' Solana runtime: LiteSVM from npm, pinned by
# chain_settlement/testnet/package-lock.json (installed only when it changed).
if command -v npm >/dev/null; then
  chain_settlement/testnet/testnet.sh install
else
  echo "setup: npm not found: the settlement tests need Node.js 20 and npm" >&2
fi
