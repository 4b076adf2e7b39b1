// harness: starts the fake upstream and the real claude-proxy binary on loopback for one test
// file, and tears both down again whatever happens.
//
// Binaries come from the environment ctest sets (tests/CMakeLists.txt): CP_BIN (claude-proxy),
// CP_FAKE (fake-upstream), CP_FIXTURES (tests/fixtures). A missing one fails the test with a
// message saying what to build; nothing is skipped silently.
//
// Every child is started on port 0 in its own temp dir, reports its port on a "listening" line,
// and is registered so that test teardown, a failed start or the Node process exiting kills it.
// Every wait has a timeout, so a broken binary fails a test instead of hanging ctest.

import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const E2E_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const START_TIMEOUT_MS = 20000; // sanitizer builds start slower than release ones
const STOP_TIMEOUT_MS = 5000;

const live = new Set();
const made = []; // temp dirs, removed at exit unless CP_E2E_KEEP=1 (to look at a failure)
process.on('exit', () => {
  for (const child of live) {
    try {
      child.kill('SIGKILL');
    } catch {
      // already gone
    }
  }
  if (process.env.CP_E2E_KEEP !== '1') {
    for (const d of made) fs.rmSync(d, { recursive: true, force: true });
  }
});

/** The path in env var `name`, checked to be an executable file. */
export function requireBin(name, what) {
  const p = process.env[name];
  if (!p) {
    throw new Error(`${name} is not set: it must name the ${what} binary ` +
      '(run the e2e tests through ctest, or set it by hand)');
  }
  try {
    fs.accessSync(p, fs.constants.X_OK);
  } catch {
    throw new Error(`${name}=${p}: the ${what} binary is missing or not executable; ` +
      'build it first (cmake --build <dir>)');
  }
  return p;
}

export function fixturesDir() {
  const dir = process.env.CP_FIXTURES || path.resolve(E2E_DIR, '..', 'fixtures');
  if (!fs.existsSync(path.join(dir, 'scenarios'))) {
    throw new Error(`fixtures not found in ${dir} (set CP_FIXTURES to tests/fixtures)`);
  }
  return dir;
}

export function tempDir(label) {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), `cp-e2e-${label}-`));
  made.push(d);
  return d;
}

/**
 * Copies the repo's scenario files into a fresh dir, replacing __CWD__ (the working directory
 * Claude Code runs in; its Write tool wants absolute paths) when `cwd` is given.
 */
export function prepareScenarios({ cwd, extra = {} } = {}) {
  const src = path.join(fixturesDir(), 'scenarios');
  const dst = tempDir('scenarios');
  const cwdText = cwd === undefined ? null : JSON.stringify(cwd).slice(1, -1);
  for (const name of fs.readdirSync(src)) {
    if (!name.endsWith('.json')) continue;
    let text = fs.readFileSync(path.join(src, name), 'utf8');
    if (cwdText !== null) text = text.replaceAll('__CWD__', cwdText);
    fs.writeFileSync(path.join(dst, name), text);
  }
  for (const [name, scenario] of Object.entries(extra)) {
    fs.writeFileSync(path.join(dst, `${name}.json`), JSON.stringify(scenario));
  }
  return dst;
}

/**
 * Spawns a long-running child and resolves once a line of its output matches `ready`.
 * Output is kept (last 1 MB per stream) for error messages and assertions.
 */
function startChild(label, bin, args, { ready, cwd, env }) {
  const child = spawn(bin, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
  live.add(child);
  const out = { stdout: '', stderr: '' };
  const exited = new Promise((resolve) => {
    child.on('exit', (code, signal) => {
      live.delete(child);
      resolve({ code, signal });
    });
  });
  const handle = {
    label,
    child,
    out,
    exited,
    match: null,
    stdoutText: () => out.stdout,
    stderrText: () => out.stderr,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        const t = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
        const r = await exited;
        clearTimeout(t);
        return r;
      }
      return exited;
    },
  };

  return new Promise((resolve, reject) => {
    let done = false;
    const finish = (err, match) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      if (err) {
        child.kill('SIGKILL');
        reject(err);
      } else {
        handle.match = match;
        resolve(handle);
      }
    };
    const describe = () => `\n--- ${label} stdout ---\n${out.stdout}\n--- ${label} stderr ---\n` +
      out.stderr;
    const onData = (stream) => (chunk) => {
      out[stream] += chunk.toString('utf8');
      if (out[stream].length > 1 << 20) out[stream] = out[stream].slice(-(1 << 20));
      const m = out[stream].match(ready);
      if (m) finish(null, m);
    };
    child.stdout.on('data', onData('stdout'));
    child.stderr.on('data', onData('stderr'));
    child.on('error', (e) => finish(new Error(`${label}: cannot start ${bin}: ${e.message}`)));
    exited.then(({ code, signal }) => finish(new Error(
      `${label} exited (code ${code}, signal ${signal}) before it was ready${describe()}`)));
    const timer = setTimeout(() => finish(new Error(
      `${label} did not print its listening line within ${START_TIMEOUT_MS} ms${describe()}`)),
    START_TIMEOUT_MS);
  });
}

/** Starts fake-upstream over `scenarios` (a dir), recording every request it receives. */
export async function startFake({ scenarios, mode = 'openai' } = {}) {
  const bin = requireBin('CP_FAKE', 'fake-upstream');
  const dir = tempDir('fake');
  const recordFile = path.join(dir, 'requests.jsonl');
  const h = await startChild('fake-upstream', bin,
    ['--port', '0', '--scenarios', scenarios ?? prepareScenarios(), '--record', recordFile,
      '--mode', mode],
    { ready: /listening on http:\/\/127\.0\.0\.1:(\d+)/, cwd: dir, env: process.env });
  const port = Number(h.match[1]);
  return Object.assign(h, {
    port,
    url: `http://127.0.0.1:${port}`,
    recordFile,
    /** Every request received so far, oldest first: {method, path, query, headers, body}. */
    records() {
      return readRecord(recordFile).filter((r) => r.event === undefined);
    },
    /** Other things the fake saw: {event: "client_closed", uri, model, steps_sent}. */
    events() {
      return readRecord(recordFile).filter((r) => r.event !== undefined);
    },
  });
}

function readRecord(file) {
  if (!fs.existsSync(file)) return [];
  return fs.readFileSync(file, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l));
}

function yamlValue(v) {
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  if (typeof v === 'object' && v !== null) return JSON.stringify(v); // JSON is YAML flow style
  return JSON.stringify(String(v)); // a JSON string is a valid double-quoted YAML scalar
}

/** models.yaml in the seed's list form, or the mapping form when `settings` is given. */
export function modelsYaml(models, settings) {
  const entry = (m, indent) => Object.entries(m)
    .map(([k, v], i) => `${' '.repeat(indent)}${i === 0 ? '- ' : '  '}${k}: ${yamlValue(v)}`)
    .join('\n');
  if (!settings) return models.map((m) => entry(m, 0)).join('\n') + '\n';
  const head = Object.entries(settings).map(([k, v]) => `${k}: ${yamlValue(v)}`).join('\n');
  return `${head}\nmodels:\n${models.map((m) => entry(m, 2)).join('\n')}\n`;
}

/**
 * Starts claude-proxy with a temp models.yaml. `models` entries are written as given; an entry
 * without api_base points at the fake (`fakeUrl` + /v1).
 */
export async function startProxy({ models, fakeUrl, settings, env = {}, debug = true }) {
  const bin = requireBin('CP_BIN', 'claude-proxy');
  const dir = tempDir('proxy');
  const config = path.join(dir, 'models.yaml');
  const full = models.map((m) => ({
    model_id: m.model_id,
    model_name: m.model_name,
    api_base: m.api_base ?? `${fakeUrl}/v1`,
    ...Object.fromEntries(Object.entries(m).filter(([k]) =>
      !['model_id', 'model_name', 'api_base'].includes(k))),
  }));
  fs.writeFileSync(config, modelsYaml(full, settings));
  // Each proxy journals into its own temp dir, never into the user's state directory.
  const journal = path.join(dir, 'journal');
  const args = ['--config', config, '--host', '127.0.0.1', '--port', '0', '--journal', journal];
  if (debug) args.push(debug === 2 ? '-dd' : '-d');
  const childEnv = { ...process.env, ...env };
  delete childEnv.CLAUDE_PROXY_CONFIG;
  const h = await startChild('claude-proxy', bin, args, {
    ready: /ANTHROPIC_BASE_URL=http:\/\/127\.0\.0\.1:(\d+)/,
    cwd: dir,
    env: childEnv,
  });
  const port = Number(h.match[1]);
  return Object.assign(h, { port, url: `http://127.0.0.1:${port}`, config, journal });
}

const SANITIZER_REPORT = /ERROR: (Address|Leak)Sanitizer|runtime error:|SUMMARY: \w+Sanitizer/;

/**
 * The usual pair: the fake over the repo scenarios (with `cwd` substituted) and the proxy with
 * one model per entry of `models` ({model_id: scenario name} or full entries).
 * Returns {fake, proxy, baseURL, records(), stop()}; stop() throws if a sanitizer complained.
 */
export async function startStack({ models, cwd, extraScenarios, settings, env, mode } = {}) {
  const list = Array.isArray(models) ? models
    : Object.entries(models).map(([model_id, model_name]) => ({ model_id, model_name }));
  const fake = await startFake({ scenarios: prepareScenarios({ cwd, extra: extraScenarios }),
    mode });
  let proxy;
  try {
    proxy = await startProxy({ models: list, fakeUrl: fake.url, settings, env });
  } catch (e) {
    await fake.stop();
    throw e;
  }
  return {
    fake,
    proxy,
    baseURL: proxy.url,
    records: () => fake.records(),
    stop: () => stopAll([proxy, fake]),
  };
}

/** Stops every handle; throws if one of them had a sanitizer report or died of a signal. */
async function stopAll(handles) {
  const results = await Promise.all(handles.map((h) => h.stop()));
  const problems = [];
  handles.forEach((h, i) => {
    const r = results[i];
    if (SANITIZER_REPORT.test(h.stderrText())) {
      problems.push(`${h.label} sanitizer report:\n${h.stderrText().slice(-8000)}`);
    } else if (r.signal && r.signal !== 'SIGTERM') {
      problems.push(`${h.label} died with ${r.signal}:\n${h.stderrText().slice(-4000)}`);
    }
  });
  if (problems.length) throw new Error(problems.join('\n\n'));
}

/**
 * Both fakes and one proxy, for direct mode and for switching models mid-conversation: the
 * OpenAI-compatible fake (`openai`) and the strict Anthropic one (`anthropic`), over the same
 * scenarios. An entry with `direct: true` and no api_base points at the Anthropic fake (its bare
 * URL, no /v1); others at the OpenAI fake. `{anthropic}` and `{openai}` in an api_base are
 * replaced by the fakes' URLs. Returns {openai, anthropic, proxy, baseURL, stop()}.
 */
export async function startDualStack({ models, cwd, extraScenarios, settings, env } = {}) {
  const scenarios = prepareScenarios({ cwd, extra: extraScenarios });
  const openai = await startFake({ scenarios, mode: 'openai' });
  let anthropic;
  let proxy;
  try {
    anthropic = await startFake({ scenarios, mode: 'anthropic' });
    const list = models.map((m) => {
      if (m.api_base === undefined) return m.direct ? { ...m, api_base: anthropic.url } : m;
      return { ...m, api_base: m.api_base.replace('{anthropic}', anthropic.url)
        .replace('{openai}', openai.url) };
    });
    proxy = await startProxy({ models: list, fakeUrl: openai.url, settings, env });
  } catch (e) {
    await Promise.all([openai.stop(), anthropic?.stop()]);
    throw e;
  }
  return {
    openai,
    anthropic,
    proxy,
    baseURL: proxy.url,
    stop: () => stopAll([proxy, openai, anthropic]),
  };
}

/** The exact bytes of a recorded request body (fake-upstream's body_b64). */
export function rawBody(record) {
  return Buffer.from(record.body_b64 ?? '', 'base64');
}

/** Runs a short-lived command with a hard timeout; resolves {code, signal, stdout, stderr}. */
export function run(bin, args, { cwd, env, timeoutMs = 30000, input } = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(bin, args, { cwd, env, stdio: ['pipe', 'pipe', 'pipe'] });
    live.add(child);
    let stdout = Buffer.alloc(0);
    let stderr = Buffer.alloc(0);
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.stdout.on('data', (d) => { stdout = Buffer.concat([stdout, d]); });
    child.stderr.on('data', (d) => { stderr = Buffer.concat([stderr, d]); });
    child.on('error', (e) => {
      clearTimeout(timer);
      live.delete(child);
      reject(new Error(`cannot run ${bin}: ${e.message}`));
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      live.delete(child);
      resolve({ code, signal, timedOut, stdout: stdout.toString('utf8'),
        stderr: stderr.toString('utf8'), stdoutBytes: stdout });
    });
    child.stdin.on('error', () => {}); // the child may exit before reading everything
    if (input !== undefined) child.stdin.end(input);
    else child.stdin.end();
  });
}

/** The Claude Code CLI installed by setup.sh (the bin link, else the platform binary). */
export function claudeBin() {
  const candidates = [
    path.join(E2E_DIR, 'node_modules', '.bin', 'claude'),
    path.join(E2E_DIR, 'node_modules', '@anthropic-ai', 'claude-code-linux-x64', 'claude'),
  ];
  for (const c of candidates) {
    try {
      fs.accessSync(c, fs.constants.X_OK);
      const r = spawnSync(c, ['--version'], { timeout: 30000, encoding: 'utf8' });
      if (r.status === 0) return c;
    } catch {
      // try the next one
    }
  }
  throw new Error(`Claude Code CLI not found or not runnable (looked at ${candidates.join(', ')});` +
    ' run tests/e2e/setup.sh');
}

/**
 * Runs Claude Code headless against `baseURL` the way ../shared/CLAUDE_CODE.md shows: temp HOME,
 * only loopback traffic, one retry, and a hard 120 s limit. Returns the run plus `result`, the
 * parsed last stdout line.
 */
export async function runClaude({ baseURL, model, prompt, cwd, timeoutSec = 120 }) {
  const bin = claudeBin();
  const home = tempDir('home');
  const env = {
    PATH: process.env.PATH,
    HOME: home,
    LANG: 'C.UTF-8',
    ANTHROPIC_BASE_URL: baseURL,
    ANTHROPIC_API_KEY: 'test',
    CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: '1',
    DISABLE_TELEMETRY: '1',
    DISABLE_AUTOUPDATER: '1',
    CLAUDE_CODE_MAX_RETRIES: '1',
    IS_SANDBOX: '1',
  };
  const r = await run('timeout', ['-k', '5', String(timeoutSec), bin, '-p', prompt, '--model', model,
    '--output-format', 'json', '--dangerously-skip-permissions'],
  { cwd, env, timeoutMs: (timeoutSec + 15) * 1000 });
  const last = r.stdout.trim().split('\n').filter(Boolean).pop();
  let result = null;
  try {
    result = last ? JSON.parse(last) : null;
  } catch {
    result = null;
  }
  return { ...r, result, home };
}

/** Parses an Anthropic SSE body into [{event, data}] (data JSON-parsed when it can be). */
export function parseSSE(text) {
  const events = [];
  for (const block of text.split(/\r?\n\r?\n/)) {
    let event = null;
    const data = [];
    for (const line of block.split(/\r?\n/)) {
      if (line.startsWith('event:')) event = line.slice(6).trim();
      else if (line.startsWith('data:')) data.push(line.slice(5).replace(/^ /, ''));
    }
    if (event === null && data.length === 0) continue;
    const raw = data.join('\n');
    let parsed = raw;
    try {
      parsed = JSON.parse(raw);
    } catch {
      // keep the raw text
    }
    events.push({ event, data: parsed });
  }
  return events;
}

const DELTA_FOR_BLOCK = {
  text: ['text_delta', 'citations_delta'],
  tool_use: ['input_json_delta'],
  thinking: ['thinking_delta', 'signature_delta'],
  redacted_thinking: [],
};

/**
 * Checks a complete, successful Anthropic event stream against the ordering rules of
 * PROTOCOL.md §C.3 (the rules Claude Code's own consumer enforces). Throws with the first
 * violation and the whole stream; returns the blocks as {type, ...start, text|json|thinking}.
 */
export function validateStream(events, { complete = true } = {}) {
  const fail = (msg) => {
    throw new Error(`${msg}\nstream: ${JSON.stringify(events, null, 1).slice(0, 6000)}`);
  };
  const blocks = [];
  let state = 'start';
  let deltas = 0;
  events.forEach((ev, i) => {
    const d = ev.data;
    if (ev.event === null) fail(`frame ${i} has no event: line`);
    if (typeof d !== 'object' || d === null) fail(`frame ${i} data is not JSON: ${d}`);
    if (d.type !== ev.event) fail(`frame ${i}: event ${ev.event} carries data.type ${d.type}`);
    if (ev.event === 'ping') return;
    if (ev.event === 'error') {
      if (complete) fail(`frame ${i}: error event in a stream expected to succeed`);
      state = 'error';
      return;
    }
    if (state === 'start') {
      if (ev.event !== 'message_start') fail(`frame ${i}: first event is ${ev.event}`);
      if (d.message?.role !== 'assistant' || !Array.isArray(d.message?.content)) {
        fail('message_start without an assistant message');
      }
      state = 'blocks';
      return;
    }
    if (state === 'error') fail(`frame ${i}: ${ev.event} after an error event`);
    switch (ev.event) {
    case 'content_block_start':
      if (state !== 'blocks') fail(`frame ${i}: block start after message_delta`);
      if (d.index !== blocks.length) fail(`frame ${i}: block index ${d.index}, expected ${blocks.length}`);
      if (blocks.some((b) => b.open)) fail(`frame ${i}: block ${d.index} starts while another is open`);
      blocks.push({ ...d.content_block, open: true, acc: '' });
      break;
    case 'content_block_delta': {
      const b = blocks[d.index];
      if (!b || !b.open) fail(`frame ${i}: delta for index ${d.index}, which is not open`);
      if (!DELTA_FOR_BLOCK[b.type]?.includes(d.delta?.type)) {
        fail(`frame ${i}: ${d.delta?.type} for a ${b.type} block`);
      }
      if (d.delta.type === 'text_delta') b.text += d.delta.text;
      if (d.delta.type === 'input_json_delta') b.acc += d.delta.partial_json;
      if (d.delta.type === 'thinking_delta') b.thinking += d.delta.thinking;
      if (d.delta.type === 'signature_delta') b.signature = d.delta.signature;
      break;
    }
    case 'content_block_stop': {
      const b = blocks[d.index];
      if (!b || !b.open) fail(`frame ${i}: stop for index ${d.index}, which is not open`);
      b.open = false;
      break;
    }
    case 'message_delta':
      if (state !== 'blocks') fail(`frame ${i}: second message_delta`);
      if (blocks.some((b) => b.open)) fail(`frame ${i}: message_delta while a block is open`);
      if (typeof d.usage?.output_tokens !== 'number') fail('message_delta without usage.output_tokens');
      if (!d.delta || !('stop_reason' in d.delta)) fail('message_delta without delta.stop_reason');
      state = 'delta';
      deltas++;
      break;
    case 'message_stop':
      if (state !== 'delta') fail(`frame ${i}: message_stop without message_delta before it`);
      state = 'stopped';
      break;
    default:
      fail(`frame ${i}: unknown event ${ev.event}`);
    }
  });
  if (complete && state !== 'stopped') fail('stream did not end with message_stop');
  if (complete && deltas !== 1) fail(`expected one message_delta, got ${deltas}`);
  return blocks.map(({ open, acc, ...b }) => {
    if (b.type === 'tool_use') {
      try {
        b.input = acc === '' ? {} : JSON.parse(acc);
      } catch {
        fail(`tool_use block ${b.id}: partial_json does not concatenate to JSON: ${acc}`);
      }
    }
    return b;
  });
}
