// `claude-proxy replay` (issue 4) over a journal the real proxy wrote: requests in both modes,
// streamed and not, one failing, in two sessions; the proxy is stopped, the listing is checked
// against what the clients got, then a session is re-sent to another fake model through the
// proxy's own pipeline (started inside the replay command) and the summary shows original and
// new side by side, while the journal links each re-sent request to its original (replay_of).

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';

import { requireBin, run, startDualStack, tempDir } from './lib/harness.mjs';

const T = { timeout: 90000 };
const CLIENT_KEY = 'sk-client-e2e-replay-0123456789';
const REPLAY_KEY = 'sk-replay-e2e-key-abcdefghijkl';
const SESSION = 'sess-replay-e2e-1';
const OTHER = 'sess-replay-e2e-2';

let stack;
let bin;
let journalFile;
const sent = []; // {model, stream, status, id, session}

async function post(model, { stream = false, session = SESSION } = {}) {
  const res = await fetch(`${stack.baseURL}/v1/messages?beta=true`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-api-key': CLIENT_KEY,
      'anthropic-version': '2023-06-01', 'x-claude-code-session-id': session },
    body: JSON.stringify({ model, max_tokens: 50, stream,
      messages: [{ role: 'user', content: 'write hello.txt' }] }),
  });
  await res.text();
  const r = { model, stream, status: res.status, id: res.headers.get('request-id'), session };
  sent.push(r);
  return r;
}

function journalRecords(dir) {
  return fs.readdirSync(dir).filter((f) => f.endsWith('.jsonl')).sort()
    .flatMap((f) => fs.readFileSync(path.join(dir, f), 'utf8').split('\n'))
    .filter(Boolean)
    .flatMap((l) => {
      try {
        return [JSON.parse(l)];
      } catch {
        return []; // a cut last line
      }
    });
}

/** Runs the replay command with no config or key from the test's own environment. */
function replay(args, env = {}) {
  const childEnv = { ...process.env, ...env };
  delete childEnv.CLAUDE_PROXY_CONFIG;
  if (!('ANTHROPIC_API_KEY' in env)) delete childEnv.ANTHROPIC_API_KEY;
  return run(bin, ['replay', ...args], { cwd: tempDir('replay-cwd'), env: childEnv,
    timeoutMs: 60000 });
}

before(async () => {
  bin = requireBin('CP_BIN', 'claude-proxy');
  stack = await startDualStack({
    models: [
      { model_id: 'm-text', model_name: 'text' },
      { model_id: 'm-tool', model_name: 'tool_oneshot' },
      { model_id: 'm-429', model_name: 'error_429' },
      { model_id: 'd-text', model_name: 'anthropic_text', direct: true },
      { model_id: 'm-slow', model_name: 'slow' },
    ],
    settings: { max_retries: 0 },
  });
  await post('m-text', { stream: true });
  await post('m-text');
  await post('m-429', { stream: true });
  await post('d-text', { stream: true });
  await post('m-tool', { session: OTHER });
  // The journal writer is flushed when the proxy exits; the fakes stay up for the re-send.
  await stack.proxy.stop();
  const files = fs.readdirSync(stack.proxy.journal).filter((f) => f.endsWith('.jsonl'));
  assert.equal(files.length, 1, `journal files: ${files}`);
  journalFile = path.join(stack.proxy.journal, files[0]);
  // In direct mode the client gets the upstream's request-id; the journal keeps the proxy's.
  const direct = sent[3];
  direct.id = journalRecords(stack.proxy.journal)
    .find((x) => x.kind === 'client_request' && x.model === 'd-text').request;
});

after(async () => {
  await stack?.stop();
});

test('the requests went through as expected', () => {
  assert.deepEqual(sent.map((r) => r.status), [200, 200, 429, 200, 200]);
  for (const r of sent) assert.match(r.id ?? '', /^req_[A-Za-z0-9]+$/);
});

test('replay FILE lists every session and request with its summary', T, async () => {
  const r = await replay([journalFile]);
  assert.equal(r.code, 0, r.stderr);
  const out = r.stdout;
  assert.match(out, /: 2 sessions, 5 requests\n/);
  assert.match(out, new RegExp(`session ${SESSION} .* 4 requests`));
  assert.match(out, new RegExp(`session ${OTHER} .* 1 request\\b`));
  const line = (id) => {
    const l = out.split('\n').find((x) => x.includes(id));
    assert.ok(l, `no line for ${id}:\n${out}`);
    return l.replace(/\s+/g, ' ');
  };
  const [textStream, textJson, failed, direct, tool] = sent;
  assert.match(line(textStream.id), /m-text translate 200 stream in 12 out 3 cache 0\/0 \S+ end_turn -$/);
  assert.match(line(textJson.id), /m-text translate 200 json in 12 out 3 .* end_turn -$/);
  assert.match(line(failed.id), /m-429 translate 429 stream in - out - .* upstream: .*429/);
  assert.match(line(direct.id), /d-text direct 200 stream in \d+ out \d+ .* end_turn/);
  assert.match(line(tool.id), /m-tool translate 200 json .* tool_use 1 Write$/);
  // Sessions come in the order they started, requests in the order they were made.
  assert.ok(out.indexOf(textStream.id) < out.indexOf(textJson.id));
  assert.ok(out.indexOf(direct.id) < out.indexOf(`session ${OTHER}`));
  assert.match(out, /total: 4 requests, 1 failed, in \d+ out \d+ cache 0\/0 tokens/);
});

test('replay FILE --session ID lists only that session (a prefix is enough)', T, async () => {
  const r = await replay([journalFile, '--session', 'sess-replay-e2e-2']);
  assert.equal(r.code, 0, r.stderr);
  assert.doesNotMatch(r.stdout, new RegExp(`session ${SESSION}`));
  assert.match(r.stdout, new RegExp(sent[4].id));
  const ambiguous = await replay([journalFile, '--session', 'sess-replay']);
  assert.equal(ambiguous.code, 2);
  assert.match(ambiguous.stderr, /more than one session starts with "sess-replay"/);
});

test('a journal cut mid-line still lists, and says so', T, async () => {
  const dir = tempDir('replay-cut');
  const cut = path.join(dir, 'cut.jsonl');
  const text = fs.readFileSync(journalFile, 'utf8');
  fs.writeFileSync(cut, `${text}{"seq":99999,"time":"2026-11-25T06:10:00.0Z","kind":"client_ev`);
  const r = await replay([cut]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /2 sessions, 5 requests; the last line is cut short/);
});

test('clear errors: missing file, unknown session, unknown model, no key', T, async () => {
  const missing = await replay(['/nonexistent/journal.jsonl']);
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /cannot open \/nonexistent\/journal\.jsonl/);

  const nosession = await replay([journalFile, '--session', 'nope']);
  assert.equal(nosession.code, 2);
  assert.match(nosession.stderr, /no session "nope"; the sessions are:/);
  assert.match(nosession.stderr, new RegExp(`${SESSION} +\\(4 requests\\)`));

  const nomodel = await replay([journalFile, '--session', SESSION, '--resend', '--model',
    'bogus', '--config', stack.proxy.config], { ANTHROPIC_API_KEY: REPLAY_KEY });
  assert.equal(nomodel.code, 2);
  assert.match(nomodel.stderr, /--model bogus: no such model_id .* the models are:/);
  assert.match(nomodel.stderr, /m-tool/);

  const nokey = await replay([journalFile, '--session', SESSION, '--resend', '--config',
    stack.proxy.config]);
  assert.equal(nokey.code, 2);
  assert.match(nokey.stderr, /no API key .* only redacted keys, so set \$ANTHROPIC_API_KEY/);

  const noresend = await replay([journalFile, '--resend']);
  assert.equal(noresend.code, 2);
  assert.match(noresend.stderr, /--resend needs --session ID/);
});

test('--resend --model sends the session again and shows original and new', T, async () => {
  const before = stack.openai.records().length;
  const r = await replay([journalFile, '--session', SESSION, '--resend', '--model', 'm-tool',
    '--config', stack.proxy.config], { ANTHROPIC_API_KEY: REPLAY_KEY });
  assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
  assert.doesNotMatch(r.stderr, /Sanitizer|runtime error/);
  const out = r.stdout;
  assert.match(out, new RegExp(`session ${SESSION} re-sent as session (replay-\\S+) to m-tool`));
  const newSession = out.match(/re-sent as session (replay-\S+)/)[1];

  // Four requests reached the fake again, all as m-tool's upstream model, with our key.
  const upstream = stack.openai.records().slice(before);
  assert.equal(upstream.length, 4, JSON.stringify(upstream.map((x) => x.body?.model)));
  for (const u of upstream) assert.equal(u.body.model, 'tool_oneshot');

  const rows = out.split('\n');
  const row = (id) => {
    const l = rows.find((x) => x.includes(id));
    assert.ok(l, `no row for ${id}:\n${out}`);
    return l.replace(/\s+/g, ' ');
  };
  const [textStream, textJson, failed, direct] = sent;
  // original | new: stop reason, tool calls, tokens in/out and time on both sides.
  assert.match(row(textStream.id),
    /m-text 200 end_turn - 12\/3 \S+ \| m-tool 200 tool_use 1 Write \d+\/\d+ \S+ req_\S+ stop tools$/);
  assert.match(row(textJson.id), /m-text 200 end_turn - 12\/3 .*\| m-tool 200 tool_use 1 Write/);
  assert.match(row(failed.id), /m-429 429 - - - \S+ \| m-tool 200 tool_use 1 Write .* status stop tools$/);
  assert.match(row(direct.id), /d-text 200 end_turn .*\| m-tool 200 tool_use 1 Write/);
  assert.match(out, /total: original in \d+ out \d+ tokens, \S+; new in \d+ out \d+ tokens/);

  // The journal now holds the re-sent requests, each linked to its original.
  const recs = journalRecords(stack.proxy.journal);
  const replayed = recs.filter((x) => x.kind === 'client_request' && x.replay_of);
  assert.deepEqual(replayed.map((x) => x.replay_of), sent.slice(0, 4).map((s) => s.id));
  for (const cr of replayed) {
    assert.equal(cr.session, newSession);
    assert.equal(cr.body.model, 'm-tool');
    const end = recs.find((x) => x.kind === 'end' && x.request === cr.request);
    assert.ok(end, `no end record for ${cr.request}`);
    assert.equal(end.status, 200);
    assert.equal(end.model_id, 'm-tool');
    assert.ok(out.includes(cr.request), `summary lacks the new id ${cr.request}`);
  }
  const text = fs.readdirSync(stack.proxy.journal)
    .map((f) => fs.readFileSync(path.join(stack.proxy.journal, f), 'utf8')).join('');
  assert.ok(!text.includes(REPLAY_KEY), 'the replay key reached the journal');

  // And the listing shows them as a session of their own, marked as replays.
  const listed = await replay([journalFile, '--session', newSession]);
  assert.equal(listed.code, 0, listed.stderr);
  assert.match(listed.stdout, new RegExp(`session ${newSession} .* 4 requests`));
  assert.equal(listed.stdout.match(/replay of req_/g)?.length, 4);
});

test('--resend without --model goes to the original models; --no-journal writes nothing', T,
  async () => {
    const r = await replay([journalFile, '--session', OTHER, '--resend', '--no-journal',
      '--config', stack.proxy.config], { ANTHROPIC_API_KEY: REPLAY_KEY });
    assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
    assert.match(r.stdout, /\(not journaled\)/);
    const row = r.stdout.split('\n').find((x) => x.includes(sent[4].id)).replace(/\s+/g, ' ');
    assert.match(row, /m-tool 200 tool_use 1 Write \d+\/\d+ \S+ \| m-tool 200 tool_use 1 Write .* -$/);
  });

test('--resend to a direct model: the summary has the proxy\'s request ids, not the upstream\'s',
  T, async () => {
    const r = await replay([journalFile, '--session', OTHER, '--resend', '--model', 'd-text',
      '--config', stack.proxy.config], { ANTHROPIC_API_KEY: REPLAY_KEY });
    assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
    const newSession = r.stdout.match(/re-sent as session (replay-\S+)/)[1];
    const cr = journalRecords(stack.proxy.journal).filter((x) => x.kind === 'client_request' &&
      x.session === newSession && x.replay_of === sent[4].id);
    assert.equal(cr.length, 1);
    const row = r.stdout.split('\n').find((x) => x.includes(sent[4].id)).replace(/\s+/g, ' ');
    assert.ok(row.includes(cr[0].request), `${row} lacks ${cr[0].request}`);
    assert.match(row, /m-tool 200 tool_use 1 Write \d+\/\d+ \S+ \| d-text 200 end_turn - 12\/6 \S+ req_\S+ stop tools$/);
  });

test('replay DIR reads the newest journal file there; no FILE reads the default directory', T,
  async () => {
    const dir = path.dirname(journalFile);
    const byFile = await replay([journalFile]);
    const byDir = await replay([dir]);
    assert.equal(byDir.code, 0, byDir.stderr);
    assert.equal(byDir.stdout, byFile.stdout);
    assert.match(byDir.stderr, new RegExp(`reading ${journalFile.replace(/[.]/g, '\\.')} ` +
      '\\(the newest journal file there\\)'));

    // No FILE: $XDG_STATE_HOME/claude-proxy/journal, here a copy with an older file beside it.
    const state = tempDir('replay-state');
    const jdir = path.join(state, 'claude-proxy', 'journal');
    fs.mkdirSync(jdir, { recursive: true });
    fs.writeFileSync(path.join(jdir, '2020-01-01.jsonl'), '');
    fs.utimesSync(path.join(jdir, '2020-01-01.jsonl'), new Date(0), new Date(0));
    fs.copyFileSync(journalFile, path.join(jdir, path.basename(journalFile)));
    const byDefault = await replay([], { XDG_STATE_HOME: state });
    assert.equal(byDefault.code, 0, byDefault.stderr);
    assert.equal(byDefault.stdout.replace(/^\S+:/, ''), byFile.stdout.replace(/^\S+:/, ''));

    const none = await replay([], { XDG_STATE_HOME: tempDir('replay-empty') });
    assert.equal(none.code, 1);
    assert.match(none.stderr, /no journal directory .*claude-proxy\/journal \(give a journal FILE or DIR\)/);
    const empty = await replay([tempDir('replay-nofiles')]);
    assert.equal(empty.code, 1);
    assert.match(empty.stderr, /no journal files \(YYYY-MM-DD\.jsonl\) in /);
  });

test('Ctrl-C during --resend stops it, reports what was sent, and the journal stays whole', T,
  async () => {
    const jdir = tempDir('replay-interrupted');
    const env = { ...process.env, ANTHROPIC_API_KEY: REPLAY_KEY };
    delete env.CLAUDE_PROXY_CONFIG;
    const child = spawn(bin, ['replay', journalFile, '--session', SESSION, '--resend', '--model',
      'm-slow', '--config', stack.proxy.config, '--journal', jdir], { env });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => { stdout += d; });
    child.stderr.on('data', (d) => { stderr += d; });
    const exited = new Promise((resolve) => child.on('close', (code, signal) =>
      resolve({ code, signal })));
    // The first request is in flight once the slow fake has sent its first chunk.
    const t0 = Date.now();
    while (!/replay: 1\/4 /.test(stderr) && Date.now() - t0 < 20000)
      await new Promise((r) => setTimeout(r, 50));
    await new Promise((r) => setTimeout(r, 500));
    child.kill('SIGINT');
    const { code } = await exited;
    assert.ok(Date.now() - t0 < 15000, 'it stopped well before the fake answered');
    assert.equal(code, 130, `${stdout}\n${stderr}`);
    assert.doesNotMatch(stderr, /Sanitizer|runtime error/);
    assert.match(stderr, /interrupted; letting the proxy finish its records/);
    assert.match(stdout, /#1 new: no answer: interrupted before the answer was complete/);
    assert.equal((stdout.match(/not sent: interrupted/g) ?? []).length, 3, stdout);
    // The interrupted request is in the new journal, ended, linked to its original.
    const recs = journalRecords(jdir);
    const req = recs.find((x) => x.kind === 'client_request' && x.replay_of);
    assert.ok(req, 'the re-sent request was journaled');
    assert.ok(recs.some((x) => x.kind === 'end' && x.request === req.request),
      'and its end record was written before the command exited');
  });
