// Embeddings through the official clients: OpenAI's embeddings.create (the SDK asks for base64
// and decodes it), Ollama's embed and its older embeddings call, on a pool whose table says
// embeddings = true (LLORCH_EMBED_MODEL); errors as the clients print them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import OpenAI from 'openai';
import { base, openai, ollama, model } from './support.mjs';

const embedModel = process.env.LLORCH_EMBED_MODEL ?? 'tiny-embed';

function cosine(a, b) {
  let dot = 0, na = 0, nb = 0;
  for (let i = 0; i < a.length; ++i) { dot += a[i] * b[i]; na += a[i] * a[i]; nb += b[i] * b[i]; }
  return dot / Math.sqrt(na * nb);
}

function isVector(v, length) {
  assert.ok(Array.isArray(v), `not an array: ${typeof v}`);
  assert.ok(v.length > 0);
  if (length !== undefined) assert.equal(v.length, length);
  assert.ok(v.every((x) => typeof x === 'number' && Number.isFinite(x)));
  assert.ok(v.some((x) => x !== 0), 'an all-zero vector');
}

test('embeddings.create with one string answers one vector and the usage', async () => {
  const r = await openai.embeddings.create({ model: embedModel, input: 'The quick brown fox' });
  assert.equal(r.object, 'list');
  assert.equal(r.model, embedModel);
  assert.equal(r.data.length, 1);
  assert.equal(r.data[0].object, 'embedding');
  assert.equal(r.data[0].index, 0);
  isVector(r.data[0].embedding);
  assert.ok(r.usage.prompt_tokens > 0, JSON.stringify(r.usage));
  assert.equal(r.usage.total_tokens, r.usage.prompt_tokens);
});

test('a batch answers one vector per input, in input order', async () => {
  const texts = ['alpha beta', 'The quick brown fox', 'alpha beta', 'zebra'];
  const batch = await openai.embeddings.create({ model: embedModel, input: texts });
  assert.equal(batch.data.length, 4);
  batch.data.forEach((d, i) => assert.equal(d.index, i));
  const n = batch.data[0].embedding.length;
  batch.data.forEach((d) => isVector(d.embedding, n));
  // The same text gives the same vector within a batch; different texts differ. (Across
  // requests llama-server's vectors for a text depend on the batch it came in with this
  // random-weight model, so only one batch is compared.)
  assert.ok(cosine(batch.data[0].embedding, batch.data[2].embedding) > 0.9999);
  assert.ok(cosine(batch.data[0].embedding, batch.data[1].embedding) < 0.9999);
  assert.ok(cosine(batch.data[0].embedding, batch.data[3].embedding) < 0.9999);
  assert.ok(cosine(batch.data[1].embedding, batch.data[3].embedding) < 0.9999);
});

test('encoding_format float and the SDK default (base64) carry the same numbers', async () => {
  const f = await openai.embeddings.create({ model: embedModel, input: 'hello', encoding_format: 'float' });
  const b = await openai.embeddings.create({ model: embedModel, input: 'hello' });
  const raw = await (await fetch(`${base}/v1/embeddings`, {
    method: 'POST', headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model: embedModel, input: 'hello', encoding_format: 'base64' }),
  })).json();
  assert.equal(typeof raw.data[0].embedding, 'string');
  assert.equal(f.data[0].embedding.length, b.data[0].embedding.length);
  f.data[0].embedding.forEach((x, i) => assert.ok(Math.abs(x - b.data[0].embedding[i]) < 1e-6));
});

test('ollama embed answers a vector per input, the same as the OpenAI endpoint', async () => {
  const r = await ollama.embed({ model: `${embedModel}:latest`, input: ['hello', 'zebra'] });
  assert.equal(r.embeddings.length, 2);
  r.embeddings.forEach((v) => isVector(v));
  assert.ok(r.prompt_eval_count > 0);
  const o = await openai.embeddings.create({ model: embedModel, input: 'hello', encoding_format: 'float' });
  assert.ok(cosine(r.embeddings[0], o.data[0].embedding) > 0.9999);
});

test('ollama embeddings (the older call) answers one vector', async () => {
  const r = await ollama.embeddings({ model: embedModel, prompt: 'hello' });
  isVector(r.embedding);
});

test('a model without an embeddings pool is a 404 that says what to set', async () => {
  await assert.rejects(openai.embeddings.create({ model, input: 'x' }),
    (e) => e instanceof OpenAI.NotFoundError && /embeddings = true/.test(e.message));
  await assert.rejects(ollama.embed({ model: 'no-such-model', input: 'x' }),
    (e) => /no-such-model/.test(e.message) && e.status_code === 404);
});

test('what cannot be honoured is refused naming the field', async () => {
  await assert.rejects(openai.embeddings.create({ model: embedModel, input: 'x', dimensions: 8 }),
    (e) => e instanceof OpenAI.BadRequestError && e.param === 'dimensions');
  await assert.rejects(openai.embeddings.create({ model: embedModel, input: [1, 2, 3] }),
    (e) => e instanceof OpenAI.BadRequestError && /token arrays/.test(e.message));
  await assert.rejects(openai.embeddings.create({ model: embedModel, input: ['ok', ''] }),
    (e) => e instanceof OpenAI.BadRequestError && /input\[1\]/.test(e.message));
  await assert.rejects(ollama.embed({ model: embedModel, input: 'x', truncate: true }),
    (e) => /truncate/.test(e.message) && e.status_code === 400);
});
