// Browser access (CORS) and request ids on the compatible endpoints.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { base, openai, model } from './support.mjs';

// A raw exchange with exactly the headers given (fetch would add or refuse some).
function exchange(method, path, headers, body) {
  return new Promise((resolve, reject) => {
    const req = http.request(`${base}${path}`, { method, headers }, (res) => {
      let data = '';
      res.on('data', (c) => (data += c));
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: data }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

const preflight = (origin, path = '/v1/chat/completions') =>
  exchange('OPTIONS', path, {
    Origin: origin,
    'Access-Control-Request-Method': 'POST',
    'Access-Control-Request-Headers': 'authorization, content-type',
  });

test('a preflight from a loopback origin is allowed', async () => {
  for (const origin of ['http://localhost:5173', 'http://127.0.0.1:3000', 'chrome-extension://abc']) {
    const r = await preflight(origin);
    assert.equal(r.status, 204);
    assert.equal(r.headers['access-control-allow-origin'], origin);
    assert.match(r.headers['access-control-allow-methods'], /POST/);
    assert.match(r.headers['access-control-allow-headers'], /authorization/i);
  }
  const ollama = await preflight('http://localhost:8080', '/api/chat');
  assert.equal(ollama.headers['access-control-allow-origin'], 'http://localhost:8080');
});

test('a preflight from another origin gets no CORS headers', async () => {
  for (const origin of ['https://evil.example', 'http://localhost.evil.example', 'http://localhost:80a']) {
    const r = await preflight(origin);
    assert.equal(r.headers['access-control-allow-origin'], undefined, origin);
  }
});

test('requests from an allowed origin carry CORS headers; others are refused', async () => {
  const body = JSON.stringify({ model, messages: [{ role: 'user', content: 'Hi' }], max_tokens: 2 });
  const ok = await exchange('POST', '/v1/chat/completions', { Origin: 'http://localhost:3000', 'content-type': 'application/json' }, body);
  assert.equal(ok.status, 200);
  assert.equal(ok.headers['access-control-allow-origin'], 'http://localhost:3000');
  const bad = await exchange('POST', '/v1/chat/completions', { Origin: 'https://evil.example', 'content-type': 'text/plain' }, body);
  assert.equal(bad.status, 403);
  assert.equal(bad.headers['access-control-allow-origin'], undefined);
  assert.match(JSON.parse(bad.body).error.message, /evil\.example/);
  const badOllama = await exchange('POST', '/api/generate', { Origin: 'https://evil.example' }, JSON.stringify({ model, prompt: 'Hi' }));
  assert.equal(badOllama.status, 403);
  assert.equal(typeof JSON.parse(badOllama.body).error, 'string');
});

test('x-request-id: the client\'s echoed, else one generated', async () => {
  const req = { model, messages: [{ role: 'user', content: 'Hi' }], max_tokens: 2 };
  const { request_id } = await openai.chat.completions.create(req).withResponse();
  assert.ok(request_id && request_id.length > 0);
  const mine = await openai.chat.completions.create(req, { headers: { 'X-Request-Id': 'req-abc-123' } }).withResponse();
  assert.equal(mine.request_id, 'req-abc-123');
});
