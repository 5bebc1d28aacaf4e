// GET /api/ps through the official `ollama` client against models loaded on demand (LLORCH_URL:
// orchestratord with a models folder, LLORCH_MODEL one of its models, not loaded yet): only
// loaded models are listed, each with its memory estimate and the time its idle TTL (or the
// request's keep_alive) unloads it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ollama, model, eventually } from './support.mjs';

const listed = async () => (await ollama.ps()).models.find((m) => m.name === model);

test('ps lists a model only once loaded, with its size and when it expires', async () => {
  assert.equal(await listed(), undefined, 'not loaded yet');
  const before = Date.now();
  const r = await ollama.generate({ model, prompt: 'Hi', stream: false, keep_alive: '2m', options: { num_predict: 2 } });
  assert.equal(r.done, true);
  const m = await listed();
  assert.ok(m, JSON.stringify(await ollama.ps()));
  assert.ok(m.size > 0, `size ${m.size}`);
  assert.equal(m.size_vram, 0, 'loaded on the CPU');
  assert.ok(m.expires_at instanceof Date || typeof m.expires_at === 'string');
  const expires = new Date(m.expires_at).getTime();
  // keep_alive 2m from the end of the request (RFC 3339 to the second).
  assert.ok(expires >= before + 118_000, `${m.expires_at} is less than 2m away`);
  assert.ok(expires <= Date.now() + 121_000, `${m.expires_at} is more than 2m away`);
});

test('keep_alive -1 never expires; keep_alive 0 unloads and ps no longer lists it', async () => {
  await ollama.generate({ model, prompt: 'Hi', stream: false, keep_alive: -1, options: { num_predict: 2 } });
  const m = await listed();
  assert.ok(m);
  assert.ok(new Date(m.expires_at).getUTCFullYear() >= 2900, String(m.expires_at));
  await ollama.generate({ model, prompt: '', keep_alive: 0 });
  assert.ok(await eventually(async () => (await listed()) === undefined, 30000));
});
