#!/usr/bin/env bash
# The test command: installs what the tests need (Debian packages, the npm packages of the
# end-to-end tests, Claude Code), builds with AddressSanitizer and UndefinedBehaviorSanitizer
# and warnings as errors, and runs every test with ctest. Only loopback is ever contacted.
set -euo pipefail

here="$(cd "$(dirname "$0")/.." && pwd)"
cd "$here"

packages=(build-essential cmake pkg-config libevent-dev libcurl4-openssl-dev libcjson-dev
          libyaml-dev libncurses-dev libcmocka-dev clang-format cppcheck tmux curl)
command -v node >/dev/null 2>&1 || packages+=(nodejs)
command -v npm >/dev/null 2>&1 || packages+=(npm)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
  echo "installing Debian packages: ${missing[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
fi

bash tests/e2e/setup.sh

build="${BUILD_DIR:-$here/build-asan}"
cmake -S . -B "$build" -DSANITIZE=ON -DWERROR=ON -DCMAKE_BUILD_TYPE=Debug >/dev/null
cmake --build "$build" -j"$(nproc)"
export ASAN_OPTIONS="detect_leaks=1:abort_on_error=1"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
ctest --test-dir "$build" --output-on-failure -j"$(nproc)" "$@"

# The lock-free ring, the shared payloads and the recorder again under ThreadSanitizer, which
# cannot share a build with ASan; only the tests of what crosses threads.
tsan="$here/build-tsan"
tsan_tests=(test_ring test_record test_recorder)
cmake -S . -B "$tsan" -DTSAN=ON -DWERROR=ON -DCMAKE_BUILD_TYPE=Debug >/dev/null
cmake --build "$tsan" -j"$(nproc)" --target "${tsan_tests[@]}"
export TSAN_OPTIONS="halt_on_error=1"
ctest --test-dir "$tsan" -R "^($(IFS='|'; echo "${tsan_tests[*]}"))\$" --output-on-failure
