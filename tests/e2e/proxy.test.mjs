// The proxy as a process: development-mode logging and config reload, graceful shutdown,
// /v1/stats, can_stream: false, keys, unreachable and silent upstreams, routing without a
// default, and the command line itself.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';

import {
  modelsYaml, parseSSE, requireBin, run, startProxy, startStack, tempDir, validateStream,
} from './lib/harness.mjs';

const T = { timeout: 60000 };
const chunk = (delta, extra = {}) => ({ id: 'c1', object: 'chat.completion.chunk', created: 1,
  model: 'f', choices: [{ index: 0, delta, finish_reason: null }], ...extra });

let stack;

before(async () => {
  stack = await startStack({
    models: [
      { model_id: 'm-text', model_name: 'text' },
      { model_id: 'm-nostream', model_name: 'text', can_stream: false },
      { model_id: 'm-nokey', model_name: 'text', api_key_name: 'CP_E2E_UNSET_KEY' },
      { model_id: 'm-slow', model_name: 'slow' },
      { model_id: 'm-refused', api_base: 'http://127.0.0.1:1/v1' },
    ],
    extraScenarios: {
      stall: { turns: [{ delay_ms: 3000, body: { id: 'x', object: 'chat.completion', created: 1,
        model: 'f', choices: [{ index: 0, message: { role: 'assistant', content: 'late' },
          finish_reason: 'stop' }] } }] },
      slow: { turns: [{ stream: [
        { data: chunk({ role: 'assistant', content: '' }) },
        ...Array.from({ length: 10 }, (_, i) => ({ delay_ms: 200,
          data: chunk({ content: `part ${i} ` }) })),
        { data: { ...chunk({}), choices: [{ index: 0, delta: {}, finish_reason: 'stop' }],
          usage: { prompt_tokens: 7, completion_tokens: 10, total_tokens: 17 } } },
        { data: '[DONE]' },
      ] }] },
    },
  });
});

after(async () => {
  await stack?.stop();
});

function body(model, extra = {}) {
  return JSON.stringify({ model, max_tokens: 100, messages: [{ role: 'user', content: 'hi' }],
    ...extra });
}

async function post(base, model, { stream = false, headers = {}, extra = {} } = {}) {
  const res = await fetch(`${base}/v1/messages`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-api-key': 'client-key-123456789', ...headers },
    body: body(model, { stream, ...extra }),
  });
  return { status: res.status, headers: res.headers, text: await res.text() };
}

function errorOf(r, status, type) {
  assert.equal(r.status, status, r.text);
  const b = JSON.parse(r.text);
  assert.equal(b.type, 'error');
  assert.equal(b.error.type, type, r.text);
  assert.match(b.request_id, /^req_/);
  return b.error.message;
}

async function waitFor(pred, what, ms = 5000) {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await pred()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  assert.fail(`timed out waiting for ${what}`);
}

test('-d logs one line per request: route, status, tokens, ttft, duration', T, async () => {
  const r = await post(stack.baseURL, 'm-text', { stream: true });
  assert.equal(r.status, 200);
  const id = r.headers.get('request-id');
  assert.match(id, /^req_/);
  await waitFor(() => stack.proxy.stderrText().includes(id), 'the log line');
  const line = stack.proxy.stderrText().split('\n').find((l) => l.includes(id));
  assert.match(line, /m-text -> m-text\/text \(translate, stream\) 200 in=\d+ out=\d+ cache_read=0 cache_write=0 stop=end_turn ttft=\d+ms total=\d+ms/);
});

test('-dd also logs the request and response bodies, both sides, and no key', T, async () => {
  const proxy = await startProxy({ models: [{ model_id: 'm-text', model_name: 'text' }],
    fakeUrl: stack.fake.url, debug: 2 });
  try {
    const r = await post(proxy.url, 'm-text', { stream: true });
    const id = r.headers.get('request-id');
    await waitFor(() => proxy.stderrText().includes(`${id} client response`), 'the body lines');
    const log = proxy.stderrText();
    assert.match(log, new RegExp(`${id} client request: \\{.*"model":"m-text"`));
    assert.match(log, new RegExp(`${id} upstream request: \\{.*"model":"text"`));
    assert.match(log, new RegExp(`${id} upstream response \\(200\\): .*chat\\.completion\\.chunk`));
    assert.match(log, new RegExp(`${id} client response: .*event: message_start`));
    assert.ok(!log.includes('client-key-123456789'), 'the key never appears');
  } finally {
    await proxy.stop();
  }
});

test('GET /v1/stats counts requests and tokens per model', T, async () => {
  await post(stack.baseURL, 'm-text');
  const s = await (await fetch(`${stack.baseURL}/v1/stats`)).json();
  const m = s.usage.models['m-text'];
  assert.ok(m.requests >= 1, JSON.stringify(s));
  assert.ok(m.input_tokens > 0 && m.output_tokens > 0, JSON.stringify(s));
  assert.equal(typeof s.live_requests, 'number');
  assert.ok(s.usage.total.requests >= m.requests);
});

test('can_stream: false calls upstream without streaming and still answers valid SSE', T,
  async () => {
    const since = stack.records().length;
    const r = await post(stack.baseURL, 'm-nostream', { stream: true });
    assert.equal(r.status, 200, r.text);
    assert.match(r.headers.get('content-type'), /text\/event-stream/);
    const events = parseSSE(r.text);
    validateStream(events);
    const text = events.filter((e) => e.data?.delta?.type === 'text_delta')
      .map((e) => e.data.delta.text).join('');
    assert.ok(text.length > 0);
    const up = stack.records().slice(since);
    assert.equal(up.length, 1);
    assert.notEqual(up[0].body.stream, true);
  });

test('no key anywhere → 401 authentication_error naming the variable, nothing sent upstream',
  T, async () => {
    const since = stack.records().length;
    const res = await fetch(`${stack.baseURL}/v1/messages`, {
      method: 'POST', headers: { 'content-type': 'application/json' }, body: body('m-nokey'),
    });
    const msg = errorOf({ status: res.status, text: await res.text() }, 401,
      'authentication_error');
    assert.match(msg, /CP_E2E_UNSET_KEY/);
    assert.equal(stack.records().length, since);
  });

test('unreachable upstream → 502 api_error after the retries, and the proxy keeps serving', T,
  async () => {
    const t0 = Date.now();
    const msg = errorOf(await post(stack.baseURL, 'm-refused'), 502, 'api_error');
    assert.match(msg, /unreachable/);
    assert.ok(Date.now() - t0 >= 1400, 'two retries with 0.5 s and 1 s backoff');
    assert.equal((await post(stack.baseURL, 'm-text')).status, 200);
  });

test('SIGTERM lets an in-flight stream finish, refuses new connections, exits 0', T, async () => {
  // A proxy of its own, on the main stack's fake (which has the slow scenario).
  const proxy = await startProxy({ models: [{ model_id: 'm-slow', model_name: 'slow' }],
    fakeUrl: stack.fake.url });
  const pending = post(proxy.url, 'm-slow', { stream: true });
  await new Promise((r) => setTimeout(r, 400));
  proxy.child.kill('SIGTERM');
  await new Promise((r) => setTimeout(r, 200));
  await assert.rejects(fetch(`${proxy.url}/health`), 'no new connections while draining');
  const r = await pending;
  assert.equal(r.status, 200);
  const events = parseSSE(r.text);
  validateStream(events);
  assert.equal(events.at(-1).event, 'message_stop');
  const { code } = await proxy.exited;
  assert.equal(code, 0);
  assert.match(proxy.stderrText(), /SIGTERM: finishing 1 request\(s\) in flight/);
});

test('idle-read timeout and routing without a default (mapping form)', T, async () => {
  const proxy = await startProxy({
    models: [{ model_id: 'm-slow', model_name: 'slow' },
      { model_id: 'm-stall', model_name: 'stall' }],
    fakeUrl: stack.fake.url,
    settings: { read_timeout: '100ms', max_retries: 0 },
  });
  try {
    // Non-streaming: nothing reached the client, so a plain 504.
    errorOf(await post(proxy.url, 'm-stall'), 504, 'timeout_error');
    // Streaming: the 200 is out, so the timeout becomes an error event.
    const r = await post(proxy.url, 'm-slow', { stream: true });
    assert.equal(r.status, 200);
    const events = parseSSE(r.text);
    assert.equal(events.at(-1).event, 'error');
    assert.ok(!events.some((e) => e.event === 'message_stop'));
    // No `default:` in the mapping form: unknown models are refused with the list.
    const msg = errorOf(await post(proxy.url, 'claude-opus-5-5'), 404, 'not_found_error');
    assert.match(msg, /claude-opus-5-5.*m-slow/);
  } finally {
    await proxy.stop();
  }
});

test('-d reloads models.yaml on change; a bad edit keeps the running config', T, async () => {
  const proxy = await startProxy({ models: [{ model_id: 'm-a', model_name: 'text' }],
    fakeUrl: stack.fake.url, settings: { max_retries: 0 } });
  try {
    errorOf(await post(proxy.url, 'm-b'), 404, 'not_found_error');
    fs.writeFileSync(proxy.config, `max_retries: 0\nmodels:\n` +
      `  - {model_id: m-a, model_name: text, api_base: "${stack.fake.url}/v1"}\n` +
      `  - {model_id: m-b, model_name: text, api_base: "${stack.fake.url}/v1"}\n`);
    await waitFor(async () => (await post(proxy.url, 'm-b')).status === 200, 'the reload');
    assert.match(proxy.stderrText(), /reloaded .*models\.yaml/);
    fs.writeFileSync(proxy.config, 'models:\n  - model_id: [broken\n');
    await waitFor(() => /does not load; keeping the running configuration: .*models\.yaml:\d+:\d+/
      .test(proxy.stderrText()), 'the reload error');
    assert.equal((await post(proxy.url, 'm-b')).status, 200);
  } finally {
    await proxy.stop();
  }
});

test('command line: --version, --help, config errors with line:col, no config found', T,
  async () => {
    const bin = requireBin('CP_BIN', 'claude-proxy');
    const dir = tempDir('cli');
    const env = { PATH: process.env.PATH, HOME: dir };
    let r = await run(bin, ['--version'], { env, cwd: dir });
    assert.equal(r.code, 0);
    assert.match(r.stdout, /^claude-proxy \d+\.\d+\.\d+/);
    r = await run(bin, ['--help'], { env, cwd: dir });
    assert.equal(r.code, 0);
    assert.match(r.stdout, /--config FILE/);
    r = await run(bin, ['--port', 'x'], { env, cwd: dir });
    assert.equal(r.code, 2);
    assert.match(r.stderr, /--port: expected 0-65535/);
    r = await run(bin, [], { env, cwd: dir });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /no models\.yaml found.*models\.yaml\.example/);
    const bad = path.join(dir, 'bad.yaml');
    fs.writeFileSync(bad, modelsYaml([{ model_id: 'x', api_base: 'http://h', max_tokens: 'lots' }]));
    r = await run(bin, ['--config', bad], { env, cwd: dir });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /bad\.yaml:3:\d+: max_tokens: expected a token count/);
  });
