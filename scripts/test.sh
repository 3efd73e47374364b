#!/usr/bin/env bash
# Sets everything up (scripts/setup.sh) and runs every test with ctest.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
cd "${MINIDNS_BUILD_DIR:-build}"
ctest --output-on-failure -j "${MINIDNS_TEST_JOBS:-2}" --timeout 600
