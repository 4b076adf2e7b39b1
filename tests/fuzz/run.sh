#!/usr/bin/env bash
# tests/fuzz/run.sh: coverage-guided fuzzing of the parsers and translators with libFuzzer, for
# developers (ctest already replays each target's corpus with seeded mutations on every run).
#
#   tests/fuzz/run.sh [SECONDS] [TARGET...]     default: 60 s each, every target
#
# Builds with clang, AddressSanitizer and UndefinedBehaviorSanitizer into build-fuzz/ (installs
# clang from Debian when missing), then runs each target for SECONDS on a working copy of its
# corpus in build-fuzz/corpus/<target>/. A crash leaves crash-* files in build-fuzz/ and stops.
set -euo pipefail
here="$(cd "$(dirname "$0")/../.." && pwd)"
secs=${1:-60}
shift || true
if ! command -v clang >/dev/null; then
  sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq clang >/dev/null
fi
build="$here/build-fuzz"
CC=clang cmake -S "$here" -B "$build" -DFUZZ=ON -DSANITIZE=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  for f in "$here"/tests/fuzz/fuzz_*.c; do targets+=("$(basename "$f" .c)"); done
fi
cmake --build "$build" -j"$(nproc)" --target "${targets[@]}" >/dev/null
declare -A seeds=(
  [fuzz_sse]="tests/fixtures/streams"
  [fuzz_xlate_stream]="tests/fixtures/streams"
  [fuzz_xlate_request]="tests/fuzz/corpus/xlate_request"
  [fuzz_xlate_response]="tests/fuzz/corpus/xlate_response"
  [fuzz_record_string]="tests/fixtures/streams"
  [fuzz_jscan]="tests/fixtures/scenarios tests/fuzz/corpus/xlate_response tests/fuzz/corpus/xlate_request"
)
for t in "${targets[@]}"; do
  corpus="$build/corpus/$t"
  mkdir -p "$corpus"
  for d in ${seeds[$t]}; do cp -n "$here/$d"/* "$corpus"/ 2>/dev/null || true; done
  echo "== $t: ${secs}s"
  (cd "$build" && ASAN_OPTIONS=detect_leaks=1 "./tests/$t" -max_total_time="$secs" \
    -max_len=262144 -print_final_stats=1 "$corpus")
done
