// Tool calling through the official `openai` client, on the real llama-server. The tiny model has
// random weights: its chat template opens the assistant's turn with a marker when tools are
// offered, and its embeddings make it answer that marker with a tool call under greedy decoding
// (temperature 0); llama-server's grammar then makes the call well formed (src/model/README.md).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { openai, model, cities, weatherTool } from './support.mjs';

const timeTool = {
  type: 'function',
  function: { name: 'get_time', description: 'The time', parameters: { type: 'object', properties: {} } },
};
const question = [{ role: 'user', content: 'What is the weather in Paris?' }];
// One call (parallel_tool_calls: false) keeps the answer short: whitespace is free between JSON
// tokens and greedy decoding repeats it, so a call takes tens of tokens.
const ask = {
  model, messages: question, tools: [weatherTool], tool_choice: 'required', parallel_tool_calls: false,
  temperature: 0, max_tokens: 200,
};

function assertWeatherCall(call) {
  assert.equal(call.type, 'function');
  assert.ok(typeof call.id === 'string' && call.id.length > 0, `call id: ${call.id}`);
  assert.equal(call.function.name, 'get_weather');
  const args = JSON.parse(call.function.arguments);
  assert.ok(cities.includes(args.city), `arguments ${call.function.arguments}`);
}

test('tool_choice "required" answers with a well-formed call', async () => {
  const r = await openai.chat.completions.create(ask);
  const c = r.choices[0];
  assert.equal(c.finish_reason, 'tool_calls');
  assert.equal(c.message.role, 'assistant');
  assert.equal(c.message.content, null);
  assert.equal(c.message.tool_calls?.length, 1, JSON.stringify(c.message));
  assertWeatherCall(c.message.tool_calls[0]);
});

test('tool_choice "auto" with parallel calls allowed answers with well-formed calls', async () => {
  const { parallel_tool_calls, tool_choice, ...auto } = ask;
  const r = await openai.chat.completions.create({ ...auto, max_tokens: 400 });
  const c = r.choices[0];
  assert.equal(c.finish_reason, 'tool_calls');
  assert.ok(c.message.tool_calls?.length >= 1, JSON.stringify(c.message));
  for (const call of c.message.tool_calls) assertWeatherCall(call);
});

test('a streamed tool call arrives as tool_call deltas', async () => {
  const stream = await openai.chat.completions.create({ ...ask, stream: true });
  const calls = [];
  let finish = null;
  let first = true;
  for await (const chunk of stream) {
    const c = chunk.choices[0];
    if (!c) continue;
    if (first) assert.equal(c.delta.role, 'assistant', 'the first delta names the role');
    first = false;
    for (const d of c.delta.tool_calls ?? []) {
      calls[d.index] ??= { id: '', type: 'function', function: { name: '', arguments: '' } };
      if (d.id) calls[d.index].id = d.id;
      if (d.function?.name) calls[d.index].function.name += d.function.name;
      if (d.function?.arguments) calls[d.index].function.arguments += d.function.arguments;
    }
    if (c.finish_reason) finish = c.finish_reason;
  }
  assert.equal(finish, 'tool_calls');
  assert.ok(calls.length >= 1);
  assertWeatherCall(calls[0]);
});

test("the SDK's stream helper assembles the call", async () => {
  const runner = openai.chat.completions.stream(ask);
  const final = await runner.finalChatCompletion();
  assert.equal(final.choices[0].finish_reason, 'tool_calls');
  assertWeatherCall(final.choices[0].message.tool_calls[0]);
});

test('tool_choice naming a function calls that function', async () => {
  const r = await openai.chat.completions.create({
    ...ask,
    tools: [timeTool, weatherTool],
    tool_choice: { type: 'function', function: { name: 'get_weather' } },
  });
  assertWeatherCall(r.choices[0].message.tool_calls[0]);
});

test('the turn after the call, with the tool result, is answered', async () => {
  const first = await openai.chat.completions.create(ask);
  const call = first.choices[0].message.tool_calls[0];
  assertWeatherCall(call);
  const r = await openai.chat.completions.create({
    model,
    tools: [weatherTool],
    temperature: 0,
    max_tokens: 8,
    messages: [
      ...question,
      { role: 'assistant', content: null, tool_calls: [call] },
      { role: 'tool', tool_call_id: call.id, content: '{"sky": "sunny", "celsius": 21}' },
    ],
  });
  const c = r.choices[0];
  assert.ok(['stop', 'length'].includes(c.finish_reason), c.finish_reason);
  assert.equal(c.message.role, 'assistant');
  assert.equal(c.message.tool_calls, undefined, JSON.stringify(c.message));
  assert.equal(typeof c.message.content, 'string');
  assert.ok(r.usage.prompt_tokens > 20, 'the tool result is part of the prompt');
});

test('a tool message without the call it answers is a BadRequestError naming the field', async () => {
  await assert.rejects(
    openai.chat.completions.create({ model, messages: [...question, { role: 'tool', content: 'x' }] }),
    (e) => e.status === 400 && e.error?.param === 'messages[1].tool_call_id',
  );
});
