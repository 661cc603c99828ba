#!/usr/bin/env bash
# The whole test suite: unit, integration (real gateway, mosquitto, Kafka mock cluster, CometD and
# Faye clients) and browser tests (headless Chromium), first on a -Werror build, then all of them
# again on an ASan+UBSan build; then each libFuzzer target briefly, and the load tool's smoke run
# against both builds. A sanitizer report in a gateway's stderr fails the test that started it.
# FUZZ_SECONDS (default 30) sets the fuzzing time per target.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh

jobs=$(nproc)
status=0

echo "== build (warnings are errors)"
scripts/build.sh build
echo "== tests"
(cd build && ctest --output-on-failure -j1) || status=1

echo "== build and tests with AddressSanitizer + UndefinedBehaviorSanitizer"
CC=clang cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DCG_WERROR=ON -DCG_SANITIZE=ON -DCG_FUZZ=ON >/dev/null
cmake --build build-asan -j"$jobs"
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:halt_on_error=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
(cd build-asan && ctest --output-on-failure -j1) || status=1

echo "== fuzzing (${FUZZ_SECONDS:-30} s per target)"
for t in fuzz_bayeux fuzz_config fuzz_chunked fuzz_payload fuzz_http; do
  corpus=$(mktemp -d)
  case $t in fuzz_bayeux) cp tests/fuzz/corpus/bayeux/* "$corpus"/ ;; fuzz_payload) cp tests/fuzz/corpus/payload/* "$corpus"/ ;; fuzz_http) cp tests/fuzz/corpus/http/* "$corpus"/ ;; esac
  if build-asan/tests/$t -max_total_time="${FUZZ_SECONDS:-30}" -max_len=8192 "$corpus" \
       > "build-asan/$t.log" 2>&1; then
    echo "$t: $(grep -o 'Done [0-9]* runs' "build-asan/$t.log" | tail -1), no crash"
  else
    echo "$t: FAILED"; tail -40 "build-asan/$t.log"; status=1
  fi
  rm -rf "$corpus"
done

echo "== load tool smoke run"
bench/smoke.sh build/cometgate || status=1
echo "== load tool smoke run against the sanitizer build"
bench/smoke.sh build-asan/cometgate || status=1

if [ "$status" = 0 ]; then echo "test.sh: all suites passed"; else echo "test.sh: FAILURES"; fi
exit $status
