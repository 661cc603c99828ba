#!/usr/bin/env bash
# CI smoke run of the load tool against a cometgate binary:
#   bench/smoke.sh path/to/cometgate [path/to/cg-load]
# A few hundred clients over all three transports for ~5 s, chat scenario. No timing assertions,
# but the run must be complete and clean:
# - cg-load exits 0: every client and publisher ready before measuring, not interrupted;
# - at least 99 % of the expected deliveries arrive (SMOKE_MIN_RATIO, default 0.99);
# - zero errors: connect failures, disconnects, clients that gave up, Bayeux errors,
#   re-handshakes, failed publishes;
# - the gateway exits 0 within 5 s of SIGTERM, with no sanitizer report in its log.
# Prints a one-line summary; on failure the reason, the JSON result and the gateway log's tail.
set -euo pipefail
gw=${1:?usage: smoke.sh path/to/cometgate [path/to/cg-load]}
load=${2:-${CG_LOAD:-$(dirname "$gw")/bench/cg-load}}
min_ratio=${SMOKE_MIN_RATIO:-0.99}
[ -x "$gw" ] || { echo "smoke: no executable $gw" >&2; exit 2; }
[ -x "$load" ] || { echo "smoke: no executable $load (pass it as the 2nd argument)" >&2; exit 2; }
command -v jq >/dev/null || { echo "smoke: jq is required (Debian package jq)" >&2; exit 2; }
port=${CG_SMOKE_PORT:-$((21000 + $$ % 8000))}
tmp=$(mktemp -d /tmp/cg-smoke.XXXXXX)
gwpid=
cleanup() {
  # Only reached with the gateway still running when an earlier step failed.
  if [ -n "$gwpid" ]; then kill -KILL "$gwpid" 2>/dev/null || true; wait "$gwpid" 2>/dev/null || true; fi
  rm -rf "$tmp"
}
trap cleanup EXIT

fail() {
  echo "smoke: FAILED: $*" >&2
  [ -s "$tmp/result.json" ] && { jq -c 'del(.histogram_us, .timeline)' "$tmp/result.json" >&2 || cat "$tmp/result.json" >&2; }
  echo "--- gateway log (tail) ---" >&2
  tail -30 "$tmp/gateway.log" >&2 || true
  exit 1
}

"$gw" --listen "127.0.0.1:$port" > "$tmp/gateway.log" 2>&1 &
gwpid=$!
# wait (bounded) until it accepts connections
up=
for _ in $(seq 1 100); do
  if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then up=1; break; fi
  kill -0 "$gwpid" 2>/dev/null || fail "the gateway exited at start-up"
  sleep 0.1
done
[ -n "$up" ] || fail "the gateway did not accept connections within 10 s"

set +e
timeout 120 "$load" --target "127.0.0.1:$port" --server-name cometgate --server-pid "$gwpid" \
  --scenario chat --transport mix --clients 300 --room-size 50 --rate 200 --publishers 2 \
  --ramp-rate 1000 --duration 5 --drain 1 --quiet --label smoke --out "$tmp/result.json"
rc=$?
set -e
case $rc in
  0) ;;
  3) fail "cg-load: not every client was ready before measuring (exit 3)" ;;
  4) fail "cg-load: the run was interrupted (exit 4)" ;;
  *) fail "cg-load exited $rc" ;;
esac
jq -e . "$tmp/result.json" >/dev/null 2>&1 || fail "no valid JSON result"
r() { jq -r "$1" "$tmp/result.json"; }

# Every client and publisher ready, the run not interrupted (cg-load's exit says so too).
[ "$(r .all_ready)" = true ] || fail "all_ready is $(r .all_ready): $(r .ready)/$(r .clients) ready"
[ "$(r .publishers_ready)" = "$(r .publishers)" ] || fail "$(r .publishers_ready)/$(r .publishers) publishers ready"
[ "$(r .interrupted)" = false ] || fail "the run was interrupted"
# Deliveries: something expected, and at least min_ratio of it delivered.
expected=$(r .expected_deliveries)
delivered=$(r .deliveries)
[ "$expected" -gt 0 ] || fail "no deliveries were expected (nothing was published)"
jq -e --argjson min "$min_ratio" '.deliveries >= $min * .expected_deliveries' "$tmp/result.json" >/dev/null ||
  fail "$delivered of $expected expected deliveries ($(r .delivery_ratio)), below $min_ratio"
# Zero errors of any kind.
errors=$(jq -c '(.errors | del(.connect_attempts)) + {publish_errors}' "$tmp/result.json")
jq -e '[(.errors | del(.connect_attempts))[], .publish_errors] | all(. == 0)' "$tmp/result.json" >/dev/null ||
  fail "errors: $errors"

# Clean exit: SIGTERM, exit 0 within 5 s, no sanitizer report.
kill -TERM "$gwpid"
for _ in $(seq 1 50); do kill -0 "$gwpid" 2>/dev/null || break; sleep 0.1; done
kill -0 "$gwpid" 2>/dev/null && fail "the gateway did not exit within 5 s of SIGTERM"
set +e
wait "$gwpid"
gwrc=$?
set -e
gwpid=
[ "$gwrc" -eq 0 ] || fail "the gateway exited with status $gwrc after SIGTERM"
if grep -E -m1 'ERROR: AddressSanitizer|LeakSanitizer|runtime error:' "$tmp/gateway.log" >&2; then
  fail "sanitizer report in the gateway log"
fi

echo "smoke: ok, $delivered of $expected deliveries ($(r .deliveries_per_s | cut -d. -f1)/s, ratio" \
  "$(r .delivery_ratio | cut -c1-6), p50 $(r .latency_ms.p50 | cut -c1-6) ms, p99 $(r .latency_ms.p99 | cut -c1-6) ms)," \
  "all $(r .clients) clients ready, 0 errors, gateway exit 0" >&2
