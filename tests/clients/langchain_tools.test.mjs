// A tool-calling step of an agent through LangChain (`@langchain/openai`), against orchestratord
// and the real llama-server: bindTools + invoke gives a tool call, and the turn with the
// ToolMessage gives an answer.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ChatOpenAI } from '@langchain/openai';
import { HumanMessage, ToolMessage } from '@langchain/core/messages';
import { base, model } from './support.mjs';

const cities = ['Paris', 'Oslo'];
const weatherTool = {
  type: 'function',
  function: {
    name: 'get_weather',
    description: 'The weather in a city',
    parameters: { type: 'object', properties: { city: { type: 'string', enum: cities } }, required: ['city'] },
  },
};

const chat = (maxTokens) =>
  new ChatOpenAI({
    model,
    temperature: 0,
    maxTokens,
    maxRetries: 0,
    useResponsesApi: false,
    apiKey: 'unused',
    configuration: { baseURL: `${base}/v1` },
  });

test('bindTools + invoke gives a tool call, and the ToolMessage turn an answer', async () => {
  const question = new HumanMessage('What is the weather in Oslo?');
  const ai = await chat(200)
    .bindTools([weatherTool], { tool_choice: 'required', parallel_tool_calls: false })
    .invoke([question]);
  assert.ok(ai.tool_calls?.length >= 1, JSON.stringify(ai));
  const call = ai.tool_calls[0];
  assert.equal(call.name, 'get_weather');
  assert.ok(cities.includes(call.args.city), JSON.stringify(call.args));
  assert.ok(call.id);

  const answer = await chat(8)
    .bindTools([weatherTool], { parallel_tool_calls: false })
    .invoke([question, ai, new ToolMessage({ tool_call_id: call.id, content: 'sunny, 21 C' })]);
  assert.equal(typeof answer.content, 'string');
  assert.equal(answer.tool_calls?.length ?? 0, 0, JSON.stringify(answer));
  assert.ok(['stop', 'length'].includes(answer.response_metadata?.finish_reason), JSON.stringify(answer.response_metadata));
});
