// The real Claude Code CLI (pinned 2.1.331, installed by setup.sh) doing a Write tool turn
// through claude-proxy to the fake upstream, in two provider dialects: OpenAI-style fragmented
// arguments, and Gemini-style whole arguments in one chunk ending with finish_reason "stop".
// Done when the file exists with what the fake said and the final result is the fake's text.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';

import { claudeBin, runClaude, startStack, tempDir } from './lib/harness.mjs';

const FINAL_TEXT = 'Done: wrote the file.';

for (const [scenario, label] of [['tool_fragmented', 'fragmented tool arguments'],
  ['tool_oneshot', 'one-chunk tool call with finish_reason stop']]) {
  test(`Claude Code writes out.txt through the proxy: ${label}`, { timeout: 180000 }, async (t) => {
    claudeBin(); // fails clearly when setup.sh has not been run
    const cwd = fs.realpathSync(tempDir('cwd'));
    const modelId = `cc-${scenario}`;
    const stack = await startStack({ cwd, models: [{ model_id: modelId, model_name: scenario }] });
    t.after(() => stack.stop());

    const r = await runClaude({ baseURL: stack.baseURL, model: modelId, prompt: 'create out.txt',
      cwd });
    const ctx = () => `exit ${r.code} ${r.signal ?? ''}${r.timedOut ? ' (timed out)' : ''}\n` +
      `--- claude stdout ---\n${r.stdout.slice(-4000)}\n--- claude stderr ---\n` +
      `${r.stderr.slice(-4000)}\n--- proxy stderr ---\n${stack.proxy.stderrText().slice(-6000)}`;

    assert.equal(r.code, 0, ctx());
    assert.ok(r.result, `a JSON result line\n${ctx()}`);
    assert.equal(r.result.is_error, false, ctx());
    assert.equal(r.result.result, FINAL_TEXT, ctx());
    const file = path.join(cwd, 'out.txt');
    assert.ok(fs.existsSync(file), `out.txt created\n${ctx()}`);
    assert.equal(fs.readFileSync(file, 'utf8'), 'hello from the fake\n');

    // What the upstream saw: the tool turn, then the same conversation with the result.
    const up = stack.records().filter((x) => x.path.endsWith('/chat/completions'));
    assert.ok(up.length >= 2, `at least two upstream requests, got ${up.length}\n${ctx()}`);
    assert.ok(up.every((x) => x.body.model === scenario));
    const last = up.at(-1).body.messages;
    const ai = last.findIndex((m) => m.role === 'assistant' && m.tool_calls?.length);
    assert.ok(ai > 0, 'the assistant tool call is in the second request');
    assert.equal(last[ai + 1]?.role, 'tool');
    assert.equal(last[ai + 1].tool_call_id, last[ai].tool_calls[0].id);
  });
}
