#!/usr/bin/env bash
# Installs what minidns needs from Debian's packages, then configures and
# builds it into build/ (or $MINIDNS_BUILD_DIR). Idempotent; run as root (or
# with sudo available).
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(
  build-essential cmake ninja-build pkg-config ccache clang-format
  libcaf-dev libldns-dev libzmq3-dev cppzmq-dev libmsgpack-cxx-dev
  libspdlog-dev libgtest-dev libgmock-dev libcpp-httplib-dev libcli11-dev libssl-dev
  # the Python client (python/), also used by the tests
  python3 python3-zmq python3-msgpack
  # for the tests: real secondaries, promtool to check /metrics, ip for
  # the cluster tests' network namespaces, nft for the lossy-links test
  nsd knot bind9 prometheus iproute2 nftables
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" ||
    missing+=("$p")
done
if ((${#missing[@]})); then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  echo "setup: installing ${missing[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

build_type="${MINIDNS_BUILD_TYPE:-RelWithDebInfo}"
build_dir="${MINIDNS_BUILD_DIR:-build}"
cmake -S . -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE="$build_type" ${MINIDNS_CMAKE_ARGS:-}
# Two cores: more jobs than that only swap and thrash.
cmake --build "$build_dir" -j "${MINIDNS_JOBS:-2}"
