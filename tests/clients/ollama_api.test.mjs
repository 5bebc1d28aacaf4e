// The rest of the Ollama API through the official `ollama` client (and fetch where the client
// has no call): liveness, version, show, ps, the name:tag form, the load and unload idioms,
// `system`, `format`, and errors as the client prints them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { base, ollama, model } from './support.mjs';

test('HEAD / and GET / answer 200 like an Ollama server', async () => {
  const head = await fetch(`${base}/`, { method: 'HEAD' });
  assert.equal(head.status, 200);
  const get = await fetch(`${base}/`);
  assert.equal(get.status, 200);
  assert.match(await get.text(), /Ollama is running/);
});

test('version', async () => {
  const v = await ollama.version();
  assert.match(v.version, /^\d+\.\d+\.\d+/);
});

test('show names the context length', async () => {
  const s = await ollama.show({ model });
  assert.equal(s.details.format, 'gguf');
  const ctx = Object.entries(s.model_info).find(([k]) => k.endsWith('.context_length'));
  assert.ok(ctx && ctx[1] > 0, JSON.stringify(s.model_info));
});

test('ps lists the loaded model', async () => {
  const r = await ollama.ps();
  assert.ok(r.models.some((m) => m.name === model), JSON.stringify(r));
  assert.ok(r.models.every((m) => typeof m.expires_at === 'string'));
});

test('name:latest is the model itself', async () => {
  const r = await ollama.generate({ model: `${model}:latest`, prompt: 'Hi', stream: false, options: { num_predict: 2 } });
  assert.equal(r.done, true);
  assert.equal(r.model, `${model}:latest`);
  await ollama.show({ model: `${model}:latest` });
});

test('the load idiom (model alone) answers done without generating', async () => {
  const g = await ollama.generate({ model, prompt: '', stream: false });
  assert.equal(g.done, true);
  assert.equal(g.response, '');
  assert.equal(g.done_reason, 'load');
  const c = await ollama.chat({ model, messages: [], stream: false });
  assert.equal(c.done, true);
  assert.equal(c.message.content, '');
});

test('the unload idiom (keep_alive 0) answers done without generating', async () => {
  const g = await ollama.generate({ model, prompt: '', keep_alive: 0, stream: false });
  assert.equal(g.done, true);
  assert.equal(g.response, '');
  assert.equal(g.done_reason, 'unload');
  assert.ok(!g.eval_count, 'nothing generated');
});

test('system on generate is part of the prompt', async () => {
  const ask = (extra) =>
    ollama.generate({ model, prompt: 'Hi', stream: false, options: { num_predict: 8, temperature: 0, seed: 4 }, ...extra });
  const plain = await ask({});
  const withSystem = await ask({ system: 'You are a pirate. Answer in pirate speak, always, with many words.' });
  assert.ok(withSystem.prompt_eval_count > plain.prompt_eval_count, `${withSystem.prompt_eval_count} vs ${plain.prompt_eval_count}`);
});

test('format json constrains the answer to JSON', async () => {
  const r = await ollama.generate({
    model, prompt: 'Hi', raw: true, format: 'json', stream: false, options: { num_predict: 30, temperature: 0 },
  });
  assert.match(r.response.trimStart(), /^\{/, r.response);
});

test('an unknown model is an error the client prints', async () => {
  await assert.rejects(ollama.generate({ model: 'no-such-model', prompt: 'Hi', stream: false }), (e) => {
    assert.equal(e.status_code, 404);
    assert.match(e.message, /no-such-model/);
    return true;
  });
});

test('pull is refused with what llama-orch does instead', async () => {
  await assert.rejects(ollama.pull({ model: 'llama3', stream: false }), (e) => {
    assert.equal(e.status_code, 501);
    assert.match(e.message, /does not pull models/);
    return true;
  });
  for (const call of [() => ollama.delete({ model }), () => ollama.copy({ source: model, destination: 'x' })])
    await assert.rejects(call(), (e) => e.status_code === 501 && /llama-orch/.test(e.message));
});

test('errors under /api are {"error": message}', async () => {
  const r = await fetch(`${base}/api/nope`);
  assert.equal(r.status, 404);
  const body = await r.json();
  assert.deepEqual(Object.keys(body), ['error']);
  assert.equal(typeof body.error, 'string');
  const bad = await fetch(`${base}/api/generate`, { method: 'POST', body: '{"model": ' });
  assert.equal(bad.status, 400);
  assert.match((await bad.json()).error, /not valid JSON/);
});
