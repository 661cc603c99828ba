#!/usr/bin/env bash
# Installs what cometgate needs to build, run and test on Debian 12: Debian packages, then the
# npm packages of web/ (the browser client) and tests/ (CometD, Faye, ws, playwright-core).
# Idempotent; uses sudo when not root.
set -euo pipefail
cd "$(dirname "$0")/.."

SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi

PKGS=(build-essential cmake pkg-config clang libclang-rt-14-dev
      libwebsockets-dev libwebsockets-evlib-ev libev-dev libjansson-dev libyaml-dev libssl-dev
      librdkafka-dev libpaho-mqtt-dev libmsgpack-dev
      mosquitto mosquitto-clients kcat chromium curl gnuplot-nox)
command -v node >/dev/null 2>&1 || PKGS+=(nodejs npm)

missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  echo "deps: installing ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

for d in web tests; do
  if [ -f "$d/package-lock.json" ] && { [ ! -d "$d/node_modules" ] || [ "$d/package-lock.json" -nt "$d/node_modules" ]; }; then
    echo "deps: npm ci in $d/"
    (cd "$d" && npm ci --no-audit --no-fund --loglevel=error)
    touch "$d/node_modules"
  fi
done
