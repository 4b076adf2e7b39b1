-- post.lua: wrk script that POSTs one JSON body, read from a file, on every request.
--
--   wrk -t2 -c32 -d10s -s bench/post.lua http://127.0.0.1:PORT/v1/messages -- BODY.json
--
-- Both key headers are sent, so the same script drives the fake upstream (OpenAI body) and the
-- proxy (Anthropic body). done() prints one "RESULT key=value ..." line for bench/run.sh.

function init(args)
  local f = assert(io.open(args[1], "rb"), "cannot open body file " .. tostring(args[1]))
  wrk.method = "POST"
  wrk.body = f:read("*a")
  f:close()
  wrk.headers["Content-Type"] = "application/json"
  wrk.headers["x-api-key"] = "sk-bench-not-a-real-key"
  wrk.headers["Authorization"] = "Bearer sk-bench-not-a-real-key"
  wrk.headers["anthropic-version"] = "2023-06-01"
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "RESULT requests=%d seconds=%.3f rps=%.1f p50_us=%.1f p90_us=%.1f p99_us=%.1f " ..
    "mean_us=%.1f bytes=%d connect_err=%d read_err=%d write_err=%d status_err=%d timeout_err=%d\n",
    summary.requests, summary.duration / 1e6, summary.requests / (summary.duration / 1e6),
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.mean,
    summary.bytes, e.connect, e.read, e.write, e.status, e.timeout))
end
