// The journal (issue 4) written by the real proxy: requests in both modes, streamed and not,
// and failing, each leave exactly the records docs/journal-format.md lists, in order; no key
// appears anywhere in the files; the directory is 0700 and files 0600; a kill -9 loses at most
// the last second.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';

import { startDualStack, startProxy } from './lib/harness.mjs';

const T = { timeout: 60000 };
const CLIENT_KEY = 'sk-client-e2e-journal-0123456789';
const UPSTREAM_KEY = 'sk-upstream-e2e-journal-abcdefghij';

let stack;

before(async () => {
  stack = await startDualStack({
    models: [
      { model_id: 'm-text', model_name: 'text' },
      { model_id: 'm-429', model_name: 'error_429', api_key_name: 'CP_E2E_JOURNAL_KEY' },
      { model_id: 'd-text', model_name: 'anthropic_text', direct: true },
    ],
    settings: { max_retries: 0 },
    env: { CP_E2E_JOURNAL_KEY: UPSTREAM_KEY },
  });
});

after(async () => {
  await stack?.stop();
});

async function post(model, { stream = false, pathname = '/v1/messages?beta=true' } = {}) {
  const res = await fetch(`${stack.baseURL}${pathname}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-api-key': CLIENT_KEY,
      'anthropic-version': '2023-06-01', 'x-claude-code-session-id': 'sess-journal' },
    body: JSON.stringify({ model, max_tokens: 50, stream,
      messages: [{ role: 'user', content: `say hi; my key is ${CLIENT_KEY}` }] }),
  });
  await res.text();
  return { status: res.status, id: res.headers.get('request-id') };
}

function journalLines() {
  const dir = stack.proxy.journal;
  const files = fs.readdirSync(dir).filter((f) => f.endsWith('.jsonl')).sort();
  return files.flatMap((f) => fs.readFileSync(path.join(dir, f), 'utf8').split('\n')
    .filter(Boolean));
}

async function recordsOf(requestId, wantEnd = true) {
  const end = Date.now() + 3000;
  for (;;) {
    const recs = journalLines().map((l) => JSON.parse(l)).filter((r) => r.request === requestId);
    if (!wantEnd || recs.some((r) => r.kind === 'end') || Date.now() > end) return recs;
    await new Promise((r) => setTimeout(r, 50));
  }
}

function kinds(recs) {
  // Chunks and events repeat; collapse runs so the order is easy to state.
  return recs.map((r) => r.kind).filter((k, i, a) => i === 0 || a[i - 1] !== k);
}

test('translate, streamed: the full record sequence with usage and end', T, async () => {
  const r = await post('m-text', { stream: true });
  assert.equal(r.status, 200);
  const recs = await recordsOf(r.id);
  const k = kinds(recs);
  assert.deepEqual(k.slice(0, 4), ['client_request', 'route', 'upstream_request',
    'upstream_response']);
  assert.deepEqual(k.slice(-2), ['usage', 'end']);
  assert.deepEqual([...new Set(k.slice(4, -2))].sort(), ['client_event', 'upstream_chunk']);
  for (const rec of recs) {
    assert.equal(rec.session, 'sess-journal');
    assert.equal(rec.model, 'm-text');
  }
  const route = recs.find((x) => x.kind === 'route');
  assert.equal(route.mode, 'translate');
  assert.equal(route.model_name, 'text');
  const up = recs.find((x) => x.kind === 'upstream_request');
  assert.equal(up.body.model, 'text');
  assert.ok(recs.some((x) => x.kind === 'upstream_chunk' && x.data.includes('chat.completion')));
  const events = recs.filter((x) => x.kind === 'client_event').map((x) => x.data).join('');
  assert.match(events, /event: message_start/);
  assert.match(events, /event: message_stop/);
  const usage = recs.find((x) => x.kind === 'usage');
  assert.ok(usage.input_tokens > 0 && usage.output_tokens > 0);
  const end = recs.at(-1);
  assert.equal(end.status, 200);
  assert.equal(end.mode, 'translate');
  assert.equal(end.stream, true);
  assert.equal(end.stop_reason, 'end_turn');
  assert.equal(end.failed, false);
  const seqs = recs.map((x) => x.seq);
  assert.deepEqual(seqs, [...seqs].sort((a, b) => a - b), 'records in order');
});

test('direct, not streamed: forwarded body and the whole answer', T, async () => {
  const r = await post('d-text');
  assert.equal(r.status, 200);
  // Direct mode hands the client the upstream's own request-id; the journal keeps the proxy's.
  let own;
  const until = Date.now() + 3000;
  while (!own && Date.now() < until) {
    own = journalLines().map((l) => JSON.parse(l))
      .filter((x) => x.kind === 'client_request' && x.model === 'd-text').at(-1)?.request;
    if (!own) await new Promise((res) => setTimeout(res, 50));
  }
  assert.ok(own, 'the client_request record reached the journal');
  const recs = await recordsOf(own);
  assert.deepEqual(kinds(recs), ['client_request', 'route', 'upstream_request',
    'upstream_response', 'upstream_chunk', 'client_response', 'usage', 'end']);
  assert.equal(recs.find((x) => x.kind === 'route').mode, 'direct');
  assert.equal(recs.find((x) => x.kind === 'client_response').body.type, 'message');
  assert.equal(recs.at(-1).mode, 'direct');
});

test('an upstream error: error and client_response records, failed end', T, async () => {
  const r = await post('m-429');
  assert.equal(r.status, 429);
  const recs = await recordsOf(r.id);
  const err = recs.find((x) => x.kind === 'error');
  assert.equal(err.where, 'upstream');
  assert.equal(err.status, 429);
  assert.equal(err.type, 'rate_limit_error');
  assert.equal(recs.find((x) => x.kind === 'client_response').status, 429);
  assert.equal(recs.at(-1).failed, true);
});

test('a request the proxy refuses itself is recorded too', T, async () => {
  const res = await fetch(`${stack.baseURL}/v1/messages`, { method: 'POST',
    headers: { 'x-api-key': CLIENT_KEY }, body: '{"model":' });
  const id = res.headers.get('request-id');
  assert.equal(res.status, 400);
  const recs = await recordsOf(id);
  assert.deepEqual(kinds(recs), ['client_request', 'error', 'client_response', 'end']);
  assert.equal(recs[0].body_text, '{"model":');
});

test('no key in the journal, only redacted forms; 0700 directory, 0600 files', T, async () => {
  const last = await post('m-text');
  await recordsOf(last.id); /* flushed up to its end record */
  const text = journalLines().join('\n');
  assert.ok(text.length > 0);
  assert.ok(!text.includes(CLIENT_KEY), 'client key absent');
  assert.ok(!text.includes(UPSTREAM_KEY), 'upstream key absent');
  assert.ok(text.includes('sk-c…(32)'), 'the redacted form is there');
  const dir = stack.proxy.journal;
  assert.equal(fs.statSync(dir).mode & 0o777, 0o700);
  for (const f of fs.readdirSync(dir)) {
    assert.equal(fs.statSync(path.join(dir, f)).mode & 0o777, 0o600, f);
  }
});

test('kill -9 loses at most the last second', T, async () => {
  const proxy = await startProxy({ models: [{ model_id: 'm-text', model_name: 'text' }],
    fakeUrl: stack.openai.url });
  const res = await fetch(`${proxy.url}/v1/messages`, { method: 'POST',
    headers: { 'x-api-key': CLIENT_KEY }, body: JSON.stringify({ model: 'm-text',
      max_tokens: 5, messages: [{ role: 'user', content: 'hi' }] }) });
  await res.text();
  const id = res.headers.get('request-id');
  await new Promise((r) => setTimeout(r, 1100));
  proxy.child.kill('SIGKILL');
  await proxy.exited;
  const text = fs.readdirSync(proxy.journal).map((f) =>
    fs.readFileSync(path.join(proxy.journal, f), 'utf8')).join('');
  const recs = text.split('\n').filter(Boolean).map((l) => JSON.parse(l))
    .filter((x) => x.request === id);
  assert.ok(recs.some((x) => x.kind === 'end'), 'the request finished a second ago is on disk');
});
