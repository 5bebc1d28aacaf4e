// What the client tests share: orchestratord's address (LLORCH_URL, set by the ctest runner)
// and the two official clients pointed at it.
import OpenAI from 'openai';
import { Ollama } from 'ollama';

export const base = process.env.LLORCH_URL ?? 'http://127.0.0.1:8080';
export const model = process.env.LLORCH_MODEL ?? 'tiny';

// No retries: a test must see the first answer, not a later one.
export const openai = new OpenAI({ baseURL: `${base}/v1`, apiKey: 'unused', maxRetries: 0 });
export const ollama = new Ollama({ host: base });

// The counter of cancelled tasks from /metrics.
export async function cancelledTotal() {
  const text = await (await fetch(`${base}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith('tasks_canceled_total'));
  return line ? Number(line.split(' ').pop()) : 0;
}

// Polls `cond` until it holds or `ms` pass.
export async function eventually(cond, ms = 30000) {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await cond()) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return false;
}

// A tool both tool-calling tests offer: the tiny model calls it with one of `cities`.
export const cities = ['Paris', 'Oslo'];
export const weatherTool = {
  type: 'function',
  function: {
    name: 'get_weather',
    description: 'The weather in a city',
    parameters: {
      type: 'object',
      properties: { city: { type: 'string', enum: cities } },
      required: ['city'],
    },
  },
};
