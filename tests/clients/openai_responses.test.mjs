// The Responses API through the official `openai` client: run as a chat completion.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import OpenAI from 'openai';
import { openai, model } from './support.mjs';

test('responses.create with text input answers a response with output_text', async () => {
  const r = await openai.responses.create({ model, input: 'Hi', max_output_tokens: 5 });
  assert.equal(r.object, 'response');
  assert.ok(r.id.startsWith('resp_'), r.id);
  assert.ok(['completed', 'incomplete'].includes(r.status), r.status);
  assert.equal(r.output[0].type, 'message');
  assert.equal(r.output[0].role, 'assistant');
  assert.equal(r.output[0].content[0].type, 'output_text');
  assert.equal(typeof r.output_text, 'string');
  assert.equal(r.output_text, r.output[0].content[0].text);
  assert.ok(r.usage.output_tokens > 0 && r.usage.output_tokens <= 5, JSON.stringify(r.usage));
  assert.ok(r.usage.input_tokens > 0);
  assert.equal(r.usage.total_tokens, r.usage.input_tokens + r.usage.output_tokens);
});

test('message input and instructions reach the model', async () => {
  const ask = (extra) =>
    openai.responses.create({
      model, max_output_tokens: 3, temperature: 0,
      input: [{ role: 'user', content: [{ type: 'input_text', text: 'Hello there' }] }], ...extra,
    });
  const plain = await ask({});
  const instructed = await ask({ instructions: 'Answer in one word.' });
  assert.ok(instructed.usage.input_tokens > plain.usage.input_tokens,
    `${instructed.usage.input_tokens} vs ${plain.usage.input_tokens}`);
});

test('responses.stream delivers response.* events and the final response', async () => {
  const stream = openai.responses.stream({ model, input: 'Hi', max_output_tokens: 6 });
  const types = [];
  let deltas = '';
  for await (const ev of stream) {
    types.push(ev.type);
    if (ev.type === 'response.output_text.delta') deltas += ev.delta;
  }
  const final = await stream.finalResponse();
  assert.equal(types[0], 'response.created');
  assert.ok(types.includes('response.output_text.delta'), types.join(','));
  assert.ok(['response.completed', 'response.incomplete'].includes(types.at(-1)), types.at(-1));
  // A response cut by max_output_tokens ends with response.incomplete, which the SDK's helper
  // does not take as the final snapshot: the text is the one it assembled from the deltas.
  assert.equal(final.output[0].content[0].text, deltas);
  assert.ok(deltas.length > 0);
});

test('fields the Responses API cannot honour here are refused by name', async () => {
  await assert.rejects(
    openai.responses.create({ model, input: 'Hi', previous_response_id: 'resp_x' }),
    (e) => e instanceof OpenAI.BadRequestError && e.param === 'previous_response_id',
  );
  await assert.rejects(
    openai.responses.create({ model, input: 'Hi', tools: [{ type: 'function', name: 'f', parameters: {} }] }),
    (e) => e instanceof OpenAI.BadRequestError && e.param === 'tools',
  );
  await assert.rejects(
    openai.responses.create({ model: 'no-such-model', input: 'Hi' }),
    (e) => e instanceof OpenAI.NotFoundError,
  );
});
