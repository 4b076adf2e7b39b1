// Direct mode (issue 3): claude-proxy passing Anthropic requests through to the strict Anthropic
// fake (fake-upstream --mode anthropic), which refuses what Anthropic refuses. Checks, byte for
// byte, that the upstream gets the client's body with only `model` and `max_tokens` changed and
// the right headers, that the client gets the upstream's SSE bytes unchanged and each event as
// soon as it was sent, that the real Claude Code CLI completes a tool turn, and the faults.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';

import { claudeBin, parseSSE, rawBody, runClaude, startDualStack, tempDir, validateStream }
  from './lib/harness.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const CC = path.join(HERE, 'fixtures', 'claude-code-2.1.331');
const T = { timeout: 60000 };
const STEP_MS = 150; // anthropic_cc_replay.json waits this long before every event
const CAP = 32000; // the entry's max_tokens; Claude Code asks for 128000
const DROPPED_BETA = 'effort-2025-11-24';
const UPSTREAM_KEY = 'direct-upstream-secret';
const CLIENT_KEY = 'test'; // what the fixtures' x-api-key says

let stack;
let closedPort;

/** A loopback port nobody listens on: bound, then closed. */
function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

before(async () => {
  closedPort = await freePort();
  stack = await startDualStack({
    models: [
      // api_base without /v1: the client's path is appended as is
      { model_id: 'd-cc', model_name: 'anthropic_cc_replay', direct: true, max_tokens: CAP,
        drop_betas: [DROPPED_BETA], extra_headers: { 'x-extra-test': 'from-the-entry' },
        api_key_name: 'CP_E2E_DIRECT_KEY' },
      // api_base ending in /v1: one /v1 is dropped
      { model_id: 'd-v1', model_name: 'anthropic_cc_replay', direct: true, max_tokens: CAP,
        api_key_name: 'CP_E2E_DIRECT_KEY', api_base: '{anthropic}/v1' },
      { model_id: 'd-bearer', model_name: 'anthropic_text', direct: true, auth: 'bearer' },
      { model_id: 'd-text', model_name: 'anthropic_text', direct: true },
      { model_id: 'd-429', model_name: 'anthropic_429', direct: true },
      { model_id: 'd-529', model_name: 'anthropic_529', direct: true },
      { model_id: 'd-html', model_name: 'anthropic_html_503', direct: true },
      { model_id: 'd-cut', model_name: 'anthropic_cut', direct: true },
      { model_id: 'd-count404', model_name: 'anthropic_count_404', direct: true },
      { model_id: 'd-refused', model_name: 'anthropic_text', direct: true,
        api_base: `http://127.0.0.1:${closedPort}` },
    ],
    // No proxy-side retries here: retry-after 7 would cost 7 s per request. The retry test
    // below uses its own stack.
    env: { CP_E2E_DIRECT_KEY: UPSTREAM_KEY, MAX_RETRIES: '0' },
  });
});

after(async () => {
  await stack?.stop();
});

/**
 * Sends one request with exactly these headers and body (node:http, so nothing is added but
 * host, content-length and connection) and records when each piece of the answer arrived.
 */
function send(urlPath, { headers, body, base = stack.baseURL }) {
  return new Promise((resolve, reject) => {
    const url = new URL(urlPath, base);
    const bytes = Buffer.isBuffer(body) ? body : Buffer.from(body);
    const req = http.request(url, { method: 'POST',
      headers: { ...headers, 'content-length': String(bytes.length) } }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push({ at: performance.now(), bytes: c }));
      res.on('error', reject);
      res.on('end', () => {
        const all = Buffer.concat(chunks.map((c) => c.bytes));
        resolve({ status: res.statusCode, headers: res.headers, chunks, bytes: all,
          text: all.toString('utf8') });
      });
      res.on('aborted', () => {
        const all = Buffer.concat(chunks.map((c) => c.bytes));
        resolve({ status: res.statusCode, headers: res.headers, chunks, bytes: all,
          text: all.toString('utf8'), aborted: true });
      });
    });
    req.setTimeout(30000, () => req.destroy(new Error(`${urlPath}: no answer in 30 s`)));
    req.on('error', reject);
    req.end(bytes);
  });
}

function fixture(name) {
  return JSON.parse(fs.readFileSync(path.join(CC, name), 'utf8'));
}

/** Claude Code's headers from a fixture, minus what node:http sets itself. */
function clientHeaders(fx, extra = {}) {
  const h = { ...fx.headers };
  delete h['content-length'];
  delete h.connection;
  delete h.host;
  return { ...h, ...extra };
}

/** Replaces `from` by `to` in buf, asserting it occurs exactly once. */
function replaceOnce(buf, from, to) {
  const f = Buffer.from(from);
  const i = buf.indexOf(f);
  assert.ok(i >= 0, `${from} is in the client body`);
  assert.equal(buf.indexOf(f, i + 1), -1, `${from} occurs once in the client body`);
  return Buffer.concat([buf.subarray(0, i), Buffer.from(to), buf.subarray(i + f.length)]);
}

/** assert.ok(a.equals(b)) with the first differing offset and its surroundings on failure. */
function assertSameBytes(got, want, what) {
  if (got.equals(want)) return;
  let i = 0;
  while (i < got.length && i < want.length && got[i] === want[i]) i++;
  const ctx = (b) => JSON.stringify(b.subarray(Math.max(0, i - 80), i + 80).toString('utf8'));
  assert.fail(`${what}: bytes differ at offset ${i} (got ${got.length} bytes, want ` +
    `${want.length})\n got: ${ctx(got)}\nwant: ${ctx(want)}`);
}

/** The upstream requests the Anthropic fake received since `since`. */
function upstream(since) {
  return stack.anthropic.records().slice(since);
}

/** The same request straight to the fake, as the proxy should have forwarded it. */
function askFakeDirectly(urlPath, body) {
  return send(urlPath, { base: stack.anthropic.url, body, headers: {
    'content-type': 'application/json', 'x-api-key': UPSTREAM_KEY,
    'anthropic-version': '2023-06-01' } });
}

function assertForwardedHeaders(rec, fx, { dropped = true, extra = true } = {}) {
  const h = rec.headers;
  const sent = fx.headers;
  for (const k of ['anthropic-version', 'user-agent', 'x-claude-code-session-id', 'x-app',
    'anthropic-dangerous-direct-browser-access', 'x-stainless-package-version',
    'x-stainless-runtime', 'content-type']) {
    assert.equal(h[k], sent[k], `header ${k} forwarded unchanged`);
  }
  const betas = sent['anthropic-beta'].split(',');
  const want = dropped ? betas.filter((b) => b !== DROPPED_BETA) : betas;
  assert.deepEqual(h['anthropic-beta']?.split(',').map((s) => s.trim()), want,
    'anthropic-beta forwarded, minus drop_betas');
  assert.equal(h['x-api-key'], UPSTREAM_KEY, 'the entry key replaces the client key');
  assert.equal(h.authorization, undefined, 'the client Authorization header is not forwarded');
  assert.equal(h['accept-encoding'], undefined, 'accept-encoding is not forwarded');
  if (extra) assert.equal(h['x-extra-test'], 'from-the-entry', 'extra_headers added');
  assert.ok(!JSON.stringify(rec).includes('client-bearer-token'), 'no client token upstream');
}

for (const [file, label] of [['01_main_turn1_request.json', 'turn 1'],
  ['02_main_turn2_tool_result_request.json', 'turn 2 (tool_result)']]) {
  for (const model of ['d-cc', 'd-v1']) {
    test(`byte level, Claude Code ${label} via ${model}: body, headers, SSE bytes, per-event ` +
      'flush', T, async () => {
      const fx = fixture(file);
      fx.body.model = model;
      const body = Buffer.from(JSON.stringify(fx.body));
      const since = stack.anthropic.records().length;
      const res = await send(fx.url, { body,
        headers: clientHeaders(fx, { authorization: 'Bearer client-bearer-token' }) });
      assert.equal(res.status, 200, res.text.slice(0, 1000));

      // Upstream: one request, the client's bytes with only model and max_tokens changed.
      const up = upstream(since);
      assert.equal(up.length, 1, `one upstream request, got ${up.length}`);
      assert.equal(up[0].path, '/v1/messages', 'api_base + the client path (one /v1)');
      assert.equal(up[0].query, 'beta=true', 'the client query is kept');
      let want = replaceOnce(body, `"model":"${model}"`, '"model":"anthropic_cc_replay"');
      want = replaceOnce(want, '"max_tokens":128000', `"max_tokens":${CAP}`);
      assertSameBytes(rawBody(up[0]), want, 'upstream body');
      assert.ok(fx.headers['anthropic-beta'].split(',').includes(DROPPED_BETA),
        'the fixture sends the beta d-cc drops');
      assertForwardedHeaders(up[0], fx, { dropped: model === 'd-cc', extra: model === 'd-cc' });

      // Client: the bytes the fake sends for this request, unchanged.
      const direct = await askFakeDirectly('/v1/messages?beta=true', rawBody(up[0]));
      assert.equal(direct.status, 200);
      assertSameBytes(res.bytes, direct.bytes, 'SSE bytes the client got');
      assert.match(res.headers['content-type'] ?? '', /^text\/event-stream/);
      const turn = file.startsWith('01') ? 'req_direct_turn1' : 'req_direct_turn2';
      assert.equal(res.headers['request-id'], turn, 'request-id copied');
      if (turn === 'req_direct_turn1') {
        assert.equal(res.headers['anthropic-ratelimit-requests-remaining'], '99',
          'anthropic-* headers copied');
      }
      const blocks = validateStream(parseSSE(res.text));
      assert.deepEqual(blocks.map((b) => b.type),
        turn === 'req_direct_turn1' ? ['text', 'tool_use'] : ['text']);

      // Each event reached the client before the fake sent the next one (STEP_MS apart).
      let end = 0;
      const arrivals = [];
      for (const frame of res.text.split('\n\n').slice(0, -1)) {
        end += Buffer.byteLength(frame) + 2;
        let got = 0;
        const chunk = res.chunks.find((c) => (got += c.bytes.length) >= end);
        arrivals.push(chunk.at);
      }
      assert.ok(arrivals.length >= 6, `events: ${arrivals.length}`);
      // A proxy that buffers holds events back systematically; one short gap is what a busy
      // machine does to the client (this process not scheduled for a step, two events read at
      // once), so one is tolerated and two are not.
      const short = [];
      for (let i = 1; i < arrivals.length; i++) {
        const gap = arrivals[i] - arrivals[i - 1];
        if (gap < STEP_MS * 0.6) short.push(`event ${i} arrived ${gap.toFixed(0)} ms after event ${i - 1}`);
      }
      assert.ok(short.length <= 1, `${short.join('; ')}; the fake waited ${STEP_MS} ms between ` +
        'events, so the proxy held events back');
    });
  }
}

test('byte level, count_tokens: body with only model changed, the upstream count returned', T,
  async () => {
    const fx = fixture('04_count_tokens_request.json');
    fx.body.model = 'd-cc';
    const body = Buffer.from(JSON.stringify(fx.body));
    const since = stack.anthropic.records().length;
    const res = await send(fx.url, { body, headers: clientHeaders(fx) });
    assert.equal(res.status, 200, res.text.slice(0, 500));
    const up = upstream(since);
    assert.equal(up.length, 1, 'count_tokens forwarded');
    assert.equal(up[0].path, '/v1/messages/count_tokens');
    assert.equal(up[0].query, 'beta=true');
    const want = replaceOnce(body, '"model":"d-cc"', '"model":"anthropic_cc_replay"');
    assertSameBytes(rawBody(up[0]), want, 'upstream count_tokens body');
    assertForwardedHeaders(up[0], fx);
    assert.deepEqual(JSON.parse(res.text), { input_tokens: Math.floor(want.length / 4) },
      "the upstream's own count");
  });

test('byte level: unknown fields, escapes, number spellings and key order survive', T,
  async () => {
    // A body no JSON library would re-serialise the same way: \u escapes, 1.50, 1e3, spaces.
    const body = Buffer.from('{"max_tokens": 128000 ,"x_unknown":{"b":1.50,"a":1e3},' +
      '"model":"d-cc","messages":[{"role":"user","content":[{"type":"text","text":' +
      '"caf\\u00e9 \\/ \\ud83d\\ude00","cache_control":{"type":"ephemeral","ttl":"1h"}}]}],' +
      '"stream":true, "metadata":{"user_id":"u"}}');
    const since = stack.anthropic.records().length;
    const res = await send('/v1/messages', { body, headers: { 'content-type': 'application/json',
      'x-api-key': CLIENT_KEY, 'anthropic-version': '2023-06-01' } });
    assert.equal(res.status, 200, res.text.slice(0, 500));
    const up = upstream(since);
    assert.equal(up.length, 1);
    let want = replaceOnce(body, '"model":"d-cc"', '"model":"anthropic_cc_replay"');
    want = replaceOnce(want, '"max_tokens": 128000', `"max_tokens": ${CAP}`);
    assertSameBytes(rawBody(up[0]), want, 'upstream body');
  });

test('max_tokens below the cap and a model without a cap are left alone', T, async () => {
  const body = Buffer.from('{"model":"d-cc","max_tokens":100,"messages":[{"role":"user",' +
    '"content":"hi"}]}');
  const since = stack.anthropic.records().length;
  const res = await send('/v1/messages', { body, headers: { 'content-type': 'application/json',
    'x-api-key': CLIENT_KEY, 'anthropic-version': '2023-06-01' } });
  assert.equal(res.status, 200, res.text.slice(0, 500));
  assertSameBytes(rawBody(upstream(since)[0]),
    replaceOnce(body, '"model":"d-cc"', '"model":"anthropic_cc_replay"'), 'upstream body');
  const msg = JSON.parse(res.text);
  assert.equal(msg.type, 'message', 'the non-streaming answer is the aggregated message');
  assert.deepEqual(msg.content.map((b) => b.type), ['text', 'tool_use']);
});

test('key: the client key when the entry names none; auth: bearer sends it as Bearer', T,
  async () => {
    const body = (model) => JSON.stringify({ model, max_tokens: 50,
      messages: [{ role: 'user', content: 'hi' }] });
    const hdrs = { 'content-type': 'application/json', 'x-api-key': 'client-key-1',
      'anthropic-version': '2023-06-01' };
    let since = stack.anthropic.records().length;
    let res = await send('/v1/messages', { body: body('d-text'), headers: hdrs });
    assert.equal(res.status, 200, res.text);
    let up = upstream(since);
    assert.equal(up[0].headers['x-api-key'], 'client-key-1');
    assert.equal(up[0].headers.authorization, undefined);

    since = stack.anthropic.records().length;
    res = await send('/v1/messages', { body: body('d-bearer'), headers: hdrs });
    assert.equal(res.status, 200, res.text);
    up = upstream(since);
    assert.equal(up[0].headers.authorization, 'Bearer client-key-1');
    assert.equal(up[0].headers['x-api-key'], undefined, 'only one form of the key');
    assert.equal(res.headers['request-id'], 'req_direct_text');
  });

test('the proxy log never shows a key', T, async () => {
  const logs = stack.proxy.stderrText() + stack.proxy.stdoutText();
  for (const k of [UPSTREAM_KEY, 'client-key-1', 'client-bearer-token']) {
    assert.ok(!logs.includes(k), `${k} not in the proxy log`);
  }
});

// ---- faults ---------------------------------------------------------------------------------

const simple = (model, extra = {}) => JSON.stringify({ model, max_tokens: 256,
  messages: [{ role: 'user', content: 'hi' }], ...extra });
const H = { 'content-type': 'application/json', 'x-api-key': CLIENT_KEY,
  'anthropic-version': '2023-06-01' };

function assertAnthropicError(res, status, type) {
  assert.equal(res.status, status, `status ${res.status}: ${res.text.slice(0, 500)}`);
  assert.match(res.headers['content-type'] ?? '', /application\/json/);
  let b;
  try {
    b = JSON.parse(res.text);
  } catch {
    assert.fail(`not JSON: ${res.text.slice(0, 300)}`);
  }
  assert.equal(b.type, 'error', res.text);
  assert.equal(b.error?.type, type, res.text);
  assert.ok(typeof b.error.message === 'string' && b.error.message.length > 0, 'a message');
  return b;
}

for (const stream of [false, true]) {
  test(`429 with retry-after and retry-after-ms relayed as sent (stream: ${stream})`, T,
    async () => {
      const res = await send('/v1/messages', { body: simple('d-429', { stream }), headers: H });
      const b = assertAnthropicError(res, 429, 'rate_limit_error');
      assert.equal(res.headers['retry-after'], '7');
      assert.equal(res.headers['retry-after-ms'], '7000');
      assert.equal(res.headers['request-id'], 'req_direct_429');
      assert.equal(res.headers['anthropic-ratelimit-requests-remaining'], '0');
      assert.match(b.error.message, /rate limit/);
    });

  test(`529 overloaded_error relayed (stream: ${stream})`, T, async () => {
    const res = await send('/v1/messages', { body: simple('d-529', { stream }), headers: H });
    assertAnthropicError(res, 529, 'overloaded_error');
    assert.equal(res.headers['x-should-retry'], 'true');
    assert.equal(res.headers['request-id'], 'req_direct_529');
  });
}

test('a non-Anthropic error body (HTML 503) is wrapped in Anthropic error JSON', T, async () => {
  const res = await send('/v1/messages', { body: simple('d-html'), headers: H });
  // Direct mode relays the status as sent; only the body is made Anthropic-shaped.
  assert.equal(res.status, 503, res.text);
  const b = assertAnthropicError(res, res.status,
    res.status === 529 ? 'overloaded_error' : 'api_error');
  assert.match(b.error.message, /503 Service Unavailable/, 'the upstream text is kept');
});

test('connection refused → 502 api_error (stream and not)', T, async () => {
  for (const stream of [false, true]) {
    const res = await send('/v1/messages', { body: simple('d-refused', { stream }), headers: H });
    assertAnthropicError(res, 502, 'api_error');
  }
});

test('stream cut mid-way → the bytes so far, then event: error, then close', T, async () => {
  const res = await send('/v1/messages', { body: simple('d-cut', { stream: true }), headers: H });
  assert.equal(res.status, 200);
  const events = parseSSE(res.text);
  validateStream(events, { complete: false });
  assert.deepEqual(events.map((e) => e.event), ['message_start', 'content_block_start',
    'content_block_delta', 'error'], res.text);
  assert.equal(events[2].data.delta.text, 'Partial answer');
  assert.equal(typeof events[3].data.error?.type, 'string');
  assert.ok(!res.text.includes('never sent'));
});

test('count_tokens: upstream 404 → the local estimate (200)', T, async () => {
  const since = stack.anthropic.records().length;
  const res = await send('/v1/messages/count_tokens?beta=true', { headers: H,
    body: JSON.stringify({ model: 'd-count404', system: 'You are a test.',
      messages: [{ role: 'user', content: 'Count these words, please.' }] }) });
  assert.equal(res.status, 200, res.text);
  const b = JSON.parse(res.text);
  assert.ok(Number.isInteger(b.input_tokens) && b.input_tokens > 0, res.text);
  const up = upstream(since);
  assert.equal(up.length, 1, 'the upstream was asked first');
  assert.equal(up[0].path, '/v1/messages/count_tokens');
});

test('the strict fake itself refuses a missing key, as Anthropic does', T, async () => {
  const res = await send('/v1/messages', { base: stack.anthropic.url, body: simple('anthropic_text'),
    headers: { 'content-type': 'application/json', 'anthropic-version': '2023-06-01' } });
  assertAnthropicError(res, 401, 'authentication_error');
});

// ---- retries and timeouts (own stacks: they need the proxy's retry and timeout settings) ----

test('429 with retry-after: 1 is retried by the proxy before anything reached the client',
  { timeout: 60000 }, async (t) => {
    const s = await startDualStack({
      models: [{ model_id: 'd-429', model_name: 'r429', direct: true }],
      extraScenarios: { r429: { turns: [{ status: 429, headers: { 'retry-after': '1' },
        body: { type: 'error', error: { type: 'rate_limit_error', message: 'slow down' } } }] } },
      env: { MAX_RETRIES: '1' },
    });
    t.after(() => s.stop());
    const started = performance.now();
    const res = await send('/v1/messages', { base: s.baseURL, body: simple('d-429'), headers: H });
    assertAnthropicError(res, 429, 'rate_limit_error');
    assert.equal(res.headers['retry-after'], '1');
    assert.equal(s.anthropic.records().length, 2, 'one retry (MAX_RETRIES=1)');
    assert.ok(performance.now() - started >= 900, 'waited retry-after between the attempts');
  });

test('upstream silent past read_timeout → 504 timeout_error', { timeout: 60000 }, async (t) => {
  const s = await startDualStack({
    models: [{ model_id: 'd-slow', model_name: 'slow_headers', direct: true }],
    extraScenarios: { slow_headers: { turns: [{ delay_ms: 5000,
      message: { content: [{ type: 'text', text: 'too late' }] } }] } },
    settings: { read_timeout: '1s' },
    env: { MAX_RETRIES: '0' },
  });
  t.after(() => s.stop());
  const res = await send('/v1/messages', { base: s.baseURL, body: simple('d-slow'), headers: H });
  assertAnthropicError(res, 504, 'timeout_error');
});

// ---- the real Claude Code CLI ---------------------------------------------------------------

test('Claude Code 2.1.331 writes out.txt through the proxy in direct mode', { timeout: 180000 },
  async (t) => {
    claudeBin(); // fails clearly when setup.sh has not been run
    const cwd = fs.realpathSync(tempDir('cwd'));
    const s = await startDualStack({ cwd,
      models: [{ model_id: 'cc-direct', model_name: 'anthropic_cc_write', direct: true }] });
    t.after(() => s.stop());

    const r = await runClaude({ baseURL: s.baseURL, model: 'cc-direct', prompt: 'create out.txt',
      cwd });
    const ctx = () => `exit ${r.code} ${r.signal ?? ''}${r.timedOut ? ' (timed out)' : ''}\n` +
      `--- claude stdout ---\n${r.stdout.slice(-4000)}\n--- claude stderr ---\n` +
      `${r.stderr.slice(-4000)}\n--- proxy stderr ---\n${s.proxy.stderrText().slice(-6000)}\n` +
      `--- fake records ---\n${JSON.stringify(s.anthropic.records().map((x) => ({ path: x.path,
        model: x.body?.model })))}`;

    assert.equal(r.code, 0, ctx());
    assert.ok(r.result, `a JSON result line\n${ctx()}`);
    assert.equal(r.result.is_error, false, ctx());
    assert.equal(r.result.result, 'Done: wrote the file.', ctx());
    const file = path.join(cwd, 'out.txt');
    assert.ok(fs.existsSync(file), `out.txt created\n${ctx()}`);
    assert.equal(fs.readFileSync(file, 'utf8'), 'hello from the fake\n');

    const up = s.anthropic.records().filter((x) => x.path === '/v1/messages' &&
      x.body?.model === 'anthropic_cc_write');
    assert.ok(up.length >= 2, `two upstream turns\n${ctx()}`);
    assert.ok(up.every((x) => x.headers['anthropic-version'] && x.headers['x-api-key'] === 'test'));
    assert.equal(s.openai.records().length, 0, 'nothing went to the OpenAI fake');
    const last = up.at(-1).body.messages;
    const asst = last.find((m) => m.role === 'assistant');
    const use = asst.content.find((b) => b.type === 'tool_use');
    assert.equal(use?.id, 'toolu_cc_write_1', 'the tool id comes back unchanged');
    const thinking = asst.content.find((b) => b.type === 'thinking');
    if (thinking) assert.match(thinking.signature, /^fakesig1\./, 'the real signature kept');
  });
