#!/usr/bin/env bash
# bench/run.sh: the speed targets of the translating proxy, measured in one run on this machine.
#
# Builds a Release tree (build-bench/), starts the project's fake upstream and the proxy on
# 127.0.0.1, and measures, sending the same load to the fake directly and through the proxy:
#   1. throughput at concurrency 32: small non-streaming requests, 50-chunk streamed answers (wrk),
#      direct and through two proxies of the same binary, the default journal and --no-journal,
#      taken in turns (direct, on, off, ... AB_ROUNDS times each)
#   2. added latency at concurrency 1, p50 (wrk)
#   3. CPU to translate and forward the recorded 50 KB Claude Code request and a 1 MB one
#      (bench_xlate, in-process)
#   4. proxy CPU per relayed chunk of a 5000-chunk answer (/proc/PID/stat before and after), and
#      the stream translator alone (bench_xlate)
#   5. memory per open stream with 1000 streams held open (client.mjs)
#   6. idle RSS and time from exec to answering GET /health, median of 20 starts (client.mjs)
#   7. the journal's cost (issue 4): throughput with the journal on against off, from the runs of
#      1, and a 50-chunk stream's latency at concurrency 1, the two proxies in turns
#   8. the inspector open under load (issue 5): a proxy with --tui in a detached tmux (private
#      socket, 120x40) against a fresh headless one, in turns: 500 requests per second of
#      50-chunk streams from an open-loop client (client.mjs rate: achieved rate, p50/p99, proxy
#      CPU), and saturation at concurrency 32 (wrk)
# then prints a table and writes it into bench/RESULTS.md between the results markers (the
# analysis written below them is kept).
#
#   bench/run.sh                  the whole run (~3.5 minutes)
#   DURATION=3 bench/run.sh       shorter wrk runs, for trying changes
#   NO_RESULTS=1 bench/run.sh     print only; leave RESULTS.md alone
#   AB_ROUNDS=4 bench/run.sh      four runs each way in the turns of 1, 7 and 8 (default 2), for
#                                 ratios close to their targets
#   SRC=DIR BUILD=DIR2 bench/run.sh   build the tree in DIR (e.g. a `git archive HEAD` export, when
#                                 others' uncommitted work is in this one) into DIR2; SRC_REV
#                                 names its revision in the results
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SRC=${SRC:-$ROOT}
BUILD=${BUILD:-$ROOT/build-bench}
DURATION=${DURATION:-10}
# The A/B runs of 7 and 8 are shorter and taken AB_ROUNDS times each way, in turns; the ratios
# move by about 5 % from run to run on a 2-core machine, so more rounds give a steadier mean.
AB_SECS=${AB_SECS:-$(((DURATION + 1) / 2))}
AB_ROUNDS=${AB_ROUNDS:-2}
AB_LAT_SECS=${AB_LAT_SECS:-$(((DURATION + 3) / 4))}
RATE=${RATE:-500}
RATE_SECS=${RATE_SECS:-$(((DURATION + 1) / 2))}
STREAMS=${STREAMS:-1000}
STARTS=${STARTS:-20}
CHUNK_REQUESTS=${CHUNK_REQUESTS:-40}
RESULTS=$ROOT/bench/RESULTS.md
FIXTURE=$ROOT/tests/fixtures/claude-code/01_main_turn1_request.json
WORK=$(mktemp -d /tmp/claude-proxy-bench.XXXXXX)
# The proxy keeps its default journal (every request step, on unless --no-journal), as users run
# it, but in the run's temp dir rather than ~/.local/state: a full run journals hundreds of MB.
export XDG_STATE_HOME=$WORK/state
PIDS=()
# The inspector's tmux server: a private socket, killed on exit.
TMUX_SOCK=claude-proxy-bench-$$
TMUX_UP=

cleanup() {
        local pid
        [ -z "$TMUX_UP" ] || tmux -L "$TMUX_SOCK" kill-server 2>/dev/null || true
        for pid in "${PIDS[@]}"; do
                kill "$pid" 2>/dev/null || true
        done
        for pid in "${PIDS[@]}"; do
                wait "$pid" 2>/dev/null || true
        done
        rm -rf "$WORK"
}
trap cleanup EXIT

say() { printf '\n== %s\n' "$*" >&2; }
die() {
        printf 'bench/run.sh: %s\n' "$*" >&2
        exit 1
}

# ---- build and tools -------------------------------------------------------------------------

say "build (Release, $BUILD)"
cmake -S "$SRC" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release -DBUILD_TESTING=ON >"$WORK/cmake.log" 2>&1 ||
        { cat "$WORK/cmake.log" >&2; die "cmake configure failed"; }
cmake --build "$BUILD" -j"$(nproc)" --target claude-proxy fake-upstream bench_xlate \
        >"$WORK/build.log" 2>&1 || { tail -40 "$WORK/build.log" >&2; die "build failed"; }
PROXY=$BUILD/claude-proxy
FAKE=$BUILD/tests/fake-upstream
XLATE=$BUILD/bench/bench_xlate

if ! command -v wrk >/dev/null; then
        say "installing wrk"
        SUDO=
        [ "$(id -u)" -eq 0 ] || SUDO=sudo
        $SUDO apt-get update -qq && $SUDO apt-get install -y -qq wrk >/dev/null
fi
command -v node >/dev/null || die "node (20 or later) is needed for bench/client.mjs"
command -v tmux >/dev/null || die "tmux is needed to measure the inspector (--tui) under load"
[ -f "$FIXTURE" ] || die "missing $FIXTURE"

# 1000 client sockets and 1000 upstream sockets in the proxy, 1000 in the fake.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
[ "$(ulimit -n)" = unlimited ] || [ "$(ulimit -n)" -ge $((STREAMS * 2 + 100)) ] ||
        die "ulimit -n is $(ulimit -n); $STREAMS streams need $((STREAMS * 2 + 100))"

# ---- scenarios, bodies, config --------------------------------------------------------------

SCEN=$WORK/scenarios
mkdir -p "$SCEN"
HEAD='{"id":"chatcmpl-bench","object":"chat.completion.chunk","created":1700000000,"model":"bench","system_fingerprint":"fp_bench","choices":[{"index":0,"delta":'

# A stream of N one-word content chunks, finish, usage, [DONE]; an optional delay before chunk 2.
stream_scenario() {
        local n=$1 delay=${2:-0} i
        {
                printf '{"turns":[{"stream":[\n'
                printf '{"data":%s{"role":"assistant","content":""},"logprobs":null,"finish_reason":null}]}}' "$HEAD"
                for ((i = 0; i < n; i++)); do
                        if [ "$i" -eq 0 ] && [ "$delay" -gt 0 ]; then
                                printf ',\n{"delay_ms":%d,' "$delay"
                        else
                                printf ',\n{'
                        fi
                        printf '"data":%s{"content":" word%d"},"logprobs":null,"finish_reason":null}]}}' "$HEAD" "$i"
                done
                printf ',\n{"data":%s{},"logprobs":null,"finish_reason":"stop"}]}}' "$HEAD"
                printf ',\n{"data":{"id":"chatcmpl-bench","object":"chat.completion.chunk","created":1700000000,"model":"bench","choices":[],"usage":{"prompt_tokens":12,"completion_tokens":%d,"total_tokens":%d}}}' "$n" $((n + 12))
                printf ',\n{"data":"[DONE]"}\n]}]}\n'
        }
}

# The same answer as stream_scenario N, but written by the fake in bursts of B chunks (one "raw"
# step each), as a busy connection delivers them: the proxy's cost per chunk without a wake-up
# per chunk.
burst_scenario() {
        local n=$1 b=$2 i esc=${HEAD//\"/\\\"}
        {
                printf '{"turns":[{"stream":[\n{"raw":"data: %s{\\"role\\":\\"assistant\\",\\"content\\":\\"\\"},\\"logprobs\\":null,\\"finish_reason\\":null}]}\\n\\n' "$esc"
                for ((i = 0; i < n; i++)); do
                        printf 'data: %s{\\"content\\":\\" word%d\\"},\\"logprobs\\":null,\\"finish_reason\\":null}]}\\n\\n' "$esc" "$i"
                        [ $(((i + 1) % b)) -ne 0 ] || printf '"},\n{"raw":"'
                done
                printf 'data: %s{},\\"logprobs\\":null,\\"finish_reason\\":\\"stop\\"}]}\\n\\ndata: {\\"id\\":\\"chatcmpl-bench\\",\\"object\\":\\"chat.completion.chunk\\",\\"created\\":1700000000,\\"model\\":\\"bench\\",\\"choices\\":[],\\"usage\\":{\\"prompt_tokens\\":12,\\"completion_tokens\\":%d,\\"total_tokens\\":%d}}\\n\\ndata: [DONE]\\n\\n"}\n]}]}\n' "$esc" "$n" $((n + 12))
        }
}

cat >"$SCEN/bench-small.json" <<'EOF'
{"turns":[{"body":{"id":"chatcmpl-bench","object":"chat.completion","created":1700000000,"model":"bench","choices":[{"index":0,"message":{"role":"assistant","content":"Hello from the fake upstream."},"finish_reason":"stop"}],"usage":{"prompt_tokens":12,"completion_tokens":7,"total_tokens":19}}}]}
EOF
stream_scenario 50 >"$SCEN/bench-stream50.json"
stream_scenario 5000 >"$SCEN/bench-stream5000.json"
burst_scenario 5000 100 >"$SCEN/bench-burst5000.json"
# First chunk at once (the proxy has sent message_start), then 30 s of silence.
stream_scenario 1 30000 >"$SCEN/bench-silent.json"

body() { # body FILE MODEL STREAM DIALECT
        local stream=
        if [ "$3" = true ]; then
                stream=',"stream":true'
                [ "$4" = openai ] && stream="$stream"',"stream_options":{"include_usage":true}'
        fi
        if [ "$4" = openai ]; then
                printf '{"model":"%s","messages":[{"role":"user","content":"Say hello."}],"max_tokens":256%s}' "$2" "$stream" >"$1"
        else
                printf '{"model":"%s","max_tokens":256,"messages":[{"role":"user","content":"Say hello."}]%s}' "$2" "$stream" >"$1"
        fi
}
body "$WORK/openai-small.json" bench-small false openai
body "$WORK/anthropic-small.json" bench-small false anthropic
body "$WORK/openai-stream50.json" bench-stream50 true openai
body "$WORK/anthropic-stream50.json" bench-stream50 true anthropic
body "$WORK/anthropic-stream5000.json" bench-stream5000 true anthropic
body "$WORK/anthropic-silent.json" bench-silent true anthropic
body "$WORK/anthropic-burst5000.json" bench-burst5000 true anthropic

# ---- processes ------------------------------------------------------------------------------

# wait_line FILE REGEX: the first match of REGEX (one capture group) in FILE, within 10 s.
wait_line() {
        local i v
        for ((i = 0; i < 1000; i++)); do
                v=$(sed -nE "s|.*$2.*|\\1|p" "$1" 2>/dev/null | head -1)
                if [ -n "$v" ]; then
                        echo "$v"
                        return 0
                fi
                sleep 0.01
        done
        cat "$1" >&2
        return 1
}

"$FAKE" --port 0 --scenarios "$SCEN" >"$WORK/fake.log" 2>&1 &
FAKE_PID=$!
PIDS+=("$FAKE_PID")
FAKE_PORT=$(wait_line "$WORK/fake.log" 'listening on http://127\.0\.0\.1:([0-9]+)') ||
        die "the fake upstream did not start"
DIRECT=http://127.0.0.1:$FAKE_PORT

CONFIG=$WORK/models.yaml
for m in bench-small bench-stream50 bench-stream5000 bench-burst5000 bench-silent; do
        printf -- '- model_id: %s\n  api_base: http://127.0.0.1:%s/v1\n' "$m" "$FAKE_PORT"
done >"$CONFIG"

# start_proxy LOG [ARG...]: starts a proxy on a free port with ARGs; sets PROXY_PID and PROXY_URL.
# Its journal (if on) goes to $PROXY_STATE/claude-proxy/journal, $XDG_STATE_HOME unless set.
start_proxy() {
        local log=$1
        shift
        XDG_STATE_HOME=${PROXY_STATE:-$XDG_STATE_HOME} \
                "$PROXY" --config "$CONFIG" --host 127.0.0.1 --port 0 "$@" >"$log" 2>&1 &
        PROXY_PID=$!
        PIDS+=("$PROXY_PID")
        PROXY_URL=$(wait_line "$log" 'ANTHROPIC_BASE_URL=(http://127\.0\.0\.1:[0-9]+)') ||
                die "the proxy did not start"
}
start_proxy "$WORK/proxy.log"

CLK_TCK=$(getconf CLK_TCK)
# cpu_s PID [TID]: CPU seconds (user + system) a process (all threads), or one of its threads,
# has used so far.
cpu_s() {
        local f=/proc/$1/stat
        [ -z "${2:-}" ] || f=/proc/$1/task/$2/stat
        awk -v hz="$CLK_TCK" '{ sub(/^.*\) /, ""); printf "%.4f", ($12 + $13) / hz }' "$f"
}
calc() { awk "BEGIN { printf \"%.${2:-1}f\", $1 }"; }
# kv FILE KEY: the value of KEY=... on the RESULT line of FILE.
kv() { sed -nE "s/^RESULT.* $2=([^ ]+).*/\\1/p" "$1" | head -1; }

post() { # post URL BODYFILE OUT: one request with curl; prints the HTTP status
        curl -sS -N -o "$3" -w '%{http_code}' -H 'content-type: application/json' \
                -H 'x-api-key: sk-bench-not-a-real-key' -H 'anthropic-version: 2023-06-01' \
                --data-binary "@$2" "$1"
}

# ---- sanity: every load answers what it should before it is timed ------------------------------

say "sanity checks"
[ "$(post "$DIRECT/v1/chat/completions" "$WORK/openai-small.json" "$WORK/o")" = 200 ] ||
        die "direct small: $(cat "$WORK/o")"
if [ "$(post "$PROXY_URL/v1/messages" "$WORK/anthropic-small.json" "$WORK/o")" != 200 ] ||
        ! grep -q 'Hello from the fake upstream' "$WORK/o"; then
        die "proxy small: $(cat "$WORK/o")"
fi
[ "$(post "$DIRECT/v1/chat/completions" "$WORK/openai-stream50.json" "$WORK/o")" = 200 ] ||
        die "direct stream: $(cat "$WORK/o")"
DIRECT50=$(grep -c '"content":" word' "$WORK/o" || true)
[ "$(post "$PROXY_URL/v1/messages" "$WORK/anthropic-stream50.json" "$WORK/o")" = 200 ] ||
        die "proxy stream: $(cat "$WORK/o")"
PROXY50=$(grep -c '^event: content_block_delta' "$WORK/o" || true)
grep -q '^event: message_stop' "$WORK/o" || die "proxy stream50 has no message_stop"
[ "$(post "$PROXY_URL/v1/messages" "$WORK/anthropic-stream5000.json" "$WORK/o")" = 200 ] ||
        die "proxy stream5000: $(head -c 500 "$WORK/o")"
PROXY5000=$(grep -c '^event: content_block_delta' "$WORK/o" || true)
grep -q '^event: message_stop' "$WORK/o" || die "proxy stream5000 has no message_stop"
echo "direct stream: $DIRECT50 content chunks; proxy: $PROXY50 and $PROXY5000 text deltas" >&2

# ---- 1, 2: throughput and latency ------------------------------------------------------------

# load NAME URL BODY CONNS SECONDS [PID]: one wrk run; also records the CPU of the proxy (PID,
# else PROXY_PID) and of the fake during it.
load() {
        local name=$1 url=$2 bodyf=$3 conns=$4 secs=$5 pid=${6:-$PROXY_PID} threads=2 p0 p1 f0 f1
        [ "$conns" -eq 1 ] && threads=1
        p0=$(cpu_s "$pid")
        f0=$(cpu_s "$FAKE_PID")
        wrk -t"$threads" -c"$conns" -d"${secs}s" --timeout 10s -s "$ROOT/bench/post.lua" \
                "$url" -- "$bodyf" >"$WORK/$name.wrk" 2>&1 || {
                cat "$WORK/$name.wrk" >&2
                die "wrk $name failed"
        }
        p1=$(cpu_s "$pid")
        f1=$(cpu_s "$FAKE_PID")
        grep -q '^RESULT' "$WORK/$name.wrk" || die "wrk $name: no result: $(cat "$WORK/$name.wrk")"
        printf 'proxy_cpu_s=%s fake_cpu_s=%s\n' "$(calc "$p1 - $p0" 3)" "$(calc "$f1 - $f0" 3)" \
                >"$WORK/$name.cpu"
        echo "$name: $(grep '^RESULT' "$WORK/$name.wrk" | cut -c8-) $(cat "$WORK/$name.cpu")" >&2
}
cpu_of() { sed -nE "s/.*$2=([^ ]+).*/\\1/p" "$WORK/$1.cpu"; }

# The proxy above keeps its journal, as users run it; a second one of the same binary runs with
# --no-journal: the translating core's own cost (issue 2), and the journal's (issue 4) as the
# difference. Direct, journal on and journal off take turns, AB_ROUNDS times each, because
# their ratios move by about 5 % from run to run on a 2-core machine.
JON_PID=$PROXY_PID JON_URL=$PROXY_URL
start_proxy "$WORK/proxy-joff.log" --no-journal
JOFF_PID=$PROXY_PID JOFF_URL=$PROXY_URL
PROXY_PID=$JON_PID PROXY_URL=$JON_URL

say "warm-up"
load warm1 "$DIRECT/v1/chat/completions" "$WORK/openai-small.json" 32 2
for v in JON JOFF; do
        pid_var=${v}_PID url_var=${v}_URL
        load "warm_${v}_small" "${!url_var}/v1/messages" "$WORK/anthropic-small.json" 32 2 "${!pid_var}"
        load "warm_${v}_stream" "${!url_var}/v1/messages" "$WORK/anthropic-stream50.json" 32 2 "${!pid_var}"
done
[ -n "$(find "$XDG_STATE_HOME" -name '*.jsonl' -size +0 2>/dev/null)" ] ||
        die "the journal-on proxy wrote no journal under $XDG_STATE_HOME"

say "throughput, concurrency 32: direct, journal on, journal off in turns, ${AB_SECS}s each"
for kind in small stream50; do
        for ((round = 1; round <= AB_ROUNDS; round++)); do
                load "direct_${kind}_$round" "$DIRECT/v1/chat/completions" "$WORK/openai-$kind.json" 32 "$AB_SECS"
                load "jon_${kind}_$round" "$JON_URL/v1/messages" "$WORK/anthropic-$kind.json" 32 "$AB_SECS" "$JON_PID"
                load "joff_${kind}_$round" "$JOFF_URL/v1/messages" "$WORK/anthropic-$kind.json" 32 "$AB_SECS" "$JOFF_PID"
        done
done

say "latency, concurrency 1"
LAT_SECS=$(((DURATION + 1) / 2))
load direct_c1 "$DIRECT/v1/chat/completions" "$WORK/openai-small.json" 1 "$LAT_SECS"
load proxy_c1 "$PROXY_URL/v1/messages" "$WORK/anthropic-small.json" 1 "$LAT_SECS"

# ---- 4: streaming CPU per relayed chunk ---------------------------------------------------------

# chunk_cpu BODY: proxy and fake CPU per relayed chunk over CHUNK_REQUESTS 5000-chunk answers;
# prints "proxy_us fake_us wall_ms_per_answer".
chunk_cpu() {
        local c0 c1 f0 f1 t0 t1 i
        c0=$(cpu_s "$PROXY_PID")
        f0=$(cpu_s "$FAKE_PID")
        t0=$(date +%s.%N)
        for ((i = 0; i < CHUNK_REQUESTS; i++)); do
                [ "$(post "$PROXY_URL/v1/messages" "$1" /dev/null)" = 200 ] ||
                        die "$(basename "$1") request $i failed"
        done
        t1=$(date +%s.%N)
        c1=$(cpu_s "$PROXY_PID")
        f1=$(cpu_s "$FAKE_PID")
        echo "$(calc "($c1 - $c0) * 1e6 / ($CHUNK_REQUESTS * 5000)" 2)" \
                "$(calc "($f1 - $f0) * 1e6 / ($CHUNK_REQUESTS * 5000)" 2)" \
                "$(calc "($t1 - $t0) * 1000 / $CHUNK_REQUESTS" 1)"
}

say "proxy CPU per chunk: $CHUNK_REQUESTS answers of 5000 chunks, one write each, then in bursts"
chunk_cpu "$WORK/anthropic-stream5000.json" >"$WORK/chunk.out"
read -r CHUNK_US FAKE_CHUNK_US CHUNK_WALL_MS <"$WORK/chunk.out"
echo "one chunk per write: proxy ${CHUNK_US} us/chunk, fake ${FAKE_CHUNK_US} us/chunk, ${CHUNK_WALL_MS} ms per answer" >&2
[ "$(post "$PROXY_URL/v1/messages" "$WORK/anthropic-burst5000.json" "$WORK/o")" = 200 ] ||
        die "proxy burst5000: $(head -c 500 "$WORK/o")"
BURST5000=$(grep -c '^event: content_block_delta' "$WORK/o" || true)
chunk_cpu "$WORK/anthropic-burst5000.json" >"$WORK/burst.out"
read -r BURST_US _ BURST_WALL_MS <"$WORK/burst.out"
echo "100-chunk bursts: proxy ${BURST_US} us/chunk, ${BURST_WALL_MS} ms per answer" >&2
grep -qiE 'error|abort|leak' "$WORK/proxy.log" && { echo "proxy log:" >&2; tail -5 "$WORK/proxy.log" >&2; }
PROXY_RSS_AFTER_LOAD=$(awk '/VmRSS/ { print $2 }' "/proc/$PROXY_PID/status")

# ---- 7: journal on vs off (issue 4) -----------------------------------------------------------

# Throughput was taken in turns with the direct runs above; here a 50-chunk stream's latency at
# concurrency 1, the same two proxies in turns.
say "journal on vs off: streaming latency at c=1, in turns, ${AB_LAT_SECS}s each"
load direct_c1_stream50 "$DIRECT/v1/chat/completions" "$WORK/openai-stream50.json" 1 "$AB_LAT_SECS"
for ((round = 1; round <= AB_ROUNDS; round++)); do
        load "jon_c1_$round" "$JON_URL/v1/messages" "$WORK/anthropic-stream50.json" 1 "$AB_LAT_SECS" "$JON_PID"
        load "joff_c1_$round" "$JOFF_URL/v1/messages" "$WORK/anthropic-stream50.json" 1 "$AB_LAT_SECS" "$JOFF_PID"
done
JOURNAL_BYTES=$(du -sb "$XDG_STATE_HOME" | cut -f1)
kill "$JOFF_PID" 2>/dev/null || true

# ---- 8: the inspector open under load (issue 5) -----------------------------------------------

# The proxy with --tui in a detached tmux session, its own pane process (exec), so its PID is the
# pane's and its main thread is the inspector's; against a fresh headless proxy, both with the
# default journal, in turns.
say "the inspector under load: --tui in tmux against headless, in turns"
tmux -L "$TMUX_SOCK" -f /dev/null new-session -d -s bench -x 120 -y 40 \
        "exec env XDG_STATE_HOME='$WORK/state-tui' TERM=tmux-256color '$PROXY' --config '$CONFIG' --host 127.0.0.1 --port 0 --tui 2>'$WORK/proxy-tui.log'"
TMUX_UP=1
TUI_PID=$(tmux -L "$TMUX_SOCK" display-message -p -t bench '#{pane_pid}')
PIDS+=("$TUI_PID")
TUI_URL=$(wait_line "$WORK/proxy-tui.log" 'ANTHROPIC_BASE_URL=(http://127\.0\.0\.1:[0-9]+)') ||
        die "the proxy did not start under tmux"
screen() { tmux -L "$TMUX_SOCK" capture-pane -p -t bench; }
for ((i = 0; i < 100; i++)); do
        screen | grep -q 'route models\.yaml' && break
        sleep 0.05
done
screen | grep -q 'route models\.yaml' || die "the inspector did not draw its status bar: $(screen)"
PROXY_STATE=$WORK/state-hl start_proxy "$WORK/proxy-hl.log"
HL_PID=$PROXY_PID HL_URL=$PROXY_URL

# rate_load NAME URL BODY PID: RATE requests per second for RATE_SECS (client.mjs rate), with the
# proxy's CPU (all threads, and its main thread: the inspector's under --tui) during it.
rate_load() {
        local name=$1 url=$2 bodyf=$3 pid=$4 p0 p1 m0 m1 t0 t1
        p0=$(cpu_s "$pid")
        m0=$(cpu_s "$pid" "$pid")
        t0=$(date +%s.%N)
        node "$ROOT/bench/client.mjs" rate "$url" "$bodyf" "$RATE" "$RATE_SECS" >"$WORK/$name.rate" ||
                die "client.mjs rate $name failed"
        t1=$(date +%s.%N)
        p1=$(cpu_s "$pid")
        m1=$(cpu_s "$pid" "$pid")
        printf 'proxy_cpu_pct=%s main_cpu_pct=%s\n' "$(calc "100 * ($p1 - $p0) / ($t1 - $t0)" 1)" \
                "$(calc "100 * ($m1 - $m0) / ($t1 - $t0)" 1)" >"$WORK/$name.cpu"
        echo "$name: $(cut -c8- "$WORK/$name.rate") $(cat "$WORK/$name.cpu")" >&2
}

load warm_hl "$HL_URL/v1/messages" "$WORK/anthropic-stream50.json" 32 2 "$HL_PID"
load warm_tui "$TUI_URL/v1/messages" "$WORK/anthropic-stream50.json" 32 2 "$TUI_PID"
for round in 1 2; do
        rate_load "hl_rate_$round" "$HL_URL/v1/messages" "$WORK/anthropic-stream50.json" "$HL_PID"
        rate_load "tui_rate_$round" "$TUI_URL/v1/messages" "$WORK/anthropic-stream50.json" "$TUI_PID"
done
screen >"$WORK/tui-after-rate.txt"
for kind in small stream50; do
        for ((round = 1; round <= AB_ROUNDS; round++)); do
                load "hl_${kind}_$round" "$HL_URL/v1/messages" "$WORK/anthropic-$kind.json" 32 "$AB_SECS" "$HL_PID"
                load "tui_${kind}_$round" "$TUI_URL/v1/messages" "$WORK/anthropic-$kind.json" 32 "$AB_SECS" "$TUI_PID"
        done
done
screen >"$WORK/tui-after.txt"
kill -0 "$TUI_PID" 2>/dev/null || die "the proxy under --tui died"
grep -q 'bench-s' "$WORK/tui-after.txt" ||
        die "the inspector shows no requests after the load: $(cat "$WORK/tui-after.txt")"
TUI_DROPPED=$(sed -nE 's/.*dropped ([0-9]+).*/\1/p' "$WORK/tui-after.txt" | tail -1)
TUI_DROPPED_RATE=$(sed -nE 's/.*dropped ([0-9]+).*/\1/p' "$WORK/tui-after-rate.txt" | tail -1)
TUI_RSS_KB=$(awk '/VmRSS/ { print $2 }' "/proc/$TUI_PID/status")
HL_RSS_KB=$(awk '/VmRSS/ { print $2 }' "/proc/$HL_PID/status")
tmux -L "$TMUX_SOCK" kill-server 2>/dev/null || true
TMUX_UP=
kill "$HL_PID" 2>/dev/null || true

# ---- 3, 4: translators alone ------------------------------------------------------------------

say "translators (bench_xlate)"
"$XLATE" "$FIXTURE" 1 | sed 's/^/RESULT /' >"$WORK/xlate.out"
cat "$WORK/xlate.out" >&2
xk() { sed -nE "s/^RESULT $1 (.* )?$2=([^ ]+).*/\\2/p" "$WORK/xlate.out"; }

# ---- 5: memory per open stream -----------------------------------------------------------------

say "$STREAMS open streams (a fresh proxy)"
start_proxy "$WORK/proxy2.log"
sleep 0.3
[ "$(post "$PROXY_URL/v1/messages" "$WORK/anthropic-small.json" /dev/null)" = 200 ] ||
        die "fresh proxy does not answer"
node "$ROOT/bench/client.mjs" streams "$PROXY_URL" "$PROXY_PID" "$WORK/anthropic-silent.json" \
        "$STREAMS" 2 >"$WORK/streams.out" || die "client.mjs streams failed"
cat "$WORK/streams.out" >&2
kill -0 "$PROXY_PID" 2>/dev/null || die "the proxy died holding $STREAMS streams"
sk() { kv "$WORK/streams.out" "$1"; }

# ---- 6: start and idle -----------------------------------------------------------------------

say "start to ready, $STARTS starts"
node "$ROOT/bench/client.mjs" startup "$PROXY" "$CONFIG" "$STARTS" >"$WORK/startup.out" ||
        die "client.mjs startup failed"
cat "$WORK/startup.out" >&2
uk() { kv "$WORK/startup.out" "$1"; }

# ---- report ----------------------------------------------------------------------------------

rps() { kv "$WORK/$1.wrk" rps; }
reqs() { kv "$WORK/$1.wrk" requests; }
errs() { # socket and non-2xx errors of a wrk run
        local f=$WORK/$1.wrk
        echo $(($(kv "$f" connect_err) + $(kv "$f" read_err) + $(kv "$f" write_err) + \
                $(kv "$f" status_err) + $(kv "$f" timeout_err)))
}
verdict() { awk "BEGIN { print ($1) ? \"yes\" : \"**no**\" }"; }

# mean2 PREFIX KEY: the mean of KEY over the wrk runs PREFIX_1 and PREFIX_2; both2: "a, b".
# The mean of an A/B measurement over its rounds, and every round's value.
mean2() {
        local sum=0 r
        for ((r = 1; r <= AB_ROUNDS; r++)); do sum=$(calc "$sum + $(kv "$WORK/${1}_$r.wrk" "$2")" 3); done
        calc "$sum / $AB_ROUNDS" 0
}
both2() {
        local out= r
        for ((r = 1; r <= AB_ROUNDS; r++)); do out+="${out:+, }$(calc "$(kv "$WORK/${1}_$r.wrk" "$2")" 0)"; done
        echo "$out"
}
pct() { calc "100 * $1 / $2" 0; }
SMALL_RATIO=$(pct "$(mean2 joff_small rps)" "$(mean2 direct_small rps)")
SMALL_RATIO_ON=$(pct "$(mean2 jon_small rps)" "$(mean2 direct_small rps)")
STREAM_RATIO=$(pct "$(mean2 joff_stream50 rps)" "$(mean2 direct_stream50 rps)")
STREAM_RATIO_ON=$(pct "$(mean2 jon_stream50 rps)" "$(mean2 direct_stream50 rps)")
# per_req_mean PREFIX WHO: CPU µs per request over the rounds of PREFIX (proxy_cpu_s, fake_cpu_s).
per_req_mean() {
        local cpu=0 n=0 r
        for ((r = 1; r <= AB_ROUNDS; r++)); do
                cpu=$(calc "$cpu + $(cpu_of "${1}_$r" "$2")" 4)
                n=$((n + $(reqs "${1}_$r")))
        done
        calc "$cpu * 1e6 / $n" 0
}
P50_D=$(kv "$WORK/direct_c1.wrk" p50_us)
P50_P=$(kv "$WORK/proxy_c1.wrk" p50_us)
ADDED_US=$(calc "$P50_P - $P50_D" 0)
X50=$(xk request_50k cpu_us)
X1M=$(xk request_1m cpu_us)
IDLE_KB=$(sk idle_kb)
PER_STREAM=$(sk r1_per_stream_kb)
READY=$(uk ready_ms_median)
IDLE_RSS_KB=$(uk idle_rss_kb_median)
ERRORS=0
for r in direct_c1 proxy_c1; do
        ERRORS=$((ERRORS + $(errs "$r")))
done
for r in direct_small jon_small joff_small direct_stream50 jon_stream50 joff_stream50; do
        for ((round = 1; round <= AB_ROUNDS; round++)); do
                ERRORS=$((ERRORS + $(errs "${r}_$round")))
        done
done

TABLE=$WORK/table.md
{
        echo "| measurement | direct to the fake | through the proxy | result | target | met |"
        echo "|---|---|---|---|---|---|"
        printf '| throughput, small requests, c=32 (journal off) | %s req/s (%s) | %s req/s (%s) | %s%% of direct | ≥ 50%% | %s |\n' \
                "$(mean2 direct_small rps)" "$(both2 direct_small rps)" "$(mean2 joff_small rps)" \
                "$(both2 joff_small rps)" "$SMALL_RATIO" "$(verdict "$SMALL_RATIO >= 50")"
        printf '| the same with the journal on (issue 4 allows it 10%%) | | %s req/s (%s) | %s%% of direct | ≥ 45%% | %s |\n' \
                "$(mean2 jon_small rps)" "$(both2 jon_small rps)" "$SMALL_RATIO_ON" \
                "$(verdict "$SMALL_RATIO_ON >= 45")"
        printf '| throughput, 50-chunk streams, c=32 (journal off) | %s req/s (%s) | %s req/s (%s) | %s%% of direct | ≥ 50%% | %s |\n' \
                "$(mean2 direct_stream50 rps)" "$(both2 direct_stream50 rps)" "$(mean2 joff_stream50 rps)" \
                "$(both2 joff_stream50 rps)" "$STREAM_RATIO" "$(verdict "$STREAM_RATIO >= 50")"
        printf '| the same with the journal on | | %s req/s (%s) | %s%% of direct | ≥ 45%% | %s |\n' \
                "$(mean2 jon_stream50 rps)" "$(both2 jon_stream50 rps)" "$STREAM_RATIO_ON" \
                "$(verdict "$STREAM_RATIO_ON >= 45")"
        printf '| added latency, small, c=1, p50 | %s µs | %s µs | +%s µs | < 300 µs | %s |\n' \
                "$(calc "$P50_D" 0)" "$(calc "$P50_P" 0)" "$ADDED_US" "$(verdict "$ADDED_US < 300")"
        printf '| CPU per request, recorded Claude Code request (%s B) | | | %s µs | < 500 µs | %s |\n' \
                "$(xk request_50k bytes)" "$(calc "$X50" 0)" "$(verdict "$X50 < 500")"
        printf '| CPU per request, synthetic 1 MB request (%s B) | | | %s µs | < 10000 µs | %s |\n' \
                "$(xk request_1m bytes)" "$(calc "$X1M" 0)" "$(verdict "$X1M < 10000")"
        printf '| proxy CPU per relayed chunk, 5000-chunk answers, one chunk per upstream write | | %s × 5000 chunks | %s µs | < 2 µs | %s |\n' \
                "$CHUNK_REQUESTS" "$CHUNK_US" "$(verdict "$CHUNK_US < 2")"
        printf '| the same, upstream writes 100 chunks at a time | | %s × 5000 chunks | %s µs | < 2 µs | %s |\n' \
                "$CHUNK_REQUESTS" "$BURST_US" "$(verdict "$BURST_US < 2")"
        printf '| memory per open stream, %s streams | | %s kB idle → %s kB | %s kB | < 16 kB | %s |\n' \
                "$STREAMS" "$IDLE_KB" "$(sk r1_rss_kb)" "$PER_STREAM" "$(verdict "$PER_STREAM < 16")"
        printf '| idle RSS (median of %s starts) | | | %s kB | < 8192 kB | %s |\n' \
                "$STARTS" "$IDLE_RSS_KB" "$(verdict "$IDLE_RSS_KB < 8192")"
        printf '| exec to answering GET /health (median of %s) | | | %s ms | < 20 ms | %s |\n' \
                "$STARTS" "$READY" "$(verdict "$READY < 20")"
        echo
        echo "Details:"
        echo
        printf -- '- wrk errors (socket errors and non-2xx answers) over all timed runs: %s.\n' "$ERRORS"
        printf -- '- throughput runs: wrk -t2 -c32, %s s each, direct / journal on / journal off in turns, %s rounds; the mean, each run in brackets.\n' \
                "$AB_SECS" "$AB_ROUNDS"
        printf -- '- proxy CPU per request under load (journal off / on): small %s / %s µs, 50-chunk stream %s / %s µs (fake: %s µs and %s µs).\n' \
                "$(per_req_mean joff_small proxy_cpu_s)" "$(per_req_mean jon_small proxy_cpu_s)" \
                "$(per_req_mean joff_stream50 proxy_cpu_s)" "$(per_req_mean jon_stream50 proxy_cpu_s)" \
                "$(per_req_mean direct_small fake_cpu_s)" "$(per_req_mean direct_stream50 fake_cpu_s)"
        printf -- '- latency, c=1: direct p90 %s µs, p99 %s µs; through the proxy p90 %s µs, p99 %s µs.\n' \
                "$(calc "$(kv "$WORK/direct_c1.wrk" p90_us)" 0)" "$(calc "$(kv "$WORK/direct_c1.wrk" p99_us)" 0)" \
                "$(calc "$(kv "$WORK/proxy_c1.wrk" p90_us)" 0)" "$(calc "$(kv "$WORK/proxy_c1.wrk" p99_us)" 0)"
        printf -- '- CPU split per request (µs): 50 KB parse %s, translate %s, print %s, token estimate %s; 1 MB parse %s, translate %s, print %s, token estimate %s. Upstream body %s B and %s B.\n' \
                "$(xk request_50k parse_us)" "$(xk request_50k xlate_us)" "$(xk request_50k print_us)" \
                "$(xk request_50k tokens_us)" "$(xk request_1m parse_us)" "$(xk request_1m xlate_us)" \
                "$(xk request_1m print_us)" "$(xk request_1m tokens_us)" \
                "$(xk request_50k upstream_bytes)" "$(xk request_1m upstream_bytes)"
        printf -- '- stream translator alone (bench_xlate): %s µs per chunk fed one chunk per call, %s µs in 16 KB slices; the fake spends %s µs per chunk writing them one at a time.\n' \
                "$(xk stream_chunk us_per_chunk)" "$(xk stream_slice16k us_per_chunk)" "$FAKE_CHUNK_US"
        printf -- '- text deltas relayed: %s of 50, %s and %s of 5000 chunks; 5000-chunk answers took %s ms (one chunk per write) and %s ms (bursts) end to end.\n' \
                "$PROXY50" "$PROXY5000" "$BURST5000" "$CHUNK_WALL_MS" "$BURST_WALL_MS"
        printf -- '- open streams: %s of %s got message_start in %s ms (failed: %s); proxy descriptors %s; RSS after closing them %s kB; second round %s kB open (%s kB each), %s kB after closing.\n' \
                "$(sk r1_opened)" "$STREAMS" "$(sk r1_open_ms)" "$(sk r1_failed)" "$(sk r1_fds)" \
                "$(sk r1_after_close_kb)" "$(sk r2_rss_kb)" "$(sk r2_per_stream_kb)" "$(sk r2_after_close_kb)"
        printf -- '- RSS of the long-running proxy after all the load above: %s kB.\n' "$PROXY_RSS_AFTER_LOAD"
        printf -- '- start: median %s ms (min %s, max %s) to the first /health answer, %s ms to the ready line on stderr; timed from the parent'"'"'s spawn call.\n' \
                "$READY" "$(uk ready_ms_min)" "$(uk ready_ms_max)" "$(uk banner_ms_median)"
} >"$TABLE"

# ---- report: 7 and 8 ---------------------------------------------------------------------------

rk() { kv "$WORK/$1.rate" "$2"; }
rmean() { calc "($(rk "${1}_1" "$2") + $(rk "${1}_2" "$2")) / 2" "${3:-0}"; }
cmean() { calc "($(cpu_of "${1}_1" "$2") + $(cpu_of "${1}_2" "$2")) / 2" 1; }
AB_ERRORS=0
for r in jon_c1 joff_c1 hl_small tui_small hl_stream50 tui_stream50; do
        for ((round = 1; round <= AB_ROUNDS; round++)); do
                AB_ERRORS=$((AB_ERRORS + $(errs "${r}_$round")))
        done
done
RATE_FAILED=0
for r in hl_rate_1 hl_rate_2 tui_rate_1 tui_rate_2; do
        RATE_FAILED=$((RATE_FAILED + $(rk "$r" failed) + $(rk "$r" unfinished)))
done
J_SMALL=$(pct "$(mean2 jon_small rps)" "$(mean2 joff_small rps)")
J_STREAM=$(pct "$(mean2 jon_stream50 rps)" "$(mean2 joff_stream50 rps)")
J_P50_ON=$(mean2 jon_c1 p50_us)
J_P50_OFF=$(mean2 joff_c1 p50_us)
J_P50_D=$(calc "$(kv "$WORK/direct_c1_stream50.wrk" p50_us)" 0)
J_LAT=$(pct "$J_P50_ON" "$J_P50_OFF")
U_RATE=$(pct "$(rmean tui_rate achieved_rps 1)" "$(rmean hl_rate achieved_rps 1)")
U_SMALL=$(pct "$(mean2 tui_small rps)" "$(mean2 hl_small rps)")
U_STREAM=$(pct "$(mean2 tui_stream50 rps)" "$(mean2 hl_stream50 rps)")
{
        echo
        echo "Journal on vs off (issue 4): two proxies of the same binary, the default journal against \`--no-journal\`; the throughput runs above (${AB_SECS} s each, in turns with the direct runs), and runs of ${AB_LAT_SECS} s at c=1 in turns; ${AB_ROUNDS} each way, the mean (each run in brackets)."
        echo
        echo "| measurement | journal off | journal on | on / off | target | met |"
        echo "|---|---|---|---|---|---|"
        printf '| throughput, small requests, c=32 | %s req/s (%s) | %s req/s (%s) | %s%% | ≥ 90%% | %s |\n' \
                "$(mean2 joff_small rps)" "$(both2 joff_small rps)" "$(mean2 jon_small rps)" \
                "$(both2 jon_small rps)" "$J_SMALL" "$(verdict "$J_SMALL >= 90")"
        printf '| throughput, 50-chunk streams, c=32 | %s req/s (%s) | %s req/s (%s) | %s%% | ≥ 90%% | %s |\n' \
                "$(mean2 joff_stream50 rps)" "$(both2 joff_stream50 rps)" "$(mean2 jon_stream50 rps)" \
                "$(both2 jon_stream50 rps)" "$J_STREAM" "$(verdict "$J_STREAM >= 90")"
        printf '| 50-chunk stream, c=1, p50 (direct: %s µs) | %s µs (%s), +%s µs | %s µs (%s), +%s µs | %s%% | ≤ 110%% | %s |\n' \
                "$J_P50_D" "$J_P50_OFF" "$(both2 joff_c1 p50_us)" "$(calc "$J_P50_OFF - $J_P50_D" 0)" \
                "$J_P50_ON" "$(both2 jon_c1 p50_us)" "$(calc "$J_P50_ON - $J_P50_D" 0)" "$J_LAT" \
                "$(verdict "$J_LAT <= 110")"
        printf '| proxy CPU per request under load, small / 50-chunk stream | %s / %s µs | %s / %s µs | | | |\n' \
                "$(per_req_mean joff_small proxy_cpu_s)" "$(per_req_mean joff_stream50 proxy_cpu_s)" \
                "$(per_req_mean jon_small proxy_cpu_s)" "$(per_req_mean jon_stream50 proxy_cpu_s)"
        echo
        echo "The inspector open under load (issue 5): \`--tui\` in a detached tmux session (120x40, private socket) against a fresh headless proxy, both with the default journal, in turns. Paced: ${RATE} requests/s of 50-chunk streams for ${RATE_SECS} s, open loop (client.mjs rate; latency from the moment each request was due), twice each way. Saturation: wrk c=32, ${AB_SECS} s, ${AB_ROUNDS} times each way."
        echo
        echo "| measurement | headless | --tui | --tui / headless | target | met |"
        echo "|---|---|---|---|---|---|"
        printf '| achieved rate at %s req/s offered | %s req/s | %s req/s | %s%% | ≥ 90%% | %s |\n' \
                "$RATE" "$(rmean hl_rate achieved_rps 1)" "$(rmean tui_rate achieved_rps 1)" "$U_RATE" \
                "$(verdict "$U_RATE >= 90")"
        printf '| latency at %s req/s, p50 / p99 | %s / %s µs | %s / %s µs | | | |\n' "$RATE" \
                "$(rmean hl_rate p50_us)" "$(rmean hl_rate p99_us)" "$(rmean tui_rate p50_us)" "$(rmean tui_rate p99_us)"
        printf '| proxy CPU at %s req/s, all threads (main thread) | %s%% (%s%%) of a core | %s%% (%s%%, the inspector) | | | |\n' \
                "$RATE" "$(cmean hl_rate proxy_cpu_pct)" "$(cmean hl_rate main_cpu_pct)" \
                "$(cmean tui_rate proxy_cpu_pct)" "$(cmean tui_rate main_cpu_pct)"
        printf '| saturation, small requests, c=32 | %s req/s (%s) | %s req/s (%s) | %s%% | ≥ 90%% | %s |\n' \
                "$(mean2 hl_small rps)" "$(both2 hl_small rps)" "$(mean2 tui_small rps)" \
                "$(both2 tui_small rps)" "$U_SMALL" "$(verdict "$U_SMALL >= 90")"
        printf '| saturation, 50-chunk streams, c=32 | %s req/s (%s) | %s req/s (%s) | %s%% | ≥ 90%% | %s |\n' \
                "$(mean2 hl_stream50 rps)" "$(both2 hl_stream50 rps)" "$(mean2 tui_stream50 rps)" \
                "$(both2 tui_stream50 rps)" "$U_STREAM" "$(verdict "$U_STREAM >= 90")"
        echo
        printf -- '- errors in these runs: wrk %s, paced requests failed or unfinished %s.\n' "$AB_ERRORS" "$RATE_FAILED"
        printf -- '- journal written by the journal-on proxy over its runs: %s MB.\n' "$(calc "$JOURNAL_BYTES / 1e6" 0)"
        printf -- '- paced runs (each): headless %s and %s req/s, --tui %s and %s req/s; the client was at most %s ms behind its schedule.\n' \
                "$(rk hl_rate_1 achieved_rps)" "$(rk hl_rate_2 achieved_rps)" "$(rk tui_rate_1 achieved_rps)" \
                "$(rk tui_rate_2 achieved_rps)" "$(for r in hl_rate_1 hl_rate_2 tui_rate_1 tui_rate_2; do rk "$r" send_late_max_ms; done | sort -g | tail -1)"
        printf -- '- records dropped for the inspector (its status bar): %s after the paced runs, %s after the saturation runs; RSS after the runs: --tui %s kB, headless %s kB.\n' \
                "${TUI_DROPPED_RATE:-?}" "${TUI_DROPPED:-?}" "$TUI_RSS_KB" "$HL_RSS_KB"
} >>"$TABLE"

COMPILER_PATH=$(sed -nE 's/^CMAKE_C_COMPILER:[A-Z]+=(.*)/\1/p' "$BUILD/CMakeCache.txt")
REV=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)
if [ "$SRC" != "$ROOT" ]; then
        REV=${SRC_REV:-"$REV (built from $SRC)"}
elif [ -n "$(git -C "$ROOT" status --porcelain -- src ui tests/fake_upstream.c 2>/dev/null)" ]; then
        REV="$REV + uncommitted changes in src/ or ui/"
fi
FACTS=$WORK/facts.md
{
        echo "Command: \`bench/run.sh\` (from the repository root; DURATION=$DURATION s, AB_ROUNDS=$AB_ROUNDS runs each way in the turns of the throughput and A/B comparisons)."
        echo
        echo "- date: $(date -u '+%Y-%m-%d %H:%M UTC'); revision: $REV"
        echo "- machine: $(nproc) cores, $(sed -nE 's/^model name\s*:\s*//p' /proc/cpuinfo | head -1), Linux $(uname -r)"
        echo "- compiler: $("${COMPILER_PATH:-cc}" --version | head -1), Release (-O3 -DNDEBUG)"
        echo "- libevent $(pkg-config --modversion libevent), libcurl $(pkg-config --modversion libcurl), cJSON $(pkg-config --modversion libcjson), $(wrk -v 2>&1 | head -1 | cut -d' ' -f1-2), node $(node --version)"
        echo "- wrk -t2 -c32 -d${AB_SECS}s for throughput (direct, journal on, journal off in turns, ${AB_ROUNDS} rounds), -t1 -c1 -d${LAT_SECS}s for latency; wrk, the fake and the proxy share the $(nproc) cores."
        echo "- the proxy runs with its defaults, so its journal is on (written under the run's temp dir), except the --no-journal proxy of the journal-off rows."
        echo
        echo "For scale (quoted from the project's issue, not measured here): the most used Node proxy for Claude Code needs ~1 ms of CPU per small request, 19 ms for the 50 KB request, 15 µs per chunk, 100 kB per open stream, 158 MB idle and 0.8 s to start."
} >"$FACTS"

say "results"
cat "$FACTS" "$TABLE"

if [ -z "${NO_RESULTS:-}" ]; then
        NEW=$WORK/results.md
        {
                echo "<!-- results:begin (written by bench/run.sh; edit outside the markers) -->"
                cat "$FACTS"
                echo
                cat "$TABLE"
                echo "<!-- results:end -->"
        } >"$NEW"
        if [ -f "$RESULTS" ] && grep -q '^<!-- results:begin' "$RESULTS"; then
                awk -v new="$NEW" '
                        /^<!-- results:begin/ { while ((getline l < new) > 0) print l; skip = 1; next }
                        /^<!-- results:end/ { skip = 0; next }
                        !skip { print }' "$RESULTS" >"$WORK/merged.md"
                cp "$WORK/merged.md" "$RESULTS"
        else
                { echo "# Benchmark results"; echo; cat "$NEW"; echo; echo "## Analysis"; echo; } >"$RESULTS"
        fi
        echo "wrote $RESULTS" >&2
fi
