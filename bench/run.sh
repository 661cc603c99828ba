#!/usr/bin/env bash
# Benchmark driver: cometgate against Faye and nchan, one server at a time, same load each,
# then docs/benchmarks.md and docs/img/*.png from the JSON results (bench/report.py).
#
#   bench/run.sh [--quick|--full|--tiny|--window] [--out DIR] [--servers cometgate,faye,nchan]
#                [--sweep chat|broadcast|both|none] [--p99-bound MS] [--faye-max-clients N]
#                [--gateway PATH] [--no-build] [--no-report] [--doc FILE] [--img-dir DIR]
#
#   --quick   (default) a few minutes: 2,000-4,000 clients, 4 s windows, short sweeps
#   --full    ~20 minutes on a quiet 2-core machine: idle 5,000/19,000, chat 2,000..19,000,
#             broadcast 10,000, sweeps at 10,000 clients, kafka at 10,000
#   --tiny    pipeline check only (300 clients, 2 s): the numbers mean nothing
#   --window  chat at 19,000 clients, 60 s windows (every ping and sweep timer falls inside),
#             at 20,000 and 200,000 deliveries/s; nothing else
#   --gateway the cometgate binary to measure (default build/cometgate), e.g. an older build
#   --sweep   which sweeps to run (default both): the rate is multiplied step by step until p99
#             exceeds --p99-bound (default 50 ms), fewer than 95 % of the expected deliveries
#             arrive, clients fail to connect, or the publishers cannot send the rate; the
#             highest passing step is the server's highest sustained rate
#   --out     result directory (default build/bench-results/<mode>-<date>); every cg-load JSON
#             result, server logs, commands.log and meta.json go there
#   --doc     report file (default docs/benchmarks.md; plots in --img-dir, default docs/img)
#
# Safety: loopback only, every run bounded (cg-load deadlines plus `timeout`), every process
# this script starts is stopped on exit (trap EXIT). Servers never run concurrently. Each run
# gets a fresh listen port with no socket in any state on it, so TIME_WAIT from earlier runs
# cannot block connects; cg-load also spreads clients over 16 source addresses.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

mode=quick out= servers=cometgate,faye,nchan sweep=both p99_bound=50 faye_max=10000
build=1 report=1 doc=docs/benchmarks.md imgdir=docs/img gw_bin=
invocation="bench/run.sh $*"
while [ $# -gt 0 ]; do
  case "$1" in
    --quick) mode=quick ;;
    --full) mode=full ;;
    --tiny) mode=tiny ;;
    --window) mode=window ;;
    --gateway) gw_bin=$2; shift ;;
    --out) out=$2; shift ;;
    --servers) servers=$2; shift ;;
    --sweep) sweep=$2; shift ;;
    --p99-bound) p99_bound=$2; shift ;;
    --faye-max-clients) faye_max=$2; shift ;;
    --no-build) build=0 ;;
    --no-report) report=0 ;;
    --doc) doc=$2; shift ;;
    --img-dir) imgdir=$2; shift ;;
    -h|--help) sed -n '2,24p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "run.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
  shift
done
case "$sweep" in chat|broadcast|both|none) ;; *) echo "run.sh: --sweep chat|broadcast|both|none" >&2; exit 2 ;; esac

# ---- load per mode ---------------------------------------------------------------------------
case "$mode" in
  tiny)
    DUR=2 DRAIN=1 IDLE_CLIENTS="300" CHAT_CLIENTS="400" CHAT_RATE=200 CHAT_ROOM=100
    BCAST_CLIENTS=300 BCAST_RATE=4
    SW_CHAT_CLIENTS=400 SW_CHAT_START=100 SW_BCAST_CLIENTS=300 SW_BCAST_START=8
    SW_FACTOR=4 SW_STEPS=2 SW_DUR=2 KAFKA_CLIENTS=200 BLAST_DUR=2 ;;
  quick)
    DUR=4 DRAIN=1 IDLE_CLIENTS="2000" CHAT_CLIENTS="2000 4000" CHAT_RATE=1000 CHAT_ROOM=200
    BCAST_CLIENTS=2000 BCAST_RATE=4
    SW_CHAT_CLIENTS=2000 SW_CHAT_START=250 SW_BCAST_CLIENTS=2000 SW_BCAST_START=4
    SW_FACTOR=2 SW_STEPS=6 SW_DUR=3 KAFKA_CLIENTS=1000 BLAST_DUR=3 ;;
  full)
    DUR=10 DRAIN=2 IDLE_CLIENTS="5000 19000" CHAT_CLIENTS="2000 5000 10000 19000" CHAT_RATE=1000
    CHAT_ROOM=200 BCAST_CLIENTS=10000 BCAST_RATE=4
    SW_CHAT_CLIENTS=10000 SW_CHAT_START=250 SW_BCAST_CLIENTS=10000 SW_BCAST_START=2
    SW_FACTOR=2 SW_STEPS=9 SW_DUR=6 KAFKA_CLIENTS=10000 BLAST_DUR=5 ;;
  window)
    DUR=60 DRAIN=2 IDLE_CLIENTS="" CHAT_CLIENTS="19000" CHAT_RATES="100 1000" CHAT_ROOM=200
    BCAST_CLIENTS="" SW_CHAT_CLIENTS=0 SW_CHAT_START=0 SW_BCAST_CLIENTS=0 SW_BCAST_START=0
    SW_FACTOR=2 SW_STEPS=0 SW_DUR=0 KAFKA_CLIENTS="" BLAST_DUR=0 sweep=none ;;
esac
CHAT_RATES=${CHAT_RATES:-$CHAT_RATE}
RAMP=2000          # new connections per second (cg-load --ramp-rate)
KAFKA_RATE=100 KAFKA_ITEMS=40

[ -n "$out" ] || out=build/bench-results/$mode-$(date +%Y%m%d-%H%M%S)
mkdir -p "$out"
out=$(cd "$out" && pwd)
load=$root/build/bench/cg-load
blast=$root/build/bench/cg-blast
gw=${gw_bin:-$root/build/cometgate}
gw=$(cd "$(dirname "$gw")" && pwd)/$(basename "$gw")
kmock=$root/build/tests/tools/cg-kafka-mock

log() { printf '[run %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

# ---- cleanup: everything started here is stopped on exit --------------------------------------
pids=()
kafka_fd_open=0
cleanup() {
  local p
  if [ "$kafka_fd_open" = 1 ]; then exec 7>&- || true; fi
  for p in "${pids[@]}"; do
    [ -n "$p" ] && kill -TERM "$p" 2>/dev/null || true
  done
  for p in "${pids[@]}"; do
    [ -n "$p" ] || continue
    for _ in $(seq 1 30); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$p" 2>/dev/null || true
    wait "$p" 2>/dev/null || true
  done
}
trap cleanup EXIT
trap 'exit 130' INT TERM

forget_pid() { local p=$1 i; for i in "${!pids[@]}"; do [ "${pids[$i]}" = "$p" ] && unset 'pids[i]'; done; return 0; }

# ---- build ------------------------------------------------------------------------------------
if [ "$build" = 1 ]; then
  if [ ! -f build/CMakeCache.txt ]; then
    log "configuring build/"
    cmake -S . -B build >"$out/build.log" 2>&1
  fi
  log "building cometgate, cg-load, cg-blast (build/)"
  targets=(--target cometgate cg-load cg-blast)
  grep -q '^cg-kafka-mock' <(cmake --build build --target help 2>/dev/null | sed 's/^\.\.\. //') &&
    targets+=(cg-kafka-mock)
  cmake --build build -j2 "${targets[@]}" >>"$out/build.log" 2>&1 ||
    { echo "run.sh: build failed, see $out/build.log" >&2; tail -20 "$out/build.log" >&2; exit 1; }
fi
for b in "$gw" "$load" "$blast"; do
  [ -x "$b" ] || { echo "run.sh: missing $b (build first: cmake -S . -B build && cmake --build build -j2)" >&2; exit 1; }
done

# ---- ports ------------------------------------------------------------------------------------
# A fresh port per run: nothing (listening, established, TIME_WAIT) may use it.
port=$((20000 + ($$ % 40) * 200))
port_busy() { [ "$(ss -Htan "( sport = :$1 or dport = :$1 )" 2>/dev/null | wc -l)" -gt 0 ]; }
next_port() {
  port=$((port + 1))
  while port_busy "$port"; do port=$((port + 1)); done
  [ "$port" -lt 60000 ] || { echo "run.sh: out of ports" >&2; exit 1; }
}
wait_listen() { # PORT PID
  local i
  for i in $(seq 1 200); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then return 0; fi
    kill -0 "$2" 2>/dev/null || return 1
    sleep 0.05
  done
  return 1
}
# The PID to sample: PID itself when its command is COMM, else its child named COMM (a shell
# that did not exec, a wrapper script).
resolve_pid() { # PID COMM
  local p=$1 want=$2 c
  for _ in $(seq 1 40); do
    [ "$(cat "/proc/$p/comm" 2>/dev/null)" = "$want" ] && { echo "$p"; return 0; }
    c=$(pgrep -P "$p" -x "$want" 2>/dev/null | head -1 || true)
    [ -n "$c" ] && { echo "$c"; return 0; }
    sleep 0.05
  done
  echo "$p"
}
rss_kb() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status" 2>/dev/null || echo 0; }

# ---- servers ----------------------------------------------------------------------------------
SRV_MAIN= SRV_PID= SRV_NAME=
start_server() { # NAME TAG
  local name=$1 tag=$2 slog="$out/$2.server.log"
  next_port
  SRV_NAME=$name
  case "$name" in
    cometgate)
      echo "build/cometgate -c bench/conf/cometgate-bench.yaml --listen 127.0.0.1:$port" >>"$out/commands.log"
      "$gw" -c "$root/bench/conf/cometgate-bench.yaml" --listen "127.0.0.1:$port" >"$slog" 2>&1 &
      SRV_MAIN=$! SRV_PID=$! ;;
    cometgate-kafka)
      echo "build/cometgate -c \$OUT/cometgate-kafka.yaml --listen 127.0.0.1:$port" >>"$out/commands.log"
      "$gw" -c "$out/cometgate-kafka.yaml" --listen "127.0.0.1:$port" >"$slog" 2>&1 &
      SRV_MAIN=$! SRV_PID=$! ;;
    faye)
      echo "bench/peers/run-faye.sh $port" >>"$out/commands.log"
      "$root/bench/peers/run-faye.sh" "$port" >"$slog" 2>&1 &
      SRV_MAIN=$! SRV_PID=$! ;;  # run-faye.sh execs node
    nchan)
      local d="$out/nchan-$tag"
      echo "bench/peers/run-nchan.sh $port \$OUT/nchan-$tag" >>"$out/commands.log"
      "$root/bench/peers/run-nchan.sh" "$port" "$d" >"$slog" 2>&1 &
      SRV_MAIN=$!  # run-nchan.sh execs the nginx master
      ;;
  esac
  pids+=("$SRV_MAIN")
  if ! wait_listen "$port" "$SRV_MAIN"; then
    log "$name did not start on port $port (log $slog)"; tail -5 "$slog" >&2 || true
    stop_server; return 1
  fi
  case "$name" in
    cometgate*) SRV_PID=$(resolve_pid "$SRV_MAIN" cometgate) ;;
    faye) SRV_PID=$(resolve_pid "$SRV_MAIN" node) ;;
  esac
  if [ "$name" = nchan ]; then # sample the single worker, not the idle master
    SRV_PID=
    for _ in $(seq 1 50); do SRV_PID=$(pgrep -P "$SRV_MAIN" | head -1 || true); [ -n "$SRV_PID" ] && break; sleep 0.05; done
    [ -n "$SRV_PID" ] || { log "nchan worker not found"; stop_server; return 1; }
  fi
  sleep 0.3  # let start-up allocations settle before the RSS baseline
  return 0
}
stop_server() {
  [ -n "$SRV_MAIN" ] || return 0
  kill -TERM "$SRV_MAIN" 2>/dev/null || true
  for _ in $(seq 1 100); do kill -0 "$SRV_MAIN" 2>/dev/null || break; sleep 0.05; done
  kill -KILL "$SRV_MAIN" 2>/dev/null || true
  wait "$SRV_MAIN" 2>/dev/null || true
  [ -n "$SRV_PID" ] && [ "$SRV_PID" != "$SRV_MAIN" ] && kill -KILL "$SRV_PID" 2>/dev/null || true
  forget_pid "$SRV_MAIN"
  SRV_MAIN= SRV_PID=
}

# ---- one measured run -------------------------------------------------------------------------
# Writes $out/TAG.json: cg-load's result plus "run" {tag, group, server, step, baseline_rss_kb,
# command, status}. A run that could not happen gets a stub with status and reason instead.
stub() { # TAG GROUP SERVER SCENARIO CLIENTS STATUS REASON [RATE]
  jq -n --arg tag "$1" --arg group "$2" --arg server "$3" --arg scenario "$4" \
    --argjson clients "$5" --arg status "$6" --arg reason "$7" --argjson rate "${8:-null}" \
    '{scenario:$scenario, server:$server, clients:$clients, rate:$rate,
      run:{tag:$tag, group:$group, server:$server, status:$status, reason:$reason}}' >"$out/$1.json"
}
LAST_PASS=0
run_load() { # TAG GROUP SERVER -- cg-load args...
  local tag=$1 group=$2 server=$3; shift 4
  local kind=() base rc=0 budget clients=0 a prev=
  for a in "$@"; do [ "$prev" = --clients ] && clients=$a; prev=$a; done
  [ "$server" = nchan ] && kind=(--server-kind nchan)
  base=$(rss_kb "$SRV_PID")
  budget=$((clients / RAMP + 15 + DUR + SW_DUR + DRAIN + 60))
  local cmd=("$load" --target "127.0.0.1:$port" "${kind[@]}" --server-name "$server"
             --server-pid "$SRV_PID" --ramp-rate "$RAMP" --label "$tag" --quiet "$@"
             --out "$out/$tag.json")
  printf '%q ' "${cmd[@]}" | sed "s|$out/|\$OUT/|g; s|$root/||g" >>"$out/commands.log"; echo >>"$out/commands.log"
  log "$tag: $server $*"
  timeout -k 5 "$budget" "${cmd[@]}" 2>"$out/$tag.stderr" || rc=$?
  if [ ! -s "$out/$tag.json" ] || ! jq -e . "$out/$tag.json" >/dev/null 2>&1; then
    stub "$tag" "$group" "$server" unknown "$clients" failed "cg-load exited $rc without a result"
    log "$tag: FAILED (cg-load rc $rc)"; tail -3 "$out/$tag.stderr" >&2 || true
    return 0
  fi
  local c
  c=$(printf '%q ' "${cmd[@]}" | sed "s|$out/|\$OUT/|g; s|$root/||g")
  jq --arg tag "$tag" --arg group "$group" --arg server "$server" --argjson base "${base:-0}" \
     --arg cmd "$c" --argjson rc "$rc" \
     '.run = {tag:$tag, group:$group, server:$server, baseline_rss_kb:$base, command:$cmd,
              exit_code:$rc, status:"ok"}' "$out/$tag.json" >"$out/$tag.tmp" && mv "$out/$tag.tmp" "$out/$tag.json"
  tail -1 "$out/$tag.stderr" | sed 's/^/    /' >&2 || true
}

# One fixed run on a fresh server.
fixed() { # GROUP SERVER SCENARIO CLIENTS -- extra cg-load args
  local group=$1 server=$2 scenario=$3 clients=$4; shift 5
  local tag="$group-$server-$clients"
  if [ "$server" = faye ] && [ "$clients" -gt "$faye_max" ]; then
    stub "$tag" "$group" "$server" "$scenario" "$clients" skipped \
      "above --faye-max-clients $faye_max: one Node process does not hold this many clients"
    log "$tag: skipped (Faye cap $faye_max)"; return 0
  fi
  if ! start_server "$server" "$tag"; then
    stub "$tag" "$group" "$server" "$scenario" "$clients" failed "server did not start"; return 0
  fi
  run_load "$tag" "$group" "$server" -- --scenario "$scenario" --clients "$clients" "$@"
  stop_server
}

# Sweep: multiply the rate until a step fails; every step on a fresh server.
sweep_one() { # SCENARIO SERVER CLIENTS START -- extra args
  local scenario=$1 server=$2 clients=$3 rate=$4; shift 5
  local step=1 tag verdict
  while [ "$step" -le "$SW_STEPS" ]; do
    tag=$(printf 'sweep-%s-%s-%02d' "$scenario" "$server" "$step")
    if [ "$server" = faye ] && [ "$clients" -gt "$faye_max" ]; then
      stub "$tag" "sweep-$scenario" "$server" "$scenario" "$clients" skipped "above --faye-max-clients $faye_max" "$rate"
      return 0
    fi
    if ! start_server "$server" "$tag"; then
      stub "$tag" "sweep-$scenario" "$server" "$scenario" "$clients" failed "server did not start" "$rate"; return 0
    fi
    run_load "$tag" "sweep-$scenario" "$server" -- --scenario "$scenario" --clients "$clients" \
      --rate "$rate" --duration "$SW_DUR" --drain "$DRAIN" "$@"
    stop_server
    verdict=$(jq -r --argjson bound "$p99_bound" --argjson rate "$rate" '
      if .run.status != "ok" then "fail: no result"
      elif (.all_ready | not) then "fail: \(.ready)/\(.clients) clients ready"
      elif (.delivery_ratio // 0) < 0.95 then "fail: delivered \((.delivery_ratio // 0) * 100 | floor) % of expected"
      elif (.latency_ms.p99 // 1e9) > $bound then "fail: p99 \(.latency_ms.p99) ms > \($bound) ms"
      elif (.sent_per_s // 0) < 0.95 * $rate then "fail: publishers sent \(.sent_per_s | floor)/s of \($rate)/s"
      else "pass" end' "$out/$tag.json")
    jq --arg v "$verdict" --argjson bound "$p99_bound" '.run.sweep = {verdict:$v, p99_bound_ms:$bound}' \
      "$out/$tag.json" >"$out/$tag.tmp" && mv "$out/$tag.tmp" "$out/$tag.json"
    log "$tag: rate $rate -> $verdict"
    [ "$verdict" = pass ] || return 0
    rate=$((rate * SW_FACTOR)); step=$((step + 1))
  done
}

# ---- kafka: cometgate only, through the connector and the mock cluster ------------------------
kafka_run() {
  local tag=kafka-cometgate-$KAFKA_CLIENTS reason=
  [ -x "$kmock" ] || reason="build/tests/tools/cg-kafka-mock not built (tests/tools, CG_BUILD_TESTS)"
  [ -n "$reason" ] || "$gw" --check-config -c "$root/examples/kafka.yaml" >/dev/null 2>&1 ||
    reason="cometgate does not accept examples/kafka.yaml (no Kafka connector in this build)"
  if [ -n "$reason" ]; then
    stub "$tag" kafka cometgate kafka "$KAFKA_CLIENTS" "not run" "$reason"; log "kafka: not run ($reason)"; return 0
  fi
  local fifo="$out/kafka-mock.in" boot=
  rm -f "$fifo"; mkfifo "$fifo"
  echo "build/tests/tools/cg-kafka-mock serve --brokers 1 --topic bench-items:4" >>"$out/commands.log"
  "$kmock" serve --brokers 1 --topic bench-items:4 <"$fifo" >"$out/kafka-mock.log" 2>&1 &
  local kpid=$!
  pids+=("$kpid")
  exec 7>"$fifo"; kafka_fd_open=1
  for _ in $(seq 1 100); do
    boot=$(awk '/^BOOTSTRAP/ {print $2; exit}' "$out/kafka-mock.log" 2>/dev/null || true)
    [ -n "$boot" ] && break; sleep 0.05
  done
  if [ -z "$boot" ]; then
    stub "$tag" kafka cometgate kafka "$KAFKA_CLIENTS" failed "mock cluster did not start"
  else
    cat >"$out/cometgate-kafka.yaml" <<EOF
# bench/conf/cometgate-bench.yaml plus the Kafka connector on the mock cluster
listen: "127.0.0.1:8080"
log_level: "warn"
stats_interval_ms: 0
demo:
  enabled: false
bayeux:
  ws_deflate: false
limits:
  max_sessions: 250000
kafka:
  bootstrap_servers: "$boot"
  group_id: "cg-bench-$$-$(date +%s)"
  start: latest
  consumer:
    fetch.wait.max.ms: "10"
routes:
  - name: items
    kafka: bench-items
    format: json
    channel: "/items/{key}"
EOF
    # builds before 0.2 know no kafka.consumer: (--gateway may measure one): the shared map then
    if ! "$gw" --check-config -c "$out/cometgate-kafka.yaml" >/dev/null 2>&1; then
      sed -i 's/^  consumer:$/  client:/' "$out/cometgate-kafka.yaml"
    fi
    if start_server cometgate-kafka "$tag"; then
      local secs=$((KAFKA_CLIENTS / RAMP + DUR + 25))
      echo "bench/kafka_feed.py --topic bench-items --items $KAFKA_ITEMS --rate $KAFKA_RATE --seconds $secs | build/tests/tools/cg-kafka-mock produce -b $boot -X linger.ms=0" >>"$out/commands.log"
      python3 "$root/bench/kafka_feed.py" --topic bench-items --items "$KAFKA_ITEMS" --rate "$KAFKA_RATE" --seconds "$secs" |
        "$kmock" produce -b "$boot" -X linger.ms=0 >"$out/kafka-produce.log" 2>&1 &
      local ppid=$!
      pids+=("$ppid")
      sleep 3  # consumer group join, partition assignment, first fetches
      # drain 0: the feed never stops, so deliveries/s = deliveries in the window / duration
      run_load "$tag" kafka cometgate -- --scenario kafka --clients "$KAFKA_CLIENTS" --channel '/items/*' \
        --ts-field fields.t --ts-unit us --duration "$DUR" --drain 0
      # the feed's rate and item count: the report computes expected deliveries from them
      [ -f "$out/$tag.json" ] && jq --argjson r "$KAFKA_RATE" --argjson i "$KAFKA_ITEMS" \
        '.run.kafka = {rate:$r, items:$i}' "$out/$tag.json" >"$out/$tag.tmp" && mv "$out/$tag.tmp" "$out/$tag.json"
      kill -TERM "$ppid" 2>/dev/null || true  # the feed then ends on EPIPE
      wait "$ppid" 2>/dev/null || true; forget_pid "$ppid"
      stop_server
    else
      stub "$tag" kafka cometgate kafka "$KAFKA_CLIENTS" failed "cometgate did not start with the Kafka configuration"
    fi
  fi
  echo quit >&7 2>/dev/null || true
  exec 7>&-; kafka_fd_open=0
  for _ in $(seq 1 50); do kill -0 "$kpid" 2>/dev/null || break; sleep 0.1; done
  kill -TERM "$kpid" 2>/dev/null || true; wait "$kpid" 2>/dev/null || true; forget_pid "$kpid"
}

# ---- the tool's own ceiling (cg-blast) --------------------------------------------------------
blast_run() {
  local tag=ceiling-blast
  next_port
  echo "build/bench/cg-blast --listen 127.0.0.1:$port --duration $((BLAST_DUR + 20)) --batch 64 --payload 64" >>"$out/commands.log"
  "$blast" --listen "127.0.0.1:$port" --duration $((BLAST_DUR + 20)) --batch 64 --payload 64 >"$out/$tag.server.log" 2>&1 &
  SRV_MAIN=$!; pids+=("$SRV_MAIN")
  SRV_PID=$(resolve_pid "$SRV_MAIN" cg-blast)
  if wait_listen "$port" "$SRV_MAIN"; then
    run_load "$tag" ceiling cg-blast -- --server-kind nchan --scenario kafka --channel /x --ts-field t \
      --clients 200 --duration "$BLAST_DUR" --drain 0
  else
    stub "$tag" ceiling cg-blast kafka 200 failed "cg-blast did not start"
  fi
  stop_server
}

# ---- plan -------------------------------------------------------------------------------------
t_start=$(date +%s)
log "mode $mode, servers $servers, sweep $sweep, p99 bound ${p99_bound} ms, results in $out"
: >"$out/commands.log"
python3 "$root/bench/report.py" --collect-meta "$out" --mode "$mode" --invocation "$invocation" \
  --set "servers=$servers" --set "sweep=$sweep" --set "p99_bound_ms=$p99_bound" \
  --set "faye_max_clients=$faye_max" --set "ramp_rate=$RAMP" --set "duration_s=$DUR" \
  --set "sweep_duration_s=$SW_DUR" --set "drain_s=$DRAIN" \
  --set "loadavg_before=$(cut -d' ' -f1-3 /proc/loadavg)"

IFS=, read -r -a srv_list <<<"$servers"
for s in "${srv_list[@]}"; do
  case "$s" in cometgate|faye|nchan) ;; *) echo "run.sh: unknown server $s" >&2; exit 2 ;; esac
done

for s in "${srv_list[@]}"; do
  log "== $s =="
  for n in $IDLE_CLIENTS; do
    fixed idle "$s" idle "$n" -- --transport websocket --duration "$DUR" --drain 0
  done
  for n in $CHAT_CLIENTS; do
    for r in $CHAT_RATES; do
      # the tag names the rate only when a mode measures several
      [ "$r" = "${CHAT_RATE:-}" ] && g=chat || g=chat-r$r
      fixed "$g" "$s" chat "$n" -- --transport websocket --rate "$r" --room-size "$CHAT_ROOM" \
        --duration "$DUR" --drain "$DRAIN"
    done
  done
  if [ -n "$BCAST_CLIENTS" ]; then
    fixed broadcast "$s" broadcast "$BCAST_CLIENTS" -- --transport websocket --rate "$BCAST_RATE" \
      --duration "$DUR" --drain "$DRAIN"
  fi
  if [ "$sweep" = chat ] || [ "$sweep" = both ]; then
    sweep_one chat "$s" "$SW_CHAT_CLIENTS" "$SW_CHAT_START" -- --transport websocket --room-size "$CHAT_ROOM"
  fi
  if [ "$sweep" = broadcast ] || [ "$sweep" = both ]; then
    sweep_one broadcast "$s" "$SW_BCAST_CLIENTS" "$SW_BCAST_START" -- --transport websocket
  fi
done
if [ -n "$KAFKA_CLIENTS" ]; then
  case ",$servers," in *,cometgate,*) log "== kafka (cometgate only) =="; kafka_run ;; esac
fi
if [ "$BLAST_DUR" -gt 0 ]; then
  log "== tool ceiling (cg-blast) =="
  blast_run
fi

elapsed=$(( $(date +%s) - t_start ))
python3 "$root/bench/report.py" --collect-meta "$out" --update --set "elapsed_s=$elapsed" \
  --set "loadavg_after=$(cut -d' ' -f1-3 /proc/loadavg)"
log "runs done in ${elapsed} s"
if [ "$report" = 1 ]; then
  python3 "$root/bench/report.py" "$out" --doc "$doc" --img-dir "$imgdir"
  log "report: $doc, plots in $imgdir/"
fi
