// The official @anthropic-ai/sdk against the real claude-proxy, which translates to the fake
// OpenAI-compatible upstream. Each test names a scenario from tests/fixtures/scenarios through
// the model entry "m-<scenario>", then checks what the SDK saw and what the upstream received.

import Anthropic from '@anthropic-ai/sdk';
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

import { startStack } from './lib/harness.mjs';

const CWD = '/tmp/cp-e2e-sdk-cwd'; // only substituted into the tool scenarios' file_path
const WRITE_INPUT = { file_path: `${CWD}/out.txt`, content: 'hello from the fake\n' };
const WRITE_TOOL = {
  name: 'Write',
  description: 'Writes a file to the local filesystem.',
  input_schema: {
    type: 'object',
    properties: { file_path: { type: 'string' }, content: { type: 'string' } },
    required: ['file_path', 'content'],
  },
};
const USER = [{ role: 'user', content: 'Say hello.' }];
const T = { timeout: 60000 };

let stack;
let client;

before(async () => {
  const scenarios = ['text', 'tool_fragmented', 'tool_oneshot', 'reasoning', 'error_429',
    'error_500', 'midstream_error', 'disconnect', 'no_usage', 'odd_framing'];
  stack = await startStack({
    cwd: CWD,
    models: [
      ...scenarios.map((s) => ({ model_id: `m-${s}`, model_name: s })),
      { model_id: 'm-keyed', model_name: 'text', api_key_name: 'CP_E2E_UPSTREAM_KEY' },
    ],
    // No proxy-side retries: a 429 with retry-after: 7 would otherwise take 14 s per request
    // (curl.test.mjs checks the retries themselves).
    env: { CP_E2E_UPSTREAM_KEY: 'upstream-secret', MAX_RETRIES: '0' },
  });
  client = new Anthropic({ baseURL: stack.baseURL, apiKey: 'test-key', maxRetries: 0,
    timeout: 30000 });
});

after(async () => {
  await stack?.stop();
});

/** The upstream requests made for one scenario since `since` (a record count). */
function upstreamFor(scenario, since = 0) {
  return stack.records().slice(since).filter((r) => r.body?.model === scenario);
}

function assertUsage(msg) {
  assert.equal(typeof msg.usage?.input_tokens, 'number', 'usage.input_tokens is a number');
  assert.ok(msg.usage.input_tokens > 0, `usage.input_tokens > 0 (got ${msg.usage.input_tokens})`);
  assert.equal(typeof msg.usage.output_tokens, 'number', 'usage.output_tokens is a number');
}

function assertMessageShape(msg, model) {
  assert.equal(msg.type, 'message');
  assert.equal(msg.role, 'assistant');
  assert.equal(msg.model, model, 'the model the client asked for');
  assert.match(msg.id, /^msg_/);
  assertUsage(msg);
}

/** Streams a request, returning the final message and the event types in order (no pings). */
async function streamed(params) {
  const stream = client.messages.stream(params);
  const events = [];
  stream.on('streamEvent', (ev) => {
    if (ev.type !== 'ping') events.push(ev.type);
  });
  const msg = await stream.finalMessage();
  return { msg, events };
}

test('create: non-streaming text', T, async () => {
  const since = stack.records().length;
  const msg = await client.messages.create({ model: 'm-text', max_tokens: 256, messages: USER });
  assertMessageShape(msg, 'm-text');
  assert.deepEqual(msg.content, [{ type: 'text', text: 'Hello from the fake.' }]);
  assert.equal(msg.stop_reason, 'end_turn');
  assert.equal(msg.usage.input_tokens, 12);
  assert.equal(msg.usage.output_tokens, 3);

  const up = upstreamFor('text', since);
  assert.equal(up.length, 1, 'one upstream request');
  assert.equal(up[0].method, 'POST');
  assert.equal(up[0].path, '/v1/chat/completions');
  assert.equal(up[0].headers.authorization, 'Bearer test-key');
  assert.notEqual(up[0].body.stream, true);
  assert.deepEqual(up[0].body.messages.at(-1), { role: 'user', content: 'Say hello.' });
});

test('stream: finalMessage text and the event order of PROTOCOL.md G.1', T, async () => {
  const since = stack.records().length;
  const { msg, events } = await streamed({ model: 'm-text', max_tokens: 256, messages: USER });
  assertMessageShape(msg, 'm-text');
  assert.deepEqual(msg.content, [{ type: 'text', text: 'Hello from the fake.' }]);
  assert.equal(msg.stop_reason, 'end_turn');
  assert.equal(msg.usage.input_tokens, 12);
  assert.equal(msg.usage.output_tokens, 3);
  assert.deepEqual(events, ['message_start', 'content_block_start', 'content_block_delta',
    'content_block_delta', 'content_block_stop', 'message_delta', 'message_stop']);

  const up = upstreamFor('text', since);
  assert.equal(up.length, 1);
  assert.equal(up[0].body.stream, true);
  assert.equal(up[0].body.stream_options?.include_usage, true);
});

for (const [scenario, label] of [['tool_fragmented', 'arguments in 5 fragments'],
  ['tool_oneshot', 'whole arguments in one chunk, finish_reason stop']]) {
  test(`stream: tool call, ${label}`, T, async () => {
    const { msg } = await streamed({ model: `m-${scenario}`, max_tokens: 1024, tools: [WRITE_TOOL],
      messages: [{ role: 'user', content: 'create out.txt' }] });
    assertMessageShape(msg, `m-${scenario}`);
    assert.equal(msg.stop_reason, 'tool_use');
    const tools = msg.content.filter((b) => b.type === 'tool_use');
    assert.equal(tools.length, 1, `one tool_use block in ${JSON.stringify(msg.content)}`);
    assert.equal(tools[0].name, 'Write');
    assert.match(tools[0].id, /^[a-zA-Z0-9_-]+$/);
    assert.deepEqual(tools[0].input, WRITE_INPUT);
    assert.ok(msg.content.every((b) => b.type !== 'text' || b.text.length > 0),
      'no empty text blocks');
  });

  test(`create: tool call, ${label}`, T, async () => {
    const msg = await client.messages.create({ model: `m-${scenario}`, max_tokens: 1024,
      tools: [WRITE_TOOL], messages: [{ role: 'user', content: 'create out.txt' }] });
    assertMessageShape(msg, `m-${scenario}`);
    assert.equal(msg.stop_reason, 'tool_use');
    const tools = msg.content.filter((b) => b.type === 'tool_use');
    assert.equal(tools.length, 1);
    assert.equal(tools[0].name, 'Write');
    assert.deepEqual(tools[0].input, WRITE_INPUT);
  });
}

test('stream: tool result turn is translated and answered with the final text', T, async () => {
  const since = stack.records().length;
  const first = await client.messages.create({ model: 'm-tool_fragmented', max_tokens: 1024,
    tools: [WRITE_TOOL], messages: [{ role: 'user', content: 'create out.txt' }] });
  const call = first.content.find((b) => b.type === 'tool_use');
  const { msg } = await streamed({ model: 'm-tool_fragmented', max_tokens: 1024,
    tools: [WRITE_TOOL],
    messages: [
      { role: 'user', content: 'create out.txt' },
      { role: 'assistant', content: first.content },
      { role: 'user', content: [{ type: 'tool_result', tool_use_id: call.id,
        content: 'File created successfully' }] },
    ] });
  assert.deepEqual(msg.content, [{ type: 'text', text: 'Done: wrote the file.' }]);
  assert.equal(msg.stop_reason, 'end_turn');

  const up = upstreamFor('tool_fragmented', since);
  assert.equal(up.length, 2);
  const msgs = up[1].body.messages;
  const asst = msgs.find((m) => m.role === 'assistant');
  assert.ok(asst?.tool_calls?.length === 1, `assistant tool_calls in ${JSON.stringify(msgs)}`);
  assert.equal(asst.tool_calls[0].function.name, 'Write');
  assert.deepEqual(JSON.parse(asst.tool_calls[0].function.arguments), WRITE_INPUT);
  const tool = msgs[msgs.indexOf(asst) + 1];
  assert.equal(tool?.role, 'tool', 'the tool message follows the assistant message');
  assert.equal(tool.tool_call_id, asst.tool_calls[0].id);
  assert.match(JSON.stringify(tool.content), /File created successfully/);
});

test('stream and create: reasoning_content becomes a thinking block', T, async () => {
  for (const mode of ['stream', 'create']) {
    const params = { model: 'm-reasoning', max_tokens: 2048, messages: USER };
    const msg = mode === 'stream' ? (await streamed(params)).msg
      : await client.messages.create(params);
    assertMessageShape(msg, 'm-reasoning');
    assert.equal(msg.content.length, 2, `${mode}: ${JSON.stringify(msg.content)}`);
    assert.equal(msg.content[0].type, 'thinking');
    assert.equal(msg.content[0].thinking, 'Let me think about it.');
    assert.equal(typeof msg.content[0].signature, 'string', `${mode}: signature field present`);
    assert.deepEqual(msg.content[1], { type: 'text', text: 'The answer is 42.' });
    assert.equal(msg.stop_reason, 'end_turn');
  }
});

test('stream: no usage from upstream still gives input and output tokens', T, async () => {
  const { msg } = await streamed({ model: 'm-no_usage', max_tokens: 256, messages: USER });
  assertMessageShape(msg, 'm-no_usage');
  assert.deepEqual(msg.content, [{ type: 'text', text: 'No usage here.' }]);
  assert.ok(msg.usage.output_tokens > 0, 'estimated output_tokens > 0');
});

test('stream: CRLF, comments, "data:" without space and choices:null usage', T, async () => {
  const { msg } = await streamed({ model: 'm-odd_framing', max_tokens: 256, messages: USER });
  assertMessageShape(msg, 'm-odd_framing');
  assert.deepEqual(msg.content, [{ type: 'text', text: 'Odd but valid.' }]);
  assert.equal(msg.usage.input_tokens, 9);
  assert.equal(msg.usage.output_tokens, 4);
});

function retryAfter(err) {
  const h = err.headers;
  return typeof h?.get === 'function' ? h.get('retry-after') : h?.['retry-after'];
}

test('429 upstream → RateLimitError with retry-after (create and stream)', T, async () => {
  await assert.rejects(
    client.messages.create({ model: 'm-error_429', max_tokens: 256, messages: USER }),
    (err) => {
      assert.ok(err instanceof Anthropic.RateLimitError, `RateLimitError, got ${err}`);
      assert.equal(err.status, 429);
      assert.equal(retryAfter(err), '7');
      assert.equal(err.error?.type, 'error');
      assert.equal(err.error?.error?.type, 'rate_limit_error');
      return true;
    });
  await assert.rejects(
    client.messages.stream({ model: 'm-error_429', max_tokens: 256, messages: USER })
      .finalMessage(),
    (err) => {
      assert.ok(err instanceof Anthropic.RateLimitError, `RateLimitError, got ${err}`);
      assert.equal(retryAfter(err), '7');
      return true;
    });
  const up = upstreamFor('error_429');
  assert.ok(up.length >= 2, 'the upstream was asked');
  assert.ok(up.every((r) => r.headers.authorization === 'Bearer test-key'));
});

test('500 upstream → InternalServerError api_error', T, async () => {
  await assert.rejects(
    client.messages.create({ model: 'm-error_500', max_tokens: 256, messages: USER }),
    (err) => {
      assert.ok(err instanceof Anthropic.InternalServerError, `InternalServerError, got ${err}`);
      assert.equal(err.error?.error?.type, 'api_error');
      assert.match(err.error?.request_id ?? '', /./, 'request_id present');
      return true;
    });
});

test('mid-stream error chunk → the stream rejects with an APIError', T, async () => {
  const stream = client.messages.stream({ model: 'm-midstream_error', max_tokens: 256,
    messages: USER });
  let text = '';
  stream.on('text', (t) => { text += t; });
  await assert.rejects(stream.finalMessage(), (err) => {
    assert.ok(err instanceof Anthropic.APIError, `APIError, got ${err?.constructor?.name}: ${err}`);
    return true;
  });
  assert.equal(text, 'Partial answer', 'the text before the error was delivered');
});

test('upstream disconnect mid-stream → the stream rejects', T, async () => {
  const stream = client.messages.stream({ model: 'm-disconnect', max_tokens: 256,
    messages: USER });
  await assert.rejects(stream.finalMessage(), (err) => {
    assert.ok(err instanceof Error);
    return true;
  });
});

test('api_key_name: the configured key goes upstream, not the client key', T, async () => {
  const since = stack.records().length;
  const msg = await client.messages.create({ model: 'm-keyed', max_tokens: 256, messages: USER });
  assertMessageShape(msg, 'm-keyed');
  const up = upstreamFor('text', since);
  assert.equal(up.length, 1);
  assert.equal(up[0].headers.authorization, 'Bearer upstream-secret');
  assert.ok(!JSON.stringify(up[0]).includes('test-key'), 'client key not forwarded');
});

test('the proxy log never shows a key', T, async () => {
  const logs = stack.proxy.stderrText() + stack.proxy.stdoutText();
  assert.ok(!logs.includes('test-key'), 'client key not in the log');
  assert.ok(!logs.includes('upstream-secret'), 'configured key not in the log');
});

test('countTokens returns a positive local estimate', T, async () => {
  const since = stack.records().length;
  const r = await client.messages.countTokens({ model: 'm-text', messages: USER,
    system: 'You are a test.', tools: [WRITE_TOOL] });
  assert.equal(typeof r.input_tokens, 'number');
  assert.ok(r.input_tokens > 0, `input_tokens > 0 (got ${r.input_tokens})`);
  const small = await client.messages.countTokens({ model: 'm-text', messages: USER });
  assert.ok(small.input_tokens < r.input_tokens, 'system and tools are counted');
  assert.equal(stack.records().length, since, 'estimated locally, no upstream call');
});

test('unknown path → 404 Anthropic error JSON', T, async () => {
  for (const [method, p] of [['GET', '/v1/nope'], ['POST', '/v1/complete'], ['HEAD', '/api/hello']]) {
    const res = await fetch(`${stack.baseURL}${p}`, { method,
      headers: { 'x-api-key': 'test-key', 'content-type': 'application/json' },
      body: method === 'POST' ? '{}' : undefined });
    assert.equal(res.status, 404, `${method} ${p}`);
    if (method === 'HEAD') continue;
    const body = await res.json();
    assert.equal(body.type, 'error');
    assert.equal(body.error?.type, 'not_found_error');
    assert.equal(typeof body.error?.message, 'string');
    assert.match(body.request_id ?? '', /./);
  }
});
