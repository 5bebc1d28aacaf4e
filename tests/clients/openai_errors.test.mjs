// Errors as the `openai` client sees them: every /v1 error in OpenAI's shape, so that the SDK's
// error classes carry the message, the param and the code.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import OpenAI from 'openai';
import { base, openai, model } from './support.mjs';

const messages = [{ role: 'user', content: 'Hi' }];

// The raw answer of a request, for shapes the SDK would hide.
async function raw(method, path, body, headers = { 'content-type': 'application/json' }) {
  const r = await fetch(`${base}${path}`, { method, headers, body });
  return { status: r.status, body: await r.json() };
}

function openaiShaped(body) {
  assert.equal(typeof body.error, 'object', JSON.stringify(body));
  assert.equal(typeof body.error.message, 'string');
  assert.ok(body.error.message.length > 0);
  assert.equal(typeof body.error.type, 'string');
  assert.ok('param' in body.error && 'code' in body.error, JSON.stringify(body));
}

test('an unknown /v1 path is a 404 in OpenAI shape', async () => {
  const r = await raw('GET', '/v1/no-such-thing');
  assert.equal(r.status, 404);
  openaiShaped(r.body);
  await assert.rejects(openai.get('/no-such-thing'), (e) => e instanceof OpenAI.NotFoundError && /no such endpoint/.test(e.message));
});

test('a wrong method on a /v1 path is a 405 in OpenAI shape', async () => {
  const r = await raw('GET', '/v1/chat/completions');
  assert.equal(r.status, 405);
  openaiShaped(r.body);
});

test('a body that is not JSON says so', async () => {
  const r = await raw('POST', '/v1/chat/completions', '{"model": "tiny", ');
  assert.equal(r.status, 400);
  openaiShaped(r.body);
  assert.match(r.body.error.message, /not valid JSON/);
});

test('a body with invalid UTF-8 says so', async () => {
  const bytes = Buffer.concat([
    Buffer.from(`{"model":"${model}","messages":[{"role":"user","content":"`),
    Buffer.from([0xff, 0xfe]),
    Buffer.from('"}]}'),
  ]);
  const r = await raw('POST', '/v1/chat/completions', bytes);
  assert.equal(r.status, 400);
  openaiShaped(r.body);
  assert.match(r.body.error.message, /UTF-8/);
});

test('stream as a string is refused, naming the param', async () => {
  await assert.rejects(
    openai.chat.completions.create({ model, messages, stream: 'true' }),
    (e) => e instanceof OpenAI.BadRequestError && e.param === 'stream' && /boolean/.test(e.message),
  );
});

for (const [param, value] of [['temperature', 3], ['temperature', -0.5], ['top_p', 1.5], ['top_p', -1], ['presence_penalty', 2.5]]) {
  test(`${param} ${value} is out of range`, async () => {
    await assert.rejects(
      openai.chat.completions.create({ model, messages, max_tokens: 2, [param]: value }),
      (e) => e instanceof OpenAI.BadRequestError && e.param === param && e.status === 400,
    );
  });
}

test('n > 1 is refused, naming n', async () => {
  await assert.rejects(
    openai.chat.completions.create({ model, messages, max_tokens: 2, n: 2 }),
    (e) => e instanceof OpenAI.BadRequestError && e.param === 'n',
  );
});

test('fields llama-orch cannot honour are refused by name, not dropped', async () => {
  await assert.rejects(
    openai.chat.completions.create({ model, messages, max_tokens: 2, logprobs: true }),
    (e) => e instanceof OpenAI.BadRequestError && e.param === 'logprobs',
  );
  await assert.rejects(
    openai.chat.completions.create({
      model, messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url: 'data:,' } }] }],
    }),
    (e) => e instanceof OpenAI.BadRequestError && e.param === 'messages[0].content[0].type',
  );
});

test('models.retrieve finds the model, and 404s an unknown one', async () => {
  const m = await openai.models.retrieve(model);
  assert.equal(m.id, model);
  assert.equal(m.object, 'model');
  await assert.rejects(openai.models.retrieve('no-such-model'), (e) => e instanceof OpenAI.NotFoundError);
});
