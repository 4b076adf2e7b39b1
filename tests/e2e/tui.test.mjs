// The inspector (issue 5) for real: `claude-proxy --tui` in tmux (send-keys, capture-pane)
// against the fake upstream, driven by curl and the real Claude Code CLI. The screen must show
// what happened: rows, states, tokens, the detail tabs with raw and translated bodies, a model
// switch that the next request obeys (checked at the upstream), resize to 40x10 and back, replay
// of the journal, and a clean quit.

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';

import {
  modelsYaml, prepareScenarios, requireBin, runClaude, startFake, tempDir,
} from './lib/harness.mjs';

const T = { timeout: 90000 };
const SOCKET = `cp-e2e-${process.pid}`;
const KEY = 'sk-tui-test-key-0123456789';

let fake;
let dir;
let cwd;
let port;

function tmux(...args) {
  return execFileSync('tmux', ['-L', SOCKET, ...args], { encoding: 'utf8' });
}

function screen() {
  return tmux('capture-pane', '-p', '-t', 'cp');
}

function keys(...k) {
  tmux('send-keys', '-t', 'cp', ...k);
}

async function waitScreen(re, what, ms = 8000) {
  const end = Date.now() + ms;
  let last = '';
  while (Date.now() < end) {
    last = screen();
    if (re.test(last)) return last;
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.fail(`timed out waiting for ${what}; the screen was:\n${last}`);
}

async function post(model, { stream = false, content = 'hi' } = {}) {
  const res = await fetch(`http://127.0.0.1:${port}/v1/messages`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-api-key': KEY },
    body: JSON.stringify({ model, max_tokens: 20, stream,
      messages: [{ role: 'user', content }] }),
  });
  await res.text();
  return res.status;
}

before(async () => {
  requireBin('CP_BIN', 'claude-proxy');
  dir = tempDir('tui');
  cwd = tempDir('tui-cwd');
  // 100 chunks 20 ms apart: records for 2 s on every turn of the inspector's loop.
  const chunk = (delta, finish = null, extra = {}) => ({ data: { id: 'c', object: 'chat.completion.chunk',
    created: 1, model: 'slow', choices: [{ index: 0, delta, finish_reason: finish }], ...extra } });
  const slow = [chunk({ role: 'assistant', content: '' })];
  for (let i = 0; i < 100; i++) slow.push({ delay_ms: 20, ...chunk({ content: ` w${i}` }) });
  slow.push(chunk({}, 'stop', { usage: { prompt_tokens: 7, completion_tokens: 100, total_tokens: 107 } }));
  slow.push({ data: '[DONE]' });
  fake = await startFake({
    scenarios: prepareScenarios({ cwd, extra: { slow_stream: { turns: [{ stream: slow }] } } }),
  });
  fs.writeFileSync(path.join(dir, 'models.yaml'), modelsYaml([
    { model_id: 'm-text', model_name: 'text', api_base: `${fake.url}/v1`,
      api_key_name: 'TUI_UPSTREAM_KEY', price: { input: 3, output: 15 } },
    { model_id: 'm-429', model_name: 'error_429', api_base: `${fake.url}/v1`,
      api_key_name: 'TUI_UPSTREAM_KEY' },
    { model_id: 'm-tool', model_name: 'tool_fragmented', api_base: `${fake.url}/v1` },
    { model_id: 'm-slow', model_name: 'slow_stream', api_base: `${fake.url}/v1` },
  ]));
  const err = path.join(dir, 'stderr.log');
  tmux('new-session', '-d', '-s', 'cp', '-x', '120', '-y', '40',
    `cd ${dir} && MAX_RETRIES=0 TUI_UPSTREAM_KEY=${KEY} ${process.env.CP_BIN} --config models.yaml --port 0 ` +
    `--journal ${dir}/journal --tui 2>${err}; echo "exit=$?" > ${dir}/exit`);
  const end = Date.now() + 10000;
  while (!port && Date.now() < end) {
    const m = fs.existsSync(err) && fs.readFileSync(err, 'utf8')
      .match(/ANTHROPIC_BASE_URL=http:\/\/127\.0\.0\.1:(\d+)/);
    if (m) port = Number(m[1]);
    else await new Promise((r) => setTimeout(r, 50));
  }
  assert.ok(port, 'the proxy printed its address');
  await waitScreen(/route models\.yaml/, 'the status bar');
});

after(async () => {
  try {
    tmux('kill-server');
  } catch {
    // already gone
  }
  await fake?.stop();
});

test('streamed and failed requests appear as rows with state, status and tokens', T,
  async () => {
    assert.equal(await post('m-text', { stream: true }), 200);
    assert.equal(await post('m-429'), 429);
    const s = await waitScreen(/error\s+m-429/, 'the failed row');
    assert.match(s, /done\s+m-text\s+translate\s+200\s+\d+ms\s+\d+ms\s+\d+\/\d+\/0\s+\$0\.\d+/);
    assert.match(s, /error\s+m-429\s+translate\s+429/);
    assert.match(s, /127\.0\.0\.1:\d+ │ route models\.yaml │ live 0/);
    assert.match(s, /│ journal \/tmp\//, 'the journal in the status bar');
  });

test('detail tabs: client request, translated upstream request, translated stream', T,
  async () => {
    assert.equal(await post('m-text', { stream: true, content: 'detail please' }), 200);
    await waitScreen(/(done\s+m-text[^\n]*\n[^]*){2}/, 'the second m-text row');
    keys('End', 'Enter');
    let s = await waitScreen(/client request │ upstream request/, 'the detail tabs');
    assert.match(s, /"content": "detail please"/);
    assert.match(s, /"model": "m-text"/);
    keys('Tab');
    s = await waitScreen(/"model": "text"/, 'the translated upstream request');
    assert.match(s, /"stream": true/);
    keys('Tab', 'Tab');
    s = await waitScreen(/message_start|Hello/, 'the client stream');
    keys('Escape');
    await waitScreen(/time\s+state\s+requested/, 'the list again');
  });

// A mouse press at column x, line y (0-based), as the terminal reports it in X10 mode (what
// ncurses asks tmux for), then the release.
function click(x, y, button = 0) {
  tmux('send-keys', '-t', 'cp', '-l', '\x1b[M' + String.fromCharCode(32 + button, 33 + x, 33 + y));
  if (button === 0) {
    tmux('send-keys', '-t', 'cp', '-l', '\x1b[M' + String.fromCharCode(35, 33 + x, 33 + y));
  }
}

test('the mouse: a click selects a row, a second opens it, a click on a tab switches', T,
  async () => {
    let s = await waitScreen(/error\s+m-429/, 'the failed row');
    const y = s.split('\n').findIndex((l) => /error\s+m-429/.test(l));
    click(20, y);
    click(20, y);
    s = await waitScreen(/client request │ upstream request/, 'the detail of the clicked row');
    click(2, 0); // the first tab
    s = await waitScreen(/"model": "m-429"/, 'the clicked request in the client request tab');
    const tab = s.split('\n')[0].indexOf('headers');
    click(tab + 1, 0);
    s = await waitScreen(/client request headers/, 'the headers tab');
    click(5, 5, 65); // the wheel, down: scrolls, and the screen is still the detail
    click(5, 5, 64);
    await waitScreen(/client request headers/, 'the headers tab after the wheel');
    keys('Escape');
    await waitScreen(/time\s+state\s+requested/, 'the list again');
  });

test('a request re-sent to another model, compared side by side with its original', T,
  async () => {
    // The re-send goes through the proxy without a client key: the entries' api_key_name
    // variable (set on the proxy's command line) supplies it.
    assert.equal(await post('m-text', { content: 'compare me' }), 200);
    await waitScreen(/(done\s+m-text[^\n]*\n[^]*){3}/, 'the third m-text row');
    keys('End', 'R');
    await waitScreen(/re-send to which model/, 'the re-send picker');
    keys('Home', 'Down', 'Enter');
    let s = await waitScreen(/error\s+m-429 ↺req_/, 'the re-sent row, marked with its original');
    keys('c');
    s = await waitScreen(/compare\s+original\s+│ re-send/, 'the compare view');
    assert.match(s, /request\s+req_\w+\s+│ req_\w+/);
    assert.match(s, /status\s+200\s+│ 429/);
    assert.match(s, /model\s+m-text → m-text \(translate\)\s+│ m-429 → m-429 \(translate\)/);
    assert.match(s, /answer\s+Hello from the fake\.\s+│ error rate_limit_error/);
    keys('q');
    await waitScreen(/time\s+state\s+requested/, 'the list again');
  });

test('a model switch in the picker takes effect on the next request', T, async () => {
  keys('m');
  await waitScreen(/route new requests to/, 'the model picker');
  keys('Home', 'Down', 'Enter');
  await waitScreen(/route m-429/, 'the confirmed switch in the status bar');
  const since = fake.records().length;
  assert.equal(await post('m-text'), 429);
  const up = fake.records().slice(since);
  assert.equal(up.length, 1);
  assert.equal(up[0].body.model, 'error_429', 'the upstream got the switched model');
  await waitScreen(/m-text → m-429/, 'the routed row');
  keys('m');
  await waitScreen(/back to models\.yaml routing/, 'the picker');
  keys('End', 'Enter');
  await waitScreen(/route models\.yaml/, 'routing back to models.yaml');
});

test('the real Claude Code CLI through the inspecting proxy', T, async () => {
  const r = await runClaude({ baseURL: `http://127.0.0.1:${port}`, model: 'm-tool',
    prompt: 'create out.txt', cwd });
  assert.equal(r.code, 0, r.stderr);
  assert.equal(fs.readFileSync(path.join(cwd, 'out.txt'), 'utf8'), 'hello from the fake\n');
  const s = await waitScreen(/(done\s+m-tool[^\n]*\n[^]*){2}/, 'two Claude Code rows');
  assert.match(s, /session [0-9a-f-]{8}/, 'grouped under the Claude Code session');
});

test('a long line scrolls sideways: Right reveals what was beyond the edge, Tab still tabs', T,
  async () => {
    const long = `LONGHEAD ${'x'.repeat(150)} 中文 ${'y'.repeat(60)} TAILMARK`;
    assert.equal(await post('m-text', { content: long }), 200);
    await waitScreen(/(done\s+m-text[^\n]*\n[^]*){4}/, 'the long request\'s row');
    keys('End', 'Enter');
    await waitScreen(/client request │ upstream request/, 'the detail tabs');
    // The detail opens on the tab last shown: Tab round to the client request (not the diff,
    // whose left half has the line too).
    for (let i = 0; i < 7 && !/^ +"content": "LONGHEAD[^│]*$/m.test(screen()); i++) {
      keys('Tab');
      await new Promise((r) => setTimeout(r, 150));
    }
    let s = await waitScreen(/"content": "LONGHEAD x+…/, 'the long line cut at the right edge');
    assert.doesNotMatch(s, /TAILMARK/);
    // The cursor onto the "content" line (after {, model, max_tokens, stream, messages, {, role),
    // for > below; Right then stops once the longest line on screen ends in view.
    keys(...Array(7).fill('Down'));
    keys(...Array(40).fill('Right'));
    s = await waitScreen(/TAILMARK"/, 'the end of the long line after Right');
    assert.match(s, /^…x+ 中文 y+ TAILMARK"$/m, 'the left marker; the wide characters whole');
    assert.doesNotMatch(s, /LONGHEAD/);
    keys('Left', 'Left');
    s = await waitScreen(/^…[^\n]*y+…$/m, 'Left scrolls back: text beyond the right edge again');
    keys('<');
    s = await waitScreen(/"content": "LONGHEAD/, 'back at the start of the lines');
    keys('>');
    await waitScreen(/TAILMARK"/, '> shows the end of the line under the cursor');
    keys('Tab');
    await waitScreen(/"model": "text"/, 'Tab still switches tabs');
    keys('Escape');
    await waitScreen(/time\s+state\s+requested/, 'the list again');
  });

test('asleep when idle, it still wakes for a request and for a key', T, async () => {
  // Over 2 s without records the inspector sleeps until a record or a key comes.
  const rows = () => (screen().match(/done\s+m-text/g) || []).length;
  const before = rows();
  await new Promise((r) => setTimeout(r, 2600));
  assert.equal(await post('m-text', { content: 'after the nap' }), 200);
  const end = Date.now() + 3000;
  while (rows() <= before && Date.now() < end) await new Promise((r) => setTimeout(r, 100));
  assert.equal(rows(), before + 1, `a new row after the nap; the screen was:\n${screen()}`);
  await new Promise((r) => setTimeout(r, 2600));
  keys('?');
  await waitScreen(/keys \(Esc, q or \? closes\)/, 'the help, at once', 3000);
  keys('Escape');
  await waitScreen(/time\s+state\s+requested/, 'the list again');
});

test('a stream whose records keep coming for 2 s is drawn to its end', T, async () => {
  // Records on every turn for over a second: it draws 10 frames a second instead of 20, and
  // still shows the request live and then done with its tokens.
  const res = fetch(`http://127.0.0.1:${port}/v1/messages`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-api-key': KEY },
    body: JSON.stringify({ model: 'm-slow', max_tokens: 20, stream: true,
      messages: [{ role: 'user', content: 'slowly' }] }),
  });
  await waitScreen(/streaming\s+m-slow/, 'the slow stream live', 3000);
  assert.equal((await res).status, 200);
  await (await res).text();
  await waitScreen(/done\s+m-slow.*\s7\/100\/0/, 'the slow stream done with its tokens', 3000);
});

test('resize to 40x10 shows the too-small notice, and back restores the list', T,
  async () => {
    await new Promise((r) => setTimeout(r, 2600)); // asleep: the resize must wake it
    tmux('resize-window', '-t', 'cp', '-x', '40', '-y', '10');
    await waitScreen(/too small/i, 'the too-small notice');
    tmux('resize-window', '-t', 'cp', '-x', '120', '-y', '40');
    await waitScreen(/time\s+state\s+requested/, 'the list after resize');
  });

test('q quits and restores the terminal; the journal replays in the inspector', T,
  async () => {
    keys('q');
    const end = Date.now() + 8000;
    while (!fs.existsSync(path.join(dir, 'exit')) && Date.now() < end) {
      await new Promise((r) => setTimeout(r, 50));
    }
    assert.equal(fs.readFileSync(path.join(dir, 'exit'), 'utf8').trim(), 'exit=0');
    const file = fs.readdirSync(path.join(dir, 'journal')).find((f) => f.endsWith('.jsonl'));
    // The session ended with the proxy.
    tmux('new-session', '-d', '-s', 'cp', '-x', '120', '-y', '40',
      `${process.env.CP_BIN} --tui --replay ${path.join(dir, 'journal', file)}`);
    const s = await waitScreen(/m-text → m-429/, 'the replayed rows');
    assert.match(s, /done\s+m-text/);
    assert.match(s, /error\s+m-429/);
    keys('q');
  });
