#!/usr/bin/env bash
# CI smoke run of the load tool against a cometgate binary:
#   bench/smoke.sh path/to/cometgate [path/to/cg-load]
# A few hundred clients over all three transports for ~5 s, chat scenario.
# Prints a one-line summary (the JSON result on failure); exits non-zero only if nothing was delivered (or the
# tool/server failed). No timing assertions.
set -euo pipefail
gw=${1:?usage: smoke.sh path/to/cometgate [path/to/cg-load]}
load=${2:-${CG_LOAD:-$(dirname "$gw")/bench/cg-load}}
[ -x "$gw" ] || { echo "smoke: no executable $gw" >&2; exit 2; }
[ -x "$load" ] || { echo "smoke: no executable $load (pass it as the 2nd argument)" >&2; exit 2; }
port=${CG_SMOKE_PORT:-$((21000 + $$ % 8000))}
tmp=$(mktemp -d /tmp/cg-smoke.XXXXXX)
gwpid=
cleanup() {
  if [ -n "$gwpid" ]; then kill "$gwpid" 2>/dev/null || true; wait "$gwpid" 2>/dev/null || true; fi
  rm -rf "$tmp"
}
trap cleanup EXIT

"$gw" --listen "127.0.0.1:$port" > "$tmp/gateway.log" 2>&1 &
gwpid=$!
# wait (bounded) until it accepts connections
for _ in $(seq 1 100); do
  if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then break; fi
  kill -0 "$gwpid" 2>/dev/null || { echo "smoke: gateway exited" >&2; cat "$tmp/gateway.log" >&2; exit 1; }
  sleep 0.1
done

set +e
timeout 120 "$load" --target "127.0.0.1:$port" --server-name cometgate --server-pid "$gwpid" \
  --scenario chat --transport mix --clients 300 --room-size 50 --rate 200 --publishers 2 \
  --ramp-rate 1000 --duration 5 --drain 1 --quiet --label smoke --out "$tmp/result.json"
rc=$?
set -e
if [ $rc -ne 0 ]; then
  cat "$tmp/result.json" 2>/dev/null || true
  echo "smoke: cg-load failed ($rc)" >&2
  tail -20 "$tmp/gateway.log" >&2
  exit 1
fi
delivered=$(grep -o '"deliveries": [0-9]*' "$tmp/result.json" | head -1 | grep -o '[0-9]*$')
if [ "${delivered:-0}" -eq 0 ]; then
  echo "smoke: nothing was delivered" >&2
  tail -20 "$tmp/gateway.log" >&2
  exit 1
fi
summary() { grep -o "\"$1\": [0-9.]*" "$tmp/result.json" | head -1 | grep -o '[0-9.]*$'; }
echo "smoke: ok, $delivered deliveries ($(summary deliveries_per_s)/s, ratio $(summary delivery_ratio)," \
  "p50 $(summary p50) ms, p99 $(summary p99) ms)" >&2
