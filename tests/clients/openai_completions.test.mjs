// Text completions through the official `openai` client.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { openai, model } from './support.mjs';

const req = { model, prompt: 'Once', max_tokens: 8, temperature: 0, seed: 3, ignore_eos: true };

test('a whole completion equals the streamed one', async () => {
  const whole = await openai.completions.create(req);
  assert.equal(whole.object, 'text_completion');
  assert.equal(whole.choices[0].finish_reason, 'length');
  assert.equal(whole.usage.completion_tokens, 8);
  let joined = '';
  for await (const chunk of await openai.completions.create({ ...req, stream: true }))
    joined += chunk.choices[0]?.text ?? '';
  assert.equal(joined, whole.choices[0].text);
});

test('stop ends the completion early', async () => {
  const whole = await openai.completions.create(req);
  const text = whole.choices[0].text;
  const cut = text.trim().slice(0, 1);
  if (!cut) return;
  const r = await openai.completions.create({ ...req, stop: [cut] });
  assert.ok(!r.choices[0].text.includes(cut), JSON.stringify(r.choices[0].text));
  assert.equal(r.choices[0].finish_reason, 'stop');
});
