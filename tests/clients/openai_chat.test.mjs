// Chat completions through the official `openai` client.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import OpenAI from 'openai';
import { base, openai, model, cancelledTotal, eventually } from './support.mjs';

const messages = [{ role: 'user', content: 'Hi' }];

test('a whole chat completion', async () => {
  const r = await openai.chat.completions.create({ model, messages, max_tokens: 5, ignore_eos: true });
  assert.equal(r.object, 'chat.completion');
  assert.equal(r.model, model);
  assert.equal(r.choices.length, 1);
  assert.equal(r.choices[0].message.role, 'assistant');
  assert.equal(typeof r.choices[0].message.content, 'string');
  assert.ok(r.choices[0].message.content.length > 0);
  assert.equal(r.choices[0].finish_reason, 'length');
});

test('a streamed chat completion', async () => {
  const stream = await openai.chat.completions.create({
    model, messages, max_tokens: 6, ignore_eos: true, stream: true,
  });
  let text = '';
  let finish = null;
  const ids = new Set();
  for await (const chunk of stream) {
    assert.equal(chunk.object, 'chat.completion.chunk');
    ids.add(chunk.id);
    const c = chunk.choices[0];
    if (c?.delta?.content) text += c.delta.content;
    if (c?.finish_reason) finish = c.finish_reason;
  }
  assert.ok(text.length > 0);
  assert.equal(finish, 'length');
  assert.equal(ids.size, 1, 'one id for the whole completion');
});

test('seed and temperature 0 make the same text twice', async () => {
  const ask = () =>
    openai.chat.completions.create({ model, messages, max_tokens: 8, temperature: 0, seed: 5, ignore_eos: true });
  const [a, b] = [await ask(), await ask()];
  assert.equal(a.choices[0].message.content, b.choices[0].message.content);
});

test('aborting a stream ends it in the client', async () => {
  const ac = new AbortController();
  const stream = await openai.chat.completions.create(
    { model, messages, max_tokens: 400, ignore_eos: true, stream: true },
    { signal: ac.signal },
  );
  let chunks = 0;
  // The SDK ends the iteration quietly when its own signal aborts it (after the chunks it had
  // already read). Node's fetch keeps the connection and drains the rest of the body, so the
  // server sees no disconnect: the task runs to its end (max_tokens bounds it).
  for await (const _ of stream) if (++chunks === 2) ac.abort();
  assert.ok(chunks < 400, `${chunks} chunks: the whole answer came`);
  const next = await openai.chat.completions.create({ model, messages, max_tokens: 2 });
  assert.equal(next.choices[0].finish_reason, 'length');
});

test('a client that closes its connection mid-stream cancels the task', async () => {
  const before = await cancelledTotal();
  const body = JSON.stringify({ model, messages, max_tokens: 900, ignore_eos: true, stream: true });
  await new Promise((resolve, reject) => {
    const req = http.request(`${base}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' } }, (res) => {
      assert.equal(res.statusCode, 200);
      res.once('data', () => {
        res.destroy();
        resolve();
      });
    });
    req.on('error', reject);
    req.end(body);
  });
  assert.ok(await eventually(async () => (await cancelledTotal()) > before), 'the task was cancelled');
});

test('an unknown model is a NotFoundError', async () => {
  await assert.rejects(
    openai.chat.completions.create({ model: 'no-such-model', messages }),
    (e) => e instanceof OpenAI.NotFoundError && e.status === 404 && /no-such-model|model/.test(e.message),
  );
});

test('models.list names the pool model', async () => {
  const ids = [];
  for await (const m of openai.models.list()) ids.push(m.id);
  assert.ok(ids.includes(model), ids.join(','));
});

test('the first streamed delta names the role, so the SDK can assemble the message', async () => {
  const runner = openai.chat.completions.stream({ model, messages, max_tokens: 5, ignore_eos: true });
  const final = await runner.finalChatCompletion();
  assert.equal(final.choices[0].message.role, 'assistant');
  assert.ok(final.choices[0].message.content.length > 0);
  assert.equal(final.choices[0].finish_reason, 'length');
});

test('usage counts prompt, completion and total tokens', async () => {
  const r = await openai.chat.completions.create({ model, messages, max_tokens: 4, ignore_eos: true });
  assert.equal(r.usage.completion_tokens, 4);
  assert.ok(r.usage.prompt_tokens > 0, JSON.stringify(r.usage));
  assert.equal(r.usage.total_tokens, r.usage.prompt_tokens + r.usage.completion_tokens);
});

test('stream_options.include_usage ends the stream with a usage chunk without choices', async () => {
  const chunks = [];
  for await (const c of await openai.chat.completions.create({
    model, messages, max_tokens: 3, ignore_eos: true, stream: true, stream_options: { include_usage: true },
  })) chunks.push(c);
  const last = chunks.at(-1);
  assert.deepEqual(last.choices, []);
  assert.equal(last.usage.completion_tokens, 3);
  assert.ok(last.usage.prompt_tokens > 0);
  assert.equal(last.usage.total_tokens, last.usage.prompt_tokens + 3);
  assert.ok(chunks.slice(0, -1).every((c) => c.choices.length === 1));
});

test('content as an array of text parts is read as its text', async () => {
  const ask = (content) =>
    openai.chat.completions.create({ model, messages: [{ role: 'user', content }], max_tokens: 6, temperature: 0, seed: 2, ignore_eos: true });
  const parts = await ask([{ type: 'text', text: 'Hello' }]);
  const plain = await ask('Hello');
  assert.equal(parts.choices[0].message.content, plain.choices[0].message.content);
});

test('response_format is checked', async () => {
  await assert.rejects(
    openai.chat.completions.create({ model, messages, max_tokens: 2, response_format: { type: 'yaml' } }),
    (e) => e instanceof OpenAI.BadRequestError && e.param === 'response_format.type',
  );
});

test('response_format json_schema constrains the answer to the schema', async () => {
  const r = await openai.chat.completions.create({
    model, messages, max_tokens: 40, temperature: 0,
    response_format: {
      type: 'json_schema',
      json_schema: {
        name: 'answer',
        schema: { type: 'object', properties: { ok: { type: 'boolean' } }, required: ['ok'], additionalProperties: false },
      },
    },
  });
  const parsed = JSON.parse(r.choices[0].message.content);
  assert.equal(typeof parsed.ok, 'boolean', r.choices[0].message.content);
  assert.equal(r.choices[0].finish_reason, 'stop');
});

test('logit_bias reaches the engine: a +100 bias makes every token the same', async () => {
  const deltas = [];
  for await (const c of await openai.chat.completions.create({
    model, messages, max_tokens: 6, ignore_eos: true, stream: true, logit_bias: { 65: 100 },
  })) if (c.choices[0]?.delta?.content) deltas.push(c.choices[0].delta.content);
  assert.ok(deltas.length > 1, JSON.stringify(deltas));
  assert.ok(deltas.every((d) => d === deltas[0]), JSON.stringify(deltas));
});
