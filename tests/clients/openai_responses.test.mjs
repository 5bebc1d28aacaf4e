// The Responses API through the official `openai` client: run as a chat completion.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import OpenAI from 'openai';
import { openai, model, cities, weatherTool } from './support.mjs';

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
    openai.responses.create({ model, input: 'Hi', tools: [{ type: 'web_search' }] }),
    (e) => e instanceof OpenAI.BadRequestError && e.param === 'tools[0].type',
  );
  await assert.rejects(
    openai.responses.create({ model: 'no-such-model', input: 'Hi' }),
    (e) => e instanceof OpenAI.NotFoundError,
  );
});

// The chat tool's shape in the Responses API: the function's fields at the top level.
const responsesTool = { type: 'function', ...weatherTool.function };
const toolAsk = {
  model, input: 'What is the weather in Paris?', tools: [responsesTool], tool_choice: 'required',
  parallel_tool_calls: false, temperature: 0, max_output_tokens: 200,
};

function assertCallItem(item) {
  assert.equal(item.type, 'function_call', JSON.stringify(item));
  assert.equal(item.name, 'get_weather');
  assert.ok(item.call_id.length > 0);
  assert.ok(cities.includes(JSON.parse(item.arguments).city), item.arguments);
}

test('function tools answer with a function_call item', async () => {
  const r = await openai.responses.create(toolAsk);
  const calls = r.output.filter((o) => o.type === 'function_call');
  assert.equal(calls.length, 1, JSON.stringify(r.output));
  assertCallItem(calls[0]);
});

test('a streamed function call arrives as function_call_arguments deltas', async () => {
  const stream = openai.responses.stream(toolAsk);
  let args = '';
  for await (const ev of stream) if (ev.type === 'response.function_call_arguments.delta') args += ev.delta;
  const final = await stream.finalResponse();
  const call = final.output.find((o) => o.type === 'function_call');
  assertCallItem(call);
  assert.equal(args, call.arguments);
});

test('the turn after the call, with function_call_output, is answered', async () => {
  const first = await openai.responses.create(toolAsk);
  const call = first.output.find((o) => o.type === 'function_call');
  const r = await openai.responses.create({
    model, tools: [responsesTool], temperature: 0, max_output_tokens: 8,
    input: [
      { role: 'user', content: 'What is the weather in Paris?' },
      { type: 'function_call', call_id: call.call_id, name: call.name, arguments: call.arguments },
      { type: 'function_call_output', call_id: call.call_id, output: '{"sky": "sunny"}' },
    ],
  });
  assert.equal(r.output[0].type, 'message', JSON.stringify(r.output));
  assert.ok(r.usage.input_tokens > 20);
});

test('text.format json_schema constrains the answer to the schema', async () => {
  const r = await openai.responses.create({
    model, input: 'Pick a city', temperature: 0, max_output_tokens: 200,
    text: { format: { type: 'json_schema', name: 'city', schema: {
      type: 'object', properties: { city: { type: 'string', enum: cities } }, required: ['city'],
      additionalProperties: false } } },
  });
  assert.ok(cities.includes(JSON.parse(r.output_text).city), r.output_text);
});
