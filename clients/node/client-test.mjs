// Runs the official openai npm client against a running `sputnik serve`
// (started by scripts/client-test.sh): chat streaming and not, completions,
// logprobs, usage and error cases. The shared test models have random
// weights, so the text is gibberish; what is checked is the shape, which
// must be DeepSeek's (reasoning_content beside content).
//
// Environment: SPUTNIK_URL (e.g. http://127.0.0.1:8080), SPUTNIK_API_KEY.
import assert from 'node:assert/strict';
import OpenAI from 'openai';

const baseURL = `${process.env.SPUTNIK_URL}/v1`;
const apiKey = process.env.SPUTNIK_API_KEY;
const client = new OpenAI({ baseURL, apiKey, maxRetries: 0 });
const messages = [
  { role: 'system', content: 'You are terse.' },
  { role: 'user', content: 'What is 2+2?' },
];

let failed = 0;
async function test(name, fn) {
  try {
    await fn();
    console.log(`ok   ${name}`);
  } catch (err) {
    failed++;
    console.log(`FAIL ${name}\n     ${err.stack || err}`);
  }
}

function checkUsage(u, { reasoning = true } = {}) {
  assert.ok(u, 'usage present');
  assert.ok(u.prompt_tokens > 0, 'prompt_tokens > 0');
  assert.ok(u.completion_tokens > 0, 'completion_tokens > 0');
  assert.equal(u.total_tokens, u.prompt_tokens + u.completion_tokens);
  assert.equal(typeof u.prompt_tokens_details.cached_tokens, 'number');
  assert.equal(u.prompt_cache_hit_tokens, u.prompt_tokens_details.cached_tokens);
  assert.equal(u.prompt_cache_hit_tokens + u.prompt_cache_miss_tokens, u.prompt_tokens);
  if (reasoning) {
    const r = u.completion_tokens_details.reasoning_tokens;
    assert.ok(r >= 0 && r <= u.completion_tokens, `reasoning_tokens ${r} within completion_tokens`);
  }
}

let modelID;
await test('models.list', async () => {
  const list = await client.models.list();
  assert.equal(list.data.length, 1);
  modelID = list.data[0].id;
  assert.equal(list.data[0].object, 'model');
  assert.equal(typeof modelID, 'string');
});

let greedyText;
await test('chat, not streamed', async () => {
  const r = await client.chat.completions.create({ model: modelID, messages, max_tokens: 24, temperature: 0 });
  assert.equal(r.object, 'chat.completion');
  assert.equal(r.choices.length, 1);
  const c = r.choices[0];
  assert.equal(c.message.role, 'assistant');
  assert.equal(typeof c.message.content, 'string');
  // The R1 template opens <think>: the output starts as reasoning.
  assert.equal(typeof c.message.reasoning_content, 'string', 'message.reasoning_content (DeepSeek shape)');
  assert.ok(c.message.reasoning_content.length > 0, 'some reasoning');
  assert.ok(['stop', 'length'].includes(c.finish_reason), `finish_reason ${c.finish_reason}`);
  checkUsage(r.usage);
  assert.ok(r.usage.completion_tokens <= 24);
  greedyText = { reasoning: c.message.reasoning_content, content: c.message.content };
});

await test('chat, streamed with usage (same greedy text)', async () => {
  const stream = await client.chat.completions.create({
    model: modelID, messages, max_tokens: 24, temperature: 0, stream: true, stream_options: { include_usage: true },
  });
  let reasoning = '', content = '', role, finish, usage, chunks = 0, reasoningChunks = 0;
  for await (const chunk of stream) {
    chunks++;
    assert.equal(chunk.object, 'chat.completion.chunk');
    if (chunk.usage) usage = chunk.usage;
    for (const c of chunk.choices) {
      if (c.delta.role) role = c.delta.role;
      if (typeof c.delta.reasoning_content === 'string') { reasoning += c.delta.reasoning_content; reasoningChunks++; }
      if (typeof c.delta.content === 'string') content += c.delta.content;
      if (c.finish_reason) finish = c.finish_reason;
    }
  }
  assert.equal(role, 'assistant');
  assert.ok(reasoningChunks > 0, 'delta.reasoning_content chunks (DeepSeek shape)');
  assert.ok(['stop', 'length'].includes(finish));
  checkUsage(usage);
  assert.ok(chunks >= 3);
  if (greedyText) assert.deepEqual({ reasoning, content }, greedyText, 'streamed text equals the non-streamed greedy text');
});

await test('chat, reasoning_format none keeps the raw text in content', async () => {
  const r = await client.chat.completions.create({ model: modelID, messages, max_tokens: 8, temperature: 0, reasoning_format: 'none' });
  const m = r.choices[0].message;
  assert.equal(m.reasoning_content, undefined);
  assert.ok(m.content.startsWith('<think>\n'), `content ${JSON.stringify(m.content)} starts with <think>`);
});

await test('chat logprobs', async () => {
  const r = await client.chat.completions.create({ model: modelID, messages, max_tokens: 4, temperature: 0, logprobs: true, top_logprobs: 2 });
  const lp = r.choices[0].logprobs.content;
  assert.equal(lp.length, r.usage.completion_tokens);
  for (const t of lp) {
    assert.equal(typeof t.token, 'string');
    assert.ok(t.logprob <= 0);
    assert.ok(Array.isArray(t.bytes));
    assert.equal(t.top_logprobs.length, 2);
  }
});

await test('completions, not streamed and streamed', async () => {
  const r = await client.completions.create({ model: modelID, prompt: 'Once upon a time', max_tokens: 8, temperature: 0 });
  assert.equal(r.object, 'text_completion');
  assert.equal(typeof r.choices[0].text, 'string');
  assert.ok(['stop', 'length'].includes(r.choices[0].finish_reason));
  checkUsage(r.usage, { reasoning: false });
  const stream = await client.completions.create({
    model: modelID, prompt: 'Once upon a time', max_tokens: 8, temperature: 0, stream: true, stream_options: { include_usage: true },
  });
  let text = '', usage;
  for await (const chunk of stream) {
    if (chunk.usage) usage = chunk.usage;
    for (const c of chunk.choices) text += c.text;
  }
  assert.equal(text, r.choices[0].text, 'streamed text equals the non-streamed greedy text');
  assert.deepEqual(usage.completion_tokens, r.usage.completion_tokens);
});

await test('n = 2 is a 400 naming n', async () => {
  await assert.rejects(client.chat.completions.create({ model: modelID, messages, n: 2 }), (err) => {
    assert.ok(err instanceof OpenAI.BadRequestError, `${err}`);
    assert.equal(err.status, 400);
    assert.equal(err.param, 'n');
    return true;
  });
});

await test('an unknown model is a 404', async () => {
  await assert.rejects(client.chat.completions.create({ model: 'gpt-nonexistent', messages }), (err) => {
    assert.ok(err instanceof OpenAI.NotFoundError, `${err}`);
    assert.equal(err.code, 'model_not_found');
    return true;
  });
});

await test('a wrong API key is a 401', async () => {
  const bad = new OpenAI({ baseURL, apiKey: 'sk-wrong', maxRetries: 0 });
  await assert.rejects(bad.models.list(), (err) => {
    assert.ok(err instanceof OpenAI.AuthenticationError, `${err}`);
    assert.equal(err.status, 401);
    return true;
  });
});

// Structured output and tool calls: the model's weights are random, so
// only the grammar makes the answer valid. max_reasoning_tokens closes the
// <think> block the template opens, and the constraint starts after it.
const weatherSchema = {
  type: 'object',
  properties: {
    city: { enum: ['Paris', 'Tokyo'] },
    days: { type: 'integer', minimum: 1, maximum: 7 },
    rain: { type: 'boolean' },
  },
  required: ['city', 'days', 'rain'],
  additionalProperties: false,
};
function checkWeather(v) {
  assert.deepEqual(Object.keys(v).sort(), ['city', 'days', 'rain']);
  assert.ok(['Paris', 'Tokyo'].includes(v.city), `city ${v.city}`);
  assert.ok(Number.isInteger(v.days) && v.days >= 1 && v.days <= 7, `days ${v.days}`);
  assert.equal(typeof v.rain, 'boolean');
}

await test('structured output (response_format json_schema)', async () => {
  const r = await client.chat.completions.create({
    model: modelID, messages: [{ role: 'user', content: 'Weather?' }], max_tokens: 600, seed: 3, temperature: 0.7,
    max_reasoning_tokens: 4,
    response_format: { type: 'json_schema', json_schema: { name: 'weather', strict: true, schema: weatherSchema } },
  });
  checkWeather(JSON.parse(r.choices[0].message.content));
  assert.equal(r.usage.completion_tokens_details.reasoning_budget_hit, true);
});

await test('JSON mode (response_format json_object), streamed', async () => {
  const stream = await client.chat.completions.create({
    model: modelID, messages: [{ role: 'user', content: 'JSON please' }], max_tokens: 300, seed: 4, temperature: 0,
    max_reasoning_tokens: 2, stream: true, response_format: { type: 'json_object' },
  });
  let text = '';
  let finish;
  for await (const chunk of stream) {
    for (const c of chunk.choices) {
      text += c.delta.content ?? '';
      finish = c.finish_reason ?? finish;
    }
  }
  if (finish === 'stop') {
    const v = JSON.parse(text);
    assert.equal(typeof v, 'object');
    assert.ok(v !== null && !Array.isArray(v));
  }
});

await test('tool call (named tool_choice)', async () => {
  const r = await client.chat.completions.create({
    model: modelID, messages: [{ role: 'user', content: 'Weather in Paris?' }], max_tokens: 600, seed: 5, temperature: 0.7,
    max_reasoning_tokens: 2,
    tools: [{ type: 'function', function: { name: 'get_weather', description: 'Weather forecast', parameters: weatherSchema } }],
    tool_choice: { type: 'function', function: { name: 'get_weather' } },
  });
  const c = r.choices[0];
  assert.equal(c.finish_reason, 'tool_calls');
  assert.equal(c.message.tool_calls.length, 1);
  const call = c.message.tool_calls[0];
  assert.equal(call.type, 'function');
  assert.equal(typeof call.id, 'string');
  assert.equal(call.function.name, 'get_weather');
  checkWeather(JSON.parse(call.function.arguments));

  // The result goes back as a tool message, rendered by the template.
  const r2 = await client.chat.completions.create({
    model: modelID, max_tokens: 8, temperature: 0,
    messages: [
      { role: 'user', content: 'Weather in Paris?' },
      c.message,
      { role: 'tool', tool_call_id: call.id, content: '{"temp": 21}' },
    ],
  });
  assert.equal(typeof r2.choices[0].message.content, 'string');
});

await test('tool call streamed (required tool_choice)', async () => {
  const stream = await client.chat.completions.create({
    model: modelID, messages: [{ role: 'user', content: 'Weather?' }], max_tokens: 600, seed: 6, temperature: 0.7,
    max_reasoning_tokens: 2, stream: true,
    tools: [{ type: 'function', function: { name: 'get_weather', parameters: weatherSchema } }],
    tool_choice: 'required',
  });
  const calls = [];
  let finish;
  for await (const chunk of stream) {
    for (const c of chunk.choices) {
      for (const d of c.delta.tool_calls ?? []) calls.push(d);
      finish = c.finish_reason ?? finish;
    }
  }
  assert.equal(finish, 'tool_calls');
  assert.equal(calls[0].function.name, 'get_weather');
  checkWeather(JSON.parse(calls[0].function.arguments));
});

await test('an unsupported schema keyword is a 400 naming it', async () => {
  await assert.rejects(client.chat.completions.create({
    model: modelID, messages, max_tokens: 4,
    response_format: { type: 'json_schema', json_schema: { name: 'x', schema: { type: 'number', multipleOf: 3 } } },
  }), (err) => {
    assert.ok(err instanceof OpenAI.BadRequestError, `${err}`);
    assert.match(err.message, /multipleOf/);
    return true;
  });
});

if (failed) {
  console.log(`${failed} client test(s) failed`);
  process.exit(1);
}
console.log('all client tests passed');
