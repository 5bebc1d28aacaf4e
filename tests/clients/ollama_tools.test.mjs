// Tool calling through the official `ollama` client on a llamacpp pool: `tools` on /api/chat,
// the answer's message.tool_calls (arguments an object, as Ollama writes them), streamed and
// whole, and the turn after with the assistant's calls and a `tool` message.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ollama, model, cities, weatherTool } from './support.mjs';

const messages = [{ role: 'user', content: 'What is the weather in Paris?' }];
// Greedy decoding: the tiny model answers the template's tool-turn marker with a call.
const ask = { model, messages, tools: [weatherTool], options: { temperature: 0, num_predict: 400 } };

function assertWeatherCall(call) {
  assert.equal(call.function.name, 'get_weather', JSON.stringify(call));
  assert.equal(typeof call.function.arguments, 'object', JSON.stringify(call));
  assert.ok(cities.includes(call.function.arguments.city), JSON.stringify(call));
}

test('a whole answer carries message.tool_calls with object arguments', async () => {
  const r = await ollama.chat({ ...ask, stream: false });
  assert.equal(r.done, true);
  assert.equal(r.done_reason, 'stop');
  assert.ok(r.message.tool_calls?.length >= 1, JSON.stringify(r.message));
  for (const c of r.message.tool_calls) assertWeatherCall(c);
});

test('a streamed answer carries the calls whole in a line before the last', async () => {
  const stream = await ollama.chat({ ...ask, stream: true });
  const calls = [];
  let last;
  for await (const part of stream) {
    for (const c of part.message.tool_calls ?? []) calls.push(c);
    last = part;
  }
  assert.equal(last.done, true);
  assert.ok(calls.length >= 1, 'no tool call line');
  for (const c of calls) assertWeatherCall(c);
});

test('the turn after the call, with a tool message, is answered', async () => {
  const first = await ollama.chat({ ...ask, stream: false });
  const call = first.message.tool_calls[0];
  const r = await ollama.chat({
    model,
    tools: [weatherTool],
    stream: false,
    options: { temperature: 0, num_predict: 8 },
    messages: [
      ...messages,
      { role: 'assistant', content: '', tool_calls: [call] },
      { role: 'tool', content: '{"sky": "sunny", "celsius": 21}', tool_name: 'get_weather' },
    ],
  });
  assert.equal(r.done, true);
  assert.equal(typeof r.message.content, 'string');
  assert.ok(r.prompt_eval_count > 20, 'the tool result is part of the prompt');
});

test('a tool message with no call to answer is a 400 naming the message', async () => {
  await assert.rejects(
    ollama.chat({ model, stream: false, messages: [...messages, { role: 'tool', content: 'x' }] }),
    (e) => e.status_code === 400 && /messages\[1\]/.test(e.message),
  );
});
