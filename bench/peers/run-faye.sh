#!/bin/sh
# Start the Faye peer in the foreground: bench/peers/run-faye.sh [PORT]
# Installs bench/node_modules (faye@1.4.3 from bench/package.json) when missing.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
bench=$(dirname "$here")
if [ ! -d "$bench/node_modules/faye" ]; then
  (cd "$bench" && npm install --no-audit --no-fund --silent)
fi
exec node "$here/faye-server.js" "${1:-8090}" 127.0.0.1
