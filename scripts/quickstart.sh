#!/usr/bin/env bash
# Sets up, builds and runs cometgate on its built-in default configuration: Bayeux at
# http://127.0.0.1:8080/cometd, demo pages at http://127.0.0.1:8080/, a demo ticker feed.
# Extra arguments go to cometgate (e.g. -c examples/kafka.yaml, --listen 0.0.0.0:8080).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh
scripts/build.sh build
echo "cometgate: open http://127.0.0.1:8080/ (Ctrl-C stops it)"
exec build/cometgate "$@"
