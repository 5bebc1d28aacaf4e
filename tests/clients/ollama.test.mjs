// The Ollama API through the official `ollama` client.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ollama, model } from './support.mjs';

test('generate, streamed', async () => {
  let text = '';
  let last;
  for await (const part of await ollama.generate({
    model, prompt: 'Hi', stream: true, options: { num_predict: 5 }, ignore_eos: true,
  })) {
    text += part.response;
    last = part;
  }
  assert.ok(text.length > 0);
  assert.equal(last.done, true);
  assert.equal(last.eval_count, 5);
});

test('generate, whole', async () => {
  const r = await ollama.generate({ model, prompt: 'Hi', stream: false, options: { num_predict: 4 } });
  assert.equal(r.done, true);
  assert.equal(typeof r.response, 'string');
  assert.equal(r.model, model);
});

test('chat, streamed and whole', async () => {
  const messages = [{ role: 'user', content: 'Hi' }];
  const whole = await ollama.chat({ model, messages, stream: false, options: { num_predict: 4, temperature: 0, seed: 1 } });
  assert.equal(whole.message.role, 'assistant');
  assert.equal(whole.done, true);
  let text = '';
  for await (const part of await ollama.chat({ model, messages, stream: true, options: { num_predict: 4, temperature: 0, seed: 1 } }))
    text += part.message.content;
  assert.equal(text, whole.message.content);
});

test('list names the pool model', async () => {
  const r = await ollama.list();
  assert.ok(r.models.some((m) => m.name === model || m.name === `${model}:latest`), JSON.stringify(r));
});
