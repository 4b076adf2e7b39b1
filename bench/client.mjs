// client.mjs: the measurements wrk cannot make, for bench/run.sh. No dependencies beyond Node.
//
//   node bench/client.mjs streams URL PID BODY.json COUNT [ROUNDS]
//       Opens COUNT streaming /v1/messages requests against a proxy whose upstream answers with
//       one chunk and then stays silent, waits until every one has received message_start, and
//       reads the proxy's VmRSS (and its open descriptors). Then closes them all. With ROUNDS > 1
//       it does it again, so memory that is not returned shows up as growth between rounds.
//   node bench/client.mjs startup BIN CONFIG RUNS
//       Spawns the proxy RUNS times on a free port and times exec -> first answer to GET /health;
//       reads VmRSS once it has been idle for 300 ms. Medians are printed.
//   node bench/client.mjs rate URL BODY.json RPS SECONDS
//       An open-loop load at a fixed rate: request i is due at i / RPS seconds, whatever the
//       answers before it are doing (a 1 ms scheduler, keep-alive, up to 256 connections), so a
//       slow proxy shows up as latency and a lower achieved rate rather than as fewer requests
//       sent. Every answer is read to its end and must be a 200. Latency is timed from the
//       moment a request was due, so queueing in the client counts (no coordinated omission).
//
// Every result is one "RESULT key=value ..." line on stdout.
import { spawn } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function rssKb(pid) {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) : NaN;
}

function fdCount(pid) {
  try {
    return readdirSync(`/proc/${pid}/fd`).length;
  } catch {
    return NaN;
  }
}

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const n = s.length;
  return n % 2 ? s[(n - 1) / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
}

function health(port) {
  return new Promise((resolve) => {
    const req = http.get({ host: '127.0.0.1', port, path: '/health', agent: false }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode));
    });
    req.on('error', () => resolve(0));
  });
}

// Opens one stream; resolves with the request once message_start has arrived.
function openStream(url, body) {
  return new Promise((resolve, reject) => {
    const u = new URL(url);
    const req = http.request({
      host: u.hostname, port: u.port, path: '/v1/messages', method: 'POST', agent: false,
      headers: {
        'content-type': 'application/json', 'content-length': Buffer.byteLength(body),
        'x-api-key': 'sk-bench-not-a-real-key', 'anthropic-version': '2023-06-01',
      },
    });
    const timer = setTimeout(() => reject(new Error('no message_start within 15 s')), 15000);
    req.on('response', (res) => {
      if (res.statusCode !== 200) {
        clearTimeout(timer);
        reject(new Error(`status ${res.statusCode}`));
        res.resume();
        return;
      }
      let seen = '';
      res.on('data', (chunk) => {
        if (seen === null) return;
        seen += chunk.toString('utf8');
        if (seen.includes('event: message_start')) {
          seen = null;
          clearTimeout(timer);
          resolve(req);
        }
      });
      res.on('error', () => {});
    });
    req.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    req.end(body);
  });
}

async function streams(url, pid, bodyFile, count, rounds) {
  const body = readFileSync(bodyFile, 'utf8');
  const idle = rssKb(pid);
  const idleFds = fdCount(pid);
  const out = { streams: count, idle_kb: idle, idle_fds: idleFds };

  for (let round = 1; round <= rounds; round++) {
    const open = [];
    let failed = 0;
    let firstError = '';
    const t0 = Date.now();
    // At most 100 connecting at once: the listen backlog is short and a dropped SYN costs 1 s.
    let next = 0;
    async function worker() {
      while (next < count) {
        next++;
        try {
          open.push(await openStream(url, body));
        } catch (e) {
          failed++;
          firstError ||= e.message;
        }
      }
    }
    await Promise.all(Array.from({ length: 100 }, worker));
    const openMs = Date.now() - t0;
    await sleep(500);
    const rss = rssKb(pid);
    const fds = fdCount(pid);
    for (const req of open) req.destroy();
    await sleep(1000);
    const after = rssKb(pid);
    const alive = await health(new URL(url).port);
    Object.assign(out, {
      [`r${round}_opened`]: open.length, [`r${round}_failed`]: failed,
      [`r${round}_open_ms`]: openMs, [`r${round}_rss_kb`]: rss, [`r${round}_fds`]: fds,
      [`r${round}_after_close_kb`]: after, [`r${round}_health`]: alive,
      [`r${round}_per_stream_kb`]: ((rss - idle) / Math.max(open.length, 1)).toFixed(2),
    });
    if (firstError) out[`r${round}_error`] = JSON.stringify(firstError).replace(/ /g, '_');
  }
  return out;
}

function percentile(sorted, p) {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

async function rate(url, bodyFile, rps, seconds) {
  const body = readFileSync(bodyFile);
  const u = new URL(url);
  const agent = new http.Agent({ keepAlive: true, maxSockets: 256 });
  const total = Math.round(rps * seconds);
  const lat = [];
  let ok = 0;
  let failed = 0;
  let firstError = '';
  let lateMax = 0;
  let pending = 0;
  let lastEnd = 0n;
  const t0 = process.hrtime.bigint();

  function one(dueNs) {
    pending++;
    const finish = (err) => {
      pending--;
      const end = process.hrtime.bigint();
      lastEnd = end;
      if (err) {
        failed++;
        firstError ||= err;
      } else {
        ok++;
        lat.push(Number(end - dueNs) / 1e3);
      }
    };
    const req = http.request({
      host: u.hostname, port: u.port, path: u.pathname, method: 'POST', agent,
      headers: {
        'content-type': 'application/json', 'content-length': body.length,
        'x-api-key': 'sk-bench-not-a-real-key', 'anthropic-version': '2023-06-01',
      },
    });
    req.on('response', (res) => {
      res.on('data', () => {});
      res.on('end', () => finish(res.statusCode === 200 ? null : `status_${res.statusCode}`));
      res.on('error', (e) => finish(e.message));
    });
    req.on('error', (e) => finish(e.message));
    req.end(body);
  }

  let sent = 0;
  await new Promise((resolve) => {
    function tick() {
      const now = process.hrtime.bigint();
      const due = Math.min(total, Math.floor((Number(now - t0) / 1e9) * rps) + 1);
      for (; sent < due; sent++) {
        const dueNs = t0 + BigInt(Math.round((sent / rps) * 1e9));
        lateMax = Math.max(lateMax, Number(now - dueNs) / 1e6);
        one(dueNs);
      }
      if (sent < total) setTimeout(tick, 1);
      else resolve();
    }
    tick();
  });
  const drainEnd = Date.now() + 10000;
  while (pending > 0 && Date.now() < drainEnd) await sleep(5);
  agent.destroy();
  lat.sort((a, b) => a - b);
  const elapsed = Number(lastEnd - t0) / 1e9;
  const out = {
    target_rps: rps, seconds, sent, ok, failed, unfinished: pending,
    achieved_rps: (ok / elapsed).toFixed(1), elapsed_s: elapsed.toFixed(3),
    p50_us: percentile(lat, 50).toFixed(0), p90_us: percentile(lat, 90).toFixed(0),
    p99_us: percentile(lat, 99).toFixed(0), max_us: (lat[lat.length - 1] ?? NaN).toFixed(0),
    send_late_max_ms: lateMax.toFixed(1),
  };
  if (firstError) out.error = JSON.stringify(firstError).replace(/ /g, '_');
  return out;
}

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

async function startupOnce(bin, config) {
  const port = await freePort();
  const t0 = process.hrtime.bigint();
  const child = spawn(bin, ['--config', config, '--host', '127.0.0.1', '--port', String(port)], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let bannerNs = null;
  let stderr = '';
  child.stderr.on('data', (d) => {
    stderr += d;
    if (bannerNs === null && stderr.includes('ANTHROPIC_BASE_URL=')) {
      bannerNs = process.hrtime.bigint() - t0;
    }
  });
  const exited = new Promise((resolve) => child.on('exit', resolve));
  let readyNs = null;
  while (readyNs === null) {
    if (child.exitCode !== null) throw new Error(`proxy exited: ${stderr}`);
    if ((await health(port)) === 200) readyNs = process.hrtime.bigint() - t0;
    else if (process.hrtime.bigint() - t0 > 5_000_000_000n) throw new Error('not ready in 5 s');
  }
  await sleep(300);
  const rss = rssKb(child.pid);
  child.kill('SIGTERM');
  await exited;
  return {
    ready_ms: Number(readyNs) / 1e6,
    banner_ms: bannerNs === null ? NaN : Number(bannerNs) / 1e6,
    rss_kb: rss,
  };
}

async function startup(bin, config, runs) {
  const all = [];
  for (let i = 0; i < runs; i++) all.push(await startupOnce(bin, config));
  return {
    runs,
    ready_ms_median: median(all.map((r) => r.ready_ms)).toFixed(2),
    ready_ms_min: Math.min(...all.map((r) => r.ready_ms)).toFixed(2),
    ready_ms_max: Math.max(...all.map((r) => r.ready_ms)).toFixed(2),
    banner_ms_median: median(all.map((r) => r.banner_ms)).toFixed(2),
    idle_rss_kb_median: median(all.map((r) => r.rss_kb)),
  };
}

function print(result) {
  console.log('RESULT ' + Object.entries(result).map(([k, v]) => `${k}=${v}`).join(' '));
}

const [mode, ...args] = process.argv.slice(2);
try {
  if (mode === 'streams') {
    print(await streams(args[0], Number(args[1]), args[2], Number(args[3]), Number(args[4] || 1)));
  } else if (mode === 'startup') {
    print(await startup(args[0], args[1], Number(args[2])));
  } else if (mode === 'rate') {
    print(await rate(args[0], args[1], Number(args[2]), Number(args[3])));
  } else {
    console.error('usage: client.mjs streams URL PID BODY COUNT [ROUNDS] | startup BIN CONFIG RUNS' +
      ' | rate URL BODY RPS SECONDS');
    process.exit(2);
  }
} catch (e) {
  console.error(`client.mjs: ${e.stack || e}`);
  process.exit(1);
}
