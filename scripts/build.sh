#!/usr/bin/env bash
# Configures and builds cometgate: the one build command shared by the quick start, the test
# suite, CI and docker/Dockerfile. Usage: scripts/build.sh [BUILD_DIR] [extra cmake args...]
# Warnings are errors here (CG_WERROR=ON, off in a plain cmake build): our own builds stay clean.
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${1:-build}
shift || true
cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCG_WERROR=ON "$@" >/dev/null
cmake --build "$dir" -j"$(nproc)"
