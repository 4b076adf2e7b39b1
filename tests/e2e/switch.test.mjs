// Switching models mid-conversation (issue 3, point 5), through the official @anthropic-ai/sdk:
// a conversation started on a translated model (the OpenAI fake answering reasoning and tool
// calls) continues on a direct model (the strict Anthropic fake), and the reverse. The strict
// fakes refuse what the real APIs refuse (unsigned or foreign thinking, bad tool ids, unpaired
// tool calls, empty text), so each accepted request shows the proxy made the history valid. Each
// forward shape is also sent straight to the Anthropic fake once, to show it would be refused
// without the proxy: the test cannot pass vacuously.

import Anthropic from '@anthropic-ai/sdk';
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

import { startDualStack } from './lib/harness.mjs';

const T = { timeout: 60000 };
const ID_RE = /^[a-zA-Z0-9_-]+$/;
const TOOLS = [
  { name: 'Bash', description: 'Runs a command.', input_schema: { type: 'object',
    properties: { command: { type: 'string' } }, required: ['command'] } },
  { name: 'Read', description: 'Reads a file.', input_schema: { type: 'object',
    properties: { file_path: { type: 'string' } }, required: ['file_path'] } },
];
const FINAL_DIRECT = 'Finished on the direct model.';
const FINAL_TRANSLATED = 'Finished on the translated model.';

/** An OpenAI chunk stream: reasoning (in two pieces), text, then each call in two chunks. */
function oaTurn(id, { reasoning, text, calls = [] }) {
  const chunk = (delta, finish = null) => ({ data: { id, object: 'chat.completion.chunk',
    created: 1700000000, model: 'fake-model', choices: [{ index: 0, delta,
      finish_reason: finish }] } });
  const stream = [chunk({ role: 'assistant', content: '' })];
  if (reasoning) {
    const cut = Math.floor(reasoning.length / 2);
    stream.push(chunk({ reasoning_content: reasoning.slice(0, cut) }),
      chunk({ reasoning_content: reasoning.slice(cut) }));
  }
  if (text) stream.push(chunk({ content: text }));
  calls.forEach((c, i) => {
    stream.push(chunk({ tool_calls: [{ index: i, id: c.id, type: 'function',
      function: { name: c.name, arguments: '' } }] }));
    stream.push(chunk({ tool_calls: [{ index: i,
      function: { arguments: JSON.stringify(c.input) } }] }));
  });
  stream.push(chunk({}, calls.length ? 'tool_calls' : 'stop'));
  stream.push({ data: { id, object: 'chat.completion.chunk', created: 1700000000,
    model: 'fake-model', choices: [], usage: { prompt_tokens: 40, completion_tokens: 20,
      total_tokens: 60 } } });
  stream.push({ data: '[DONE]' });
  return { stream };
}

// Translated first, then direct. `history` changes what the client sends back, as other
// clients and proxies do: raw upstream ids (Kimi's functions.Bash:0), an empty text block.
const FORWARD = [
  { name: 'think_text_tool', reasoning: 'The user wants a listing; ls will do.',
    text: 'Let me look.', calls: [{ id: 'call_abc123', name: 'Bash', input: { command: 'ls' } }],
    refused: /Invalid `signature` in `thinking` block/ },
  { name: 'parallel_tools', reasoning: 'Two files, read both at once.',
    calls: [{ id: 'call_r1', name: 'Read', input: { file_path: '/a' } },
      { id: 'call_r2', name: 'Read', input: { file_path: '/b' } }],
    refused: /Invalid `signature` in `thinking` block/ },
  { name: 'kimi_ids', reasoning: 'Kimi numbers its calls.',
    calls: [{ id: 'functions.Bash:0', name: 'Bash', input: { command: 'pwd' } },
      { id: 'functions.Read:1', name: 'Read', input: { file_path: '/c' } }],
    refused: /Invalid `signature` in `thinking` block/ },
  { name: 'kimi_raw_ids', text: 'Running both.',
    calls: [{ id: 'functions.Bash:0', name: 'Bash', input: { command: 'date' } },
      { id: 'functions.Bash:1', name: 'Bash', input: { command: 'whoami' } }],
    history: 'raw_ids', refused: /String should match pattern/ },
  { name: 'empty_text', text: 'Checking.',
    calls: [{ id: 'call_e1', name: 'Bash', input: { command: 'true' } }],
    history: 'empty_text', refused: /text content blocks must be non-empty/ },
];

// Direct first (signed thinking, Anthropic ids), then translated, then direct again.
const REVERSE = [
  { name: 'r_think_text_tool', content: [
    { type: 'thinking', thinking: 'A listing first.' },
    { type: 'text', text: 'Listing.' },
    { type: 'tool_use', id: 'toolu_01RevA', name: 'Bash', input: { command: 'ls -la' } }] },
  { name: 'r_parallel_tools', content: [
    { type: 'thinking', thinking: 'Both files, in parallel.' },
    { type: 'tool_use', id: 'toolu_01RevB', name: 'Read', input: { file_path: '/x' } },
    { type: 'tool_use', id: 'toolu_01RevC', name: 'Read', input: { file_path: '/y' } }] },
  { name: 'r_text_tool', content: [
    { type: 'text', text: 'One command.' },
    { type: 'tool_use', id: 'toolu_01RevD', name: 'Bash', input: { command: 'uname' } }] },
];

const scenarios = {};
for (const s of FORWARD) {
  scenarios[`sw_${s.name}`] = { turns: [oaTurn(`chatcmpl-${s.name}`, s)] };
  scenarios[`swa_${s.name}`] = { turns: [{ message: { content: [
    { type: 'thinking', thinking: 'Now on the direct model.' },
    { type: 'text', text: FINAL_DIRECT }] } }] };
}
for (const s of REVERSE) {
  scenarios[`swa_${s.name}`] = { turns: [{ message: { content: s.content } },
    { message: { content: [{ type: 'text', text: FINAL_DIRECT }] } }] };
  scenarios[`sw_${s.name}`] = { turns: [oaTurn('chatcmpl-unused', { text: 'unused' }),
    oaTurn(`chatcmpl-${s.name}`, { reasoning: 'Back on the translated model.',
      text: FINAL_TRANSLATED })] };
}

let stack;
let client;

before(async () => {
  const models = [];
  for (const s of [...FORWARD, ...REVERSE]) {
    models.push({ model_id: `t-${s.name}`, model_name: `sw_${s.name}` },
      { model_id: `d-${s.name}`, model_name: `swa_${s.name}`, direct: true });
  }
  stack = await startDualStack({ models, extraScenarios: scenarios,
    env: { MAX_RETRIES: '0' } });
  client = new Anthropic({ baseURL: stack.baseURL, apiKey: 'test-key', maxRetries: 0,
    timeout: 30000 });
});

after(async () => {
  await stack?.stop();
});

function ask(params, streaming) {
  return streaming ? client.messages.stream(params).finalMessage()
    : client.messages.create(params);
}

/** Straight to the Anthropic fake, without the proxy. */
async function askFake(body) {
  const res = await fetch(`${stack.anthropic.url}/v1/messages`, { method: 'POST',
    headers: { 'content-type': 'application/json', 'x-api-key': 'k',
      'anthropic-version': '2023-06-01' }, body: JSON.stringify(body) });
  return { status: res.status, body: await res.json() };
}

function toolResults(content) {
  return content.filter((b) => b.type === 'tool_use').map((b) => ({ type: 'tool_result',
    tool_use_id: b.id, content: `output of ${b.name}` }));
}

/** What the Anthropic fake received last for `scenario`. */
function lastDirect(scenario) {
  return stack.anthropic.records().filter((r) => r.body?.model === scenario).at(-1)?.body;
}

/** Checks an accepted Anthropic history the way the fake did, to say what the proxy changed. */
function assertCleanHistory(messages) {
  messages.forEach((m, i) => {
    if (!Array.isArray(m.content)) return;
    for (const b of m.content) {
      if (b.type === 'thinking') assert.match(b.signature ?? '', /^fakesig1\./, `messages.${i}`);
      if (b.type === 'text') assert.ok(b.text.length > 0, `messages.${i}: empty text`);
      if (b.type === 'tool_use') assert.match(b.id, ID_RE, `messages.${i}: tool id ${b.id}`);
    }
    const uses = m.content.filter((b) => b.type === 'tool_use').map((b) => b.id);
    if (uses.length) {
      const next = messages[i + 1];
      const results = next.content.filter((b) => b.type === 'tool_result')
        .map((b) => b.tool_use_id);
      assert.deepEqual([...results].sort(), [...uses].sort(), `messages.${i + 1} answers ` +
        `messages.${i}`);
    }
  });
}

FORWARD.forEach((s, n) => {
  const streaming = n % 2 === 0;
  test(`translated → direct, ${s.name} (${streaming ? 'stream' : 'create'})`, T, async () => {
    const user = { role: 'user', content: 'Go.' };
    const first = await ask({ model: `t-${s.name}`, max_tokens: 1024, tools: TOOLS,
      messages: [user] }, streaming);
    const types = first.content.map((b) => b.type);
    assert.deepEqual(types, [...(s.reasoning ? ['thinking'] : []), ...(s.text ? ['text'] : []),
      ...s.calls.map(() => 'tool_use')], JSON.stringify(first.content));
    if (s.reasoning) {
      assert.ok(!/^fakesig1\./.test(first.content[0].signature ?? ''),
        'translated thinking has no upstream signature');
    }

    // The history the client sends back.
    let content = first.content;
    if (s.history === 'raw_ids') {
      let k = 0;
      content = content.map((b) => (b.type === 'tool_use' ? { ...b, id: s.calls[k++].id } : b));
    } else if (s.history === 'empty_text') {
      content = [{ type: 'text', text: '' }, ...content];
    }
    const messages = [user, { role: 'assistant', content },
      { role: 'user', content: [...toolResults(content), { type: 'text', text: 'Continue.' }] }];

    const second = await ask({ model: `d-${s.name}`, max_tokens: 1024, tools: TOOLS, messages },
      !streaming);
    assert.equal(second.content.at(-1).text, FINAL_DIRECT);
    assert.equal(second.content[0].type, 'thinking');
    assert.match(second.content[0].signature, /^fakesig1\./);

    const got = lastDirect(`swa_${s.name}`);
    assert.ok(got, 'the direct upstream was asked');
    assertCleanHistory(got.messages);
    const asst = got.messages[1].content;
    assert.ok(!asst.some((b) => b.type === 'thinking'), 'the unsigned thinking block is removed');
    assert.deepEqual(asst.filter((b) => b.type === 'tool_use').map((b) => b.input),
      s.calls.map((c) => c.input), 'tool inputs unchanged');
    assert.deepEqual(got.messages[2].content.at(-1), { type: 'text', text: 'Continue.' });

    // Without the proxy's sanitising, the same history is refused.
    const raw = await askFake({ model: `swa_${s.name}`, max_tokens: 1024, tools: TOOLS,
      messages });
    assert.equal(raw.status, 400, JSON.stringify(raw.body));
    assert.match(raw.body.error.message, s.refused);
  });
});

REVERSE.forEach((s, n) => {
  const streaming = n % 2 === 1;
  test(`direct → translated → direct, ${s.name} (${streaming ? 'stream' : 'create'})`, T,
    async () => {
      const user = { role: 'user', content: 'Go.' };
      const first = await ask({ model: `d-${s.name}`, max_tokens: 1024, tools: TOOLS,
        messages: [user] }, streaming);
      assert.deepEqual(first.content.map((b) => b.type), s.content.map((b) => b.type));
      const signed = first.content.find((b) => b.type === 'thinking');
      if (signed) assert.match(signed.signature, /^fakesig1\./, 'the upstream signature arrives');

      const messages = [user, { role: 'assistant', content: first.content },
        { role: 'user', content: toolResults(first.content) }];
      const since = stack.openai.records().length;
      const second = await ask({ model: `t-${s.name}`, max_tokens: 1024, tools: TOOLS,
        messages }, !streaming);
      assert.equal(second.content.at(-1).text, FINAL_TRANSLATED);

      // What the strict OpenAI fake accepted: calls answered right after, by id.
      const up = stack.openai.records().slice(since).filter((r) => r.body?.model ===
        `sw_${s.name}`);
      assert.equal(up.length, 1);
      const om = up[0].body.messages;
      const ai = om.findIndex((m) => m.role === 'assistant');
      const calls = om[ai].tool_calls ?? [];
      const uses = first.content.filter((b) => b.type === 'tool_use');
      assert.equal(calls.length, uses.length);
      assert.deepEqual(calls.map((c) => JSON.parse(c.function.arguments)),
        uses.map((b) => b.input));
      assert.deepEqual(om.slice(ai + 1, ai + 1 + calls.length).map((m) => m.tool_call_id).sort(),
        calls.map((c) => c.id).sort(), 'one tool message per call, right after it');

      // Back on the direct model: the signed thinking stays, the translated one goes.
      const third = [...messages, { role: 'assistant', content: second.content },
        { role: 'user', content: 'And now?' }];
      const last = await ask({ model: `d-${s.name}`, max_tokens: 1024, tools: TOOLS,
        messages: third }, streaming);
      assert.equal(last.content.at(-1).text, FINAL_DIRECT);
      const got = lastDirect(`swa_${s.name}`);
      assertCleanHistory(got.messages);
      assert.deepEqual(got.messages[1].content, JSON.parse(JSON.stringify(first.content)),
        'the direct turn goes back exactly as it came');
      assert.ok(!got.messages[3].content.some((b) => b.type === 'thinking'),
        'the translated thinking is removed');

      const raw = await askFake({ model: `swa_${s.name}`, max_tokens: 1024, tools: TOOLS,
        messages: third });
      assert.equal(raw.status, 400, JSON.stringify(raw.body));
      assert.match(raw.body.error.message, /messages\.3\.content\.0: Invalid `signature`/);
    });
});

test('the strict OpenAI fake refuses tool calls without tool messages', T, async () => {
  const res = await fetch(`${stack.openai.url}/v1/chat/completions`, { method: 'POST',
    headers: { 'content-type': 'application/json' }, body: JSON.stringify({
      model: 'sw_r_text_tool', messages: [{ role: 'user', content: 'Go.' },
        { role: 'assistant', content: null, tool_calls: [{ id: 'call_1', type: 'function',
          function: { name: 'Bash', arguments: '{}' } }] },
        { role: 'user', content: 'next' }] }) });
  assert.equal(res.status, 400);
  assert.match((await res.json()).error.message, /did not have response messages: call_1/);
});
