// curl against the real claude-proxy: the HTTP surface (paths, bad input, limits) and the raw
// SSE bytes, checked frame by frame with the §C.3 validator. Also replays the request bodies
// Claude Code 2.1.331 really sends (fixtures/claude-code-2.1.331) and checks what reached the
// upstream.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';

import { parseSSE, run, startStack, tempDir, validateStream } from './lib/harness.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const CC = path.join(HERE, 'fixtures', 'claude-code-2.1.331');
const T = { timeout: 60000 };
const SILENCE_MS = 11500;

let stack;

before(async () => {
  stack = await startStack({
    cwd: '/tmp/cp-e2e-curl-cwd',
    models: [
      { model_id: 'm-text', model_name: 'text' },
      { model_id: 'm-tool', model_name: 'tool_fragmented' },
      { model_id: 'm-reasoning', model_name: 'reasoning' },
      { model_id: 'm-mid', model_name: 'midstream_error' },
      { model_id: 'm-disc', model_name: 'disconnect' },
      { model_id: 'm-silent', model_name: 'silent' },
      { model_id: 'm-slow', model_name: 'slow' },
      { model_id: 'm-500', model_name: 'error_500' },
      { model_id: 'm-capped', model_name: 'text', max_tokens: 8192 },
    ],
    extraScenarios: {
      slow: { turns: [{ stream: Array.from({ length: 20 }, (_, i) => ({ delay_ms: 250,
        data: { id: 'c2', object: 'chat.completion.chunk', created: 1, model: 'f',
          choices: [{ index: 0, delta: { content: `part ${i} ` } }] } })) }] },
      silent: { turns: [{ stream: [
        { data: { id: 'c1', object: 'chat.completion.chunk', created: 1, model: 'f',
          choices: [{ index: 0, delta: { role: 'assistant', content: '' } }] } },
        { delay_ms: SILENCE_MS, data: { id: 'c1', object: 'chat.completion.chunk', created: 1,
          model: 'f', choices: [{ index: 0, delta: { content: 'after the silence' } }] } },
        { data: { id: 'c1', object: 'chat.completion.chunk', created: 1, model: 'f',
          choices: [{ index: 0, delta: {}, finish_reason: 'stop' }],
          usage: { prompt_tokens: 5, completion_tokens: 3, total_tokens: 8 } } },
        { data: '[DONE]' },
      ] }] },
    },
  });
});

after(async () => {
  await stack?.stop();
});

/**
 * Runs curl -i and splits the answer. `body` goes on stdin (a string or Buffer); headers is a
 * list of "Name: value". Resolves {status, headers (lower-case names), body, raw}.
 */
async function curl(method, urlPath, { body, headers = [], stream = false, timeoutSec = 30,
  extra = [] } = {}) {
  const args = ['-sS', '-i', '--max-time', String(timeoutSec), '-X', method];
  if (stream) args.push('-N');
  for (const h of headers) args.push('-H', h);
  if (body !== undefined) args.push('--data-binary', '@-');
  args.push(...extra, `${stack.baseURL}${urlPath}`);
  const r = await run('curl', args, { input: body, timeoutMs: (timeoutSec + 10) * 1000 });
  let raw = r.stdout;
  // skip interim answers (100 Continue)
  while (/^HTTP\/[\d.]+ 1\d\d/.test(raw)) raw = raw.slice(raw.indexOf('\r\n\r\n') + 4);
  const split = raw.indexOf('\r\n\r\n');
  const head = split >= 0 ? raw.slice(0, split) : raw;
  const m = head.match(/^HTTP\/[\d.]+ (\d{3})/);
  const hdrs = {};
  for (const line of head.split('\r\n').slice(1)) {
    const i = line.indexOf(':');
    if (i > 0) hdrs[line.slice(0, i).trim().toLowerCase()] = line.slice(i + 1).trim();
  }
  return { status: m ? Number(m[1]) : 0, headers: hdrs, head,
    body: split >= 0 ? raw.slice(split + 4) : '', code: r.code, stderr: r.stderr };
}

function json(res) {
  try {
    return JSON.parse(res.body);
  } catch {
    throw new Error(`not JSON (status ${res.status}): ${res.body.slice(0, 500)}`);
  }
}

function assertAnthropicError(res, status, type) {
  assert.equal(res.status, status, `status ${res.status}: ${res.body.slice(0, 500)}`);
  assert.match(res.headers['content-type'] ?? '', /application\/json/);
  const b = json(res);
  assert.equal(b.type, 'error');
  assert.equal(b.error?.type, type, JSON.stringify(b));
  assert.ok(typeof b.error.message === 'string' && b.error.message.length > 0, 'a message');
  assert.match(b.request_id ?? '', /./, 'request_id present');
  return b;
}

const JSON_H = 'content-type: application/json';
const simple = (model, extra = {}) => JSON.stringify({ model, max_tokens: 256,
  messages: [{ role: 'user', content: 'hi' }], ...extra });

function upstreamSince(since) {
  return stack.records().slice(since);
}

test('every answer has one Date header, an HTTP-date of now in English', T, async () => {
  const answers = [
    await curl('POST', '/v1/messages', { headers: [JSON_H, 'x-api-key: k'], body: simple('m-text') }),
    await curl('POST', '/v1/messages', { stream: true, headers: [JSON_H, 'x-api-key: k'],
      body: simple('m-text', { stream: true }) }),
    await curl('GET', '/nowhere'),
    await curl('GET', '/health'),
  ];
  for (const res of answers) {
    const dates = res.head.split('\r\n').filter((l) => /^date:/i.test(l));
    assert.equal(dates.length, 1, res.head);
    const value = dates[0].slice(5).trim();
    assert.match(value,
      /^(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d\d (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{4} \d\d:\d\d:\d\d GMT$/);
    assert.ok(Math.abs(Date.parse(value) - Date.now()) < 5000, value);
  }
});

test('POST /v1/messages?beta=true stream: exact G.1 events, valid SSE, no [DONE]', T, async () => {
  const res = await curl('POST', '/v1/messages?beta=true', { stream: true,
    headers: [JSON_H, 'x-api-key: curl-key', 'anthropic-version: 2023-06-01'],
    body: simple('m-text', { stream: true }) });
  assert.equal(res.status, 200, res.body);
  assert.match(res.headers['content-type'] ?? '', /^text\/event-stream/);
  assert.ok(!res.body.includes('[DONE]'), 'no [DONE] leaks through');
  const events = parseSSE(res.body);
  const blocks = validateStream(events);
  assert.deepEqual(events.filter((e) => e.event !== 'ping').map((e) => e.event),
    ['message_start', 'content_block_start', 'content_block_delta', 'content_block_delta',
      'content_block_stop', 'message_delta', 'message_stop']);
  assert.deepEqual(blocks, [{ type: 'text', text: 'Hello from the fake.' }]);
  const delta = events.find((e) => e.event === 'message_delta').data;
  assert.equal(delta.delta.stop_reason, 'end_turn');
  assert.equal(delta.usage.output_tokens, 3);
  const start = events[0].data.message;
  assert.equal(start.model, 'm-text');
  assert.match(start.id, /^msg_/);
});

test('POST /v1/v1/messages (doubled /v1) non-streaming with Authorization: Bearer', T, async () => {
  const since = stack.records().length;
  const res = await curl('POST', '/v1/v1/messages', {
    headers: [JSON_H, 'authorization: Bearer curl-bearer'], body: simple('m-text') });
  assert.equal(res.status, 200, res.body);
  const msg = json(res);
  assert.equal(msg.type, 'message');
  assert.deepEqual(msg.content, [{ type: 'text', text: 'Hello from the fake.' }]);
  assert.ok(msg.usage.input_tokens > 0);
  const up = upstreamSince(since);
  assert.equal(up.length, 1);
  assert.equal(up[0].headers.authorization, 'Bearer curl-bearer');
});

test('x-api-key goes upstream as Authorization: Bearer', T, async () => {
  const since = stack.records().length;
  const res = await curl('POST', '/v1/messages', { headers: [JSON_H, 'x-api-key: curl-xkey'],
    body: simple('m-text') });
  assert.equal(res.status, 200, res.body);
  const up = upstreamSince(since);
  assert.equal(up[0].headers.authorization, 'Bearer curl-xkey');
  assert.equal(up[0].headers['x-api-key'], undefined, 'no x-api-key to an OpenAI upstream');
});

test('stream: reasoning → thinking block with signature, then text', T, async () => {
  const res = await curl('POST', '/v1/messages', { stream: true,
    headers: [JSON_H, 'x-api-key: k'], body: simple('m-reasoning', { stream: true }) });
  assert.equal(res.status, 200, res.body);
  const blocks = validateStream(parseSSE(res.body));
  assert.equal(blocks.length, 2);
  assert.equal(blocks[0].type, 'thinking');
  assert.equal(blocks[0].thinking, 'Let me think about it.');
  assert.equal(typeof blocks[0].signature, 'string');
  assert.deepEqual(blocks[1], { type: 'text', text: 'The answer is 42.' });
});

test('stream: mid-stream upstream error → event: error, no message_stop', T, async () => {
  const res = await curl('POST', '/v1/messages', { stream: true,
    headers: [JSON_H, 'x-api-key: k'], body: simple('m-mid', { stream: true }) });
  assert.equal(res.status, 200, res.body);
  const events = parseSSE(res.body);
  validateStream(events, { complete: false });
  const err = events.find((e) => e.event === 'error');
  assert.ok(err, `an error event in ${res.body}`);
  assert.equal(err.data.error?.type, 'api_error');
  assert.ok(!events.some((e) => e.event === 'message_stop'), 'no message_stop after an error');
});

test('stream: upstream disconnect → event: error api_error', T, async () => {
  const res = await curl('POST', '/v1/messages', { stream: true,
    headers: [JSON_H, 'x-api-key: k'], body: simple('m-disc', { stream: true }) });
  assert.equal(res.status, 200, res.body);
  const events = parseSSE(res.body);
  validateStream(events, { complete: false });
  const err = events.find((e) => e.event === 'error');
  assert.ok(err, `an error event in ${res.body}`);
  assert.equal(err.data.error?.type, 'api_error');
});

test(`stream: ${SILENCE_MS} ms of upstream silence is filled with ping events`, T, async () => {
  const t0 = Date.now();
  const res = await curl('POST', '/v1/messages', { stream: true,
    headers: [JSON_H, 'x-api-key: k'], body: simple('m-silent', { stream: true }) });
  assert.ok(Date.now() - t0 >= SILENCE_MS - 100);
  assert.equal(res.status, 200, res.body);
  const events = parseSSE(res.body);
  const blocks = validateStream(events);
  assert.deepEqual(blocks.filter((b) => b.type === 'text').map((b) => b.text).join(''),
    'after the silence');
  assert.ok(events.some((e) => e.event === 'ping'), 'at least one ping during the silence');
});

test('a client that disconnects mid-stream aborts the upstream transfer at once', T, async () => {
  const res = await curl('POST', '/v1/messages', { stream: true, timeoutSec: 1,
    headers: [JSON_H, 'x-api-key: k'], body: simple('m-slow', { stream: true }) });
  assert.equal(res.status, 200, 'the stream had started');
  const t0 = Date.now();
  let closed;
  while (!(closed = stack.fake.events().find((e) => e.model === 'slow')) &&
    Date.now() - t0 < 3000) {
    await new Promise((r) => setTimeout(r, 50));
  }
  assert.ok(closed, 'the fake saw the proxy close the upstream request within 3 s ' +
    '(the 20-chunk answer would have taken 5 s)');
  assert.ok(closed.steps_sent < 15, `aborted early (after ${closed.steps_sent} chunks)`);
  const ok = await curl('GET', '/health');
  assert.equal(ok.status, 200, 'still serving');
});

test('upstream 500 is retried (MAX_RETRIES default 2), then 500 api_error', T, async () => {
  const since = stack.records().length;
  const res = await curl('POST', '/v1/messages', { headers: [JSON_H, 'x-api-key: k'],
    body: simple('m-500') });
  assertAnthropicError(res, 500, 'api_error');
  const tries = upstreamSince(since).filter((r) => r.body?.model === 'error_500').length;
  assert.equal(tries, 3, 'one request and two retries');
});

test('GET /health → 200', T, async () => {
  const res = await curl('GET', '/health');
  assert.equal(res.status, 200, res.body);
});

test('GET /v1/models → the configured model ids, Anthropic list format', T, async () => {
  const res = await curl('GET', '/v1/models', { headers: ['x-api-key: k'] });
  assert.equal(res.status, 200, res.body);
  const b = json(res);
  assert.ok(Array.isArray(b.data), JSON.stringify(b));
  const ids = b.data.map((m) => m.id);
  for (const id of ['m-text', 'm-tool', 'm-capped']) assert.ok(ids.includes(id), `${id} in ${ids}`);
  assert.ok(b.data.every((m) => m.type === 'model'), 'every entry has type: model');
  assert.equal(typeof b.has_more, 'boolean');
});

test('bad JSON body → 400 invalid_request_error', T, async () => {
  const res = await curl('POST', '/v1/messages', { headers: [JSON_H, 'x-api-key: k'],
    body: '{"model": "m-text", "messages": [' });
  assertAnthropicError(res, 400, 'invalid_request_error');
});

test('mistyped fields → 400 invalid_request_error', T, async () => {
  for (const body of ['[]', '{"model":"m-text","max_tokens":10,"messages":"hi"}',
    '{"model":42,"max_tokens":10,"messages":[]}']) {
    const res = await curl('POST', '/v1/messages', { headers: [JSON_H, 'x-api-key: k'], body });
    assertAnthropicError(res, 400, 'invalid_request_error');
  }
});

test('33 MB body → 413 request_too_large, and the proxy keeps serving', T, async () => {
  const pad = 'x'.repeat(33 * 1024 * 1024);
  const big = Buffer.from(JSON.stringify({ model: 'm-text', max_tokens: 10,
    messages: [{ role: 'user', content: pad }] }));
  const file = path.join(tempDir('big'), 'big.json');
  fs.writeFileSync(file, big);
  // curl sends "Expect: 100-continue" for a body this size; node clients do not: try both.
  for (const expect of [[], ['Expect:']]) {
    const res = await curl('POST', '/v1/messages', { headers: [JSON_H, 'x-api-key: k', ...expect],
      extra: ['--data-binary', `@${file}`] });
    assertAnthropicError(res, 413, 'request_too_large');
  }
  const ok = await curl('GET', '/health');
  assert.equal(ok.status, 200);
});

test('HEAD /api/hello and unknown paths → 404 not_found_error', T, async () => {
  const head = await curl('HEAD', '/api/hello', { extra: ['-I'] });
  assert.equal(head.status, 404);
  const res = await curl('GET', '/v1/does-not-exist', { headers: ['x-api-key: k'] });
  assertAnthropicError(res, 404, 'not_found_error');
});

/** A recorded Claude Code request, its model replaced. */
function recorded(name, model) {
  const rec = JSON.parse(fs.readFileSync(path.join(CC, name), 'utf8'));
  const headers = Object.entries(rec.headers)
    .filter(([k]) => !['content-length', 'connection', 'accept-encoding', 'host'].includes(k))
    .map(([k, v]) => `${k}: ${v}`);
  return { url: rec.url, headers, body: JSON.stringify({ ...rec.body, model }) };
}

test('Claude Code turn 1 request (50 KB, role:system message) → valid tool_use stream', T,
  async () => {
    const since = stack.records().length;
    const r = recorded('01_main_turn1_request.json', 'm-tool');
    const res = await curl('POST', r.url, { stream: true, headers: r.headers, body: r.body });
    assert.equal(res.status, 200, res.body.slice(0, 2000));
    const events = parseSSE(res.body);
    const blocks = validateStream(events);
    const tool = blocks.find((b) => b.type === 'tool_use');
    assert.ok(tool, JSON.stringify(blocks));
    assert.equal(tool.name, 'Write');
    assert.deepEqual(tool.input, { file_path: '/tmp/cp-e2e-curl-cwd/out.txt',
      content: 'hello from the fake\n' });
    assert.equal(events.find((e) => e.event === 'message_delta').data.delta.stop_reason,
      'tool_use');

    const up = upstreamSince(since);
    assert.equal(up.length, 1);
    const body = up[0].body;
    assert.equal(body.model, 'tool_fragmented');
    assert.equal(body.stream, true);
    assert.equal(body.messages[0].role, 'system');
    assert.equal(typeof body.messages[0].content, 'string');
    assert.ok(!JSON.stringify(body).includes('x-anthropic-billing-header'),
      'billing header block dropped');
    assert.ok(!JSON.stringify(body).includes('cache_control'), 'cache_control dropped');
    assert.ok(body.messages.some((m) => m.role === 'user'));
    assert.ok(Array.isArray(body.tools) && body.tools.length >= 10, 'tools translated');
    assert.ok(body.tools.every((t) => t.type === 'function' && /^[a-zA-Z0-9_-]{1,64}$/
      .test(t.function.name)), 'OpenAI tool names');
    assert.ok(body.tools.some((t) => t.function.name === 'Write'));
    assert.equal(up[0].headers.authorization, 'Bearer test');
  });

test('Claude Code turn 2 request (tool_result) → translated pairing and final text', T,
  async () => {
    const since = stack.records().length;
    const r = recorded('02_main_turn2_tool_result_request.json', 'm-tool');
    const res = await curl('POST', r.url, { stream: true, headers: r.headers, body: r.body });
    assert.equal(res.status, 200, res.body.slice(0, 2000));
    const blocks = validateStream(parseSSE(res.body));
    assert.deepEqual(blocks, [{ type: 'text', text: 'Done: wrote the file.' }]);

    const msgs = upstreamSince(since)[0].body.messages;
    const ai = msgs.findIndex((m) => m.role === 'assistant');
    assert.ok(ai > 0, JSON.stringify(msgs).slice(0, 2000));
    const asst = msgs[ai];
    assert.equal(asst.tool_calls?.length, 1);
    assert.equal(asst.tool_calls[0].function.name, 'Write');
    assert.deepEqual(JSON.parse(asst.tool_calls[0].function.arguments),
      { file_path: '/home/dev/project/out.txt', content: 'hi\n' });
    assert.match(asst.tool_calls[0].id, /^[A-Za-z0-9_-]{1,40}$/);
    assert.equal(msgs[ai + 1].role, 'tool');
    assert.equal(msgs[ai + 1].tool_call_id, asst.tool_calls[0].id);
    assert.match(JSON.stringify(msgs[ai + 1].content), /File created successfully/);
  });

test('max_tokens 128000 from Claude Code is clamped to the entry max_tokens (8192)', T,
  async () => {
    const since = stack.records().length;
    const r = recorded('01_main_turn1_request.json', 'm-capped');
    const res = await curl('POST', r.url, { stream: true, headers: r.headers, body: r.body });
    assert.equal(res.status, 200, res.body.slice(0, 2000));
    validateStream(parseSSE(res.body));
    const body = upstreamSince(since)[0].body;
    const mt = body.max_tokens ?? body.max_completion_tokens;
    assert.equal(mt, 8192, `upstream max tokens ${mt}`);
  });

test('Claude Code count_tokens request → 200 {input_tokens: N}', T, async () => {
  const since = stack.records().length;
  const r = recorded('04_count_tokens_request.json', 'm-text');
  const res = await curl('POST', r.url, { headers: r.headers, body: r.body });
  assert.equal(res.status, 200, res.body.slice(0, 2000));
  const b = json(res);
  assert.ok(Number.isInteger(b.input_tokens) && b.input_tokens > 1000,
    `a plausible estimate for a 34 KB request: ${b.input_tokens}`);
  assert.equal(upstreamSince(since).length, 0, 'no upstream call');
});
