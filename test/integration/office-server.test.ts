// An office server as the inference backend: llama.cpp's llama-server, built from the source
// node-llama-cpp ships (cached outside the clone), on 127.0.0.1 with a real GGUF. Enclave's chat,
// stop, regenerate, JSON-schema output and embeddings run against it, a server killed mid-reply
// leaves the reply kept and marked, and Enclave's own local API is driven by the official
// `openai` client library.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EventMap, Message } from '../../electron/contract/types.ts';
import { createEnclave, type Enclave } from '../../electron/core/app.ts';
import { ENDLESS_MODEL, GROUNDED_MODEL, TASK_MODEL } from '../fixtures/paths.ts';
import { Engine } from '../../electron/services/engine/engine.ts';
import { DEFAULT_SETTINGS } from '../../electron/services/store/settings-store.ts';
import { firstWords, granter, replyDone, routerCaller } from '../support/router-call.ts';
import { llamaTools, startLlamaServer, type RunningLlamaServer } from '../support/llama-server.ts';
import { writeCorpus } from '../fixtures/documents.ts';

const KEY = 'office-secret-key';
const PORT = 18_400 + (process.pid % 500);
let dir: string;
let enclave: Enclave;
let server: RunningLlamaServer;
/** A second and third server: one whose model answers from documents, one that writes a task's JSON. */
let groundedServer: RunningLlamaServer;
let taskServer: RunningLlamaServer;
let corpus: Record<string, string>;
const call = routerCaller(() => enclave);
const grant = granter(() => enclave);
const deltas: EventMap['chat.delta'][] = [];

const nextDone = (conversationId: string): Promise<Message> => replyDone(enclave, conversationId);
const firstDelta = (conversationId: string): Promise<void> => firstWords(enclave, conversationId);

const startServer = () =>
  startLlamaServer({ model: ENDLESS_MODEL, port: PORT, apiKey: KEY, args: ['--alias', 'office-chat', '-c', '4096', '--parallel', '2', '--embeddings', '--pooling', 'mean'] });

beforeAll(async () => {
  llamaTools(); // built once (minutes), then cached by llama.cpp commit
  server = await startServer();
  groundedServer = await startLlamaServer({ model: GROUNDED_MODEL, port: PORT + 1, args: ['--alias', 'office-grounded', '-c', '4096'] });
  taskServer = await startLlamaServer({ model: TASK_MODEL, port: PORT + 2, args: ['--alias', 'office-tasks', '-c', '4096', '--chat-template', 'llama2'] });
  dir = mkdtempSync(join(tmpdir(), 'enclave-office-'));
  enclave = createEnclave({ dataDir: dir, mode: 'web', version: 'test', settingsOverride: { threads: 1, contextSize: 2048, gpu: 'off', maxTokens: 24, temperature: 0 } });
  enclave.events.subscribe((name, payload) => {
    if (name === 'chat.delta') deltas.push(payload as EventMap['chat.delta']);
  });
}, 45 * 60_000);

afterAll(async () => {
  await enclave?.shutdown();
  await server?.kill();
  await groundedServer?.kill();
  await taskServer?.kill();
  rmSync(dir, { recursive: true, force: true });
});

describe('choosing an office server', () => {
  it('checks the connection: a wrong key, an address outside the network and a bad address are refused with clear words', async () => {
    await expect(call('backend.check', { baseUrl: server.url, apiKey: 'wrong' })).rejects.toMatchObject({ code: 'server/unauthorized' });
    await expect(call('backend.check', { baseUrl: 'http://8.8.8.8:8080', apiKey: null })).rejects.toMatchObject({ code: 'server/not-local', message: expect.stringMatching(/outside your local network/) });
    await expect(call('backend.check', { baseUrl: 'ftp://10.0.0.5', apiKey: null })).rejects.toMatchObject({ code: 'server/bad-url' });
    await expect(call('backend.check', { baseUrl: `http://127.0.0.1:${PORT + 3}`, apiKey: null })).rejects.toMatchObject({ code: 'server/unreachable', message: expect.stringMatching(/nothing answers/) });
    const found = await call('backend.check', { baseUrl: `${server.url}/v1/`, apiKey: KEY });
    expect(found).toMatchObject({ label: `127.0.0.1:${PORT}`, baseUrl: server.url, models: [{ id: 'office-chat' }], contextSize: 2048, slots: 2, tokenizer: true });
  });

  it('uses it: the engine says which server answers, the key is kept but never given back, and the choice is audited', async () => {
    const view = await call('backend.set', { kind: 'server', baseUrl: server.url, apiKey: KEY, model: 'office-chat', embeddingModel: null });
    expect(view).toEqual({ kind: 'server', baseUrl: server.url, model: 'office-chat', embeddingModel: null, hasApiKey: true, label: `127.0.0.1:${PORT}` });
    expect(JSON.stringify(await call('backend.get', {}))).not.toContain(KEY);
    expect(await call('engine.status', {})).toMatchObject({ state: 'ready', modelId: null, contextSize: 2048, server: { label: `127.0.0.1:${PORT}`, model: 'office-chat' } });
    const audit = await call('audit.list', { action: 'backend' });
    expect(audit.entries[0]).toMatchObject({ action: 'backend.changed', summary: `Answers come from the office server at 127.0.0.1:${PORT} (office-chat)` });
    expect(JSON.stringify(audit.entries[0].details)).not.toContain(KEY);
    // A model of this computer is not loaded behind the person's back.
    const local = await call('models.add', { file: grant(ENDLESS_MODEL) });
    await expect(call('models.activate', { modelId: local.id })).rejects.toMatchObject({ code: 'server/in-use' });
    expect((await call('engine.status', {})).server).not.toBeNull();
  });
});

describe('chat over the office server', () => {
  let conversationId: string;

  it('streams a reply with its token count, speed and the server named as the model', async () => {
    conversationId = (await call('conversations.create', {})).id;
    const done = nextDone(conversationId);
    await call('chat.send', { conversationId, text: 'Tell me about the fox.' });
    const reply = await done;
    expect(reply).toMatchObject({ status: 'complete', modelName: `office-chat (office server at 127.0.0.1:${PORT})`, cutOff: true, contextSize: 2048 });
    expect(reply.content).toMatch(/quick brown fox/);
    expect(reply.tokenCount).toBe(24);
    expect(reply.tokensPerSecond).toBeGreaterThan(0);
    expect(reply.contextTokens).toBeGreaterThan(24);
    expect(deltas.filter((d) => d.conversationId === conversationId).length).toBeGreaterThan(1);
  });

  it('regenerates the last reply', async () => {
    const done = nextDone(conversationId);
    const again = await call('chat.regenerate', { conversationId });
    const reply = await done;
    expect(reply.id).toBe(again.id);
    expect(reply.status).toBe('complete');
    expect((await call('conversations.get', { conversationId })).messages).toHaveLength(2);
  });

  it('stops: the request is closed and the server’s slot is free again', async () => {
    await call('settings.update', { maxTokens: 60_000 });
    const id = (await call('conversations.create', {})).id;
    const started = firstDelta(id);
    const done = nextDone(id);
    await call('chat.send', { conversationId: id, text: 'Go on forever.' });
    await started;
    expect(await call('chat.stop', { conversationId: id })).toEqual({ stopped: true });
    const reply = await done;
    expect(reply.status).toBe('stopped');
    expect(reply.content.length).toBeGreaterThan(0);
    const deadline = Date.now() + 5000;
    let busy = true;
    while (busy && Date.now() < deadline) {
      const slots = (await (await fetch(`${server.url}/slots`, { headers: { authorization: `Bearer ${KEY}` } })).json()) as { is_processing: boolean }[];
      busy = slots.some((s) => s.is_processing);
      if (busy) await new Promise((r) => setTimeout(r, 100));
    }
    expect(busy).toBe(false);
    await call('settings.update', { maxTokens: 24 });
  });

  it('writes JSON under a schema (the server’s grammar), as tasks ask', async () => {
    const engine = new Engine({ logger: { warn: () => {}, error: () => {} } });
    await engine.useServer({ baseUrl: taskServer.url, apiKey: '', model: 'office-tasks' }, DEFAULT_SETTINGS);
    const result = await engine.generate({
      conversationId: 'schema-check',
      systemPrompt: 'Answer in JSON.',
      turns: [{ role: 'user', text: 'Is the fox quick?' }],
      settings: { temperature: 0, topP: 1, maxTokens: 200 },
      signal: new AbortController().signal,
      onText: () => {},
      jsonSchema: { type: 'object', properties: { answer: { enum: ['yes', 'no'] } }, required: ['answer'], additionalProperties: false },
    });
    await engine.dispose();
    expect(result.stopReason).toBe('end');
    expect(JSON.parse(result.text)).toEqual({ answer: expect.stringMatching(/^(yes|no)$/) });
  });

  it('counts tokens with the server’s tokenizer (measured on real text, never under the count)', async () => {
    const text = 'The Distributor shall pay all invoices within thirty (30) days of receipt.';
    const counted = (await (await fetch(`${server.url}/tokenize`, { method: 'POST', headers: { authorization: `Bearer ${KEY}` }, body: JSON.stringify({ content: text }) })).json()) as { tokens: number[] };
    const estimate = enclave.engine.countTokens(text);
    expect(estimate).toBeGreaterThanOrEqual(counted.tokens.length * 0.9);
    expect(estimate).toBeLessThan(counted.tokens.length * 2);
  });

  it('embeds passages with the server’s model when chosen, so search by meaning runs on it', async () => {
    await call('backend.set', { kind: 'server', baseUrl: server.url, apiKey: null, model: 'office-chat', embeddingModel: 'office-chat' });
    corpus = await writeCorpus(join(dir, 'corpus'));
    const imported = await call('documents.import', { file: grant(corpus.lease) });
    await call('documents.import', { file: grant(corpus.employment) });
    const deadline = Date.now() + 60_000;
    let status = await call('retrieval.status', {});
    while ((status.embedded === 0 || status.embedded + status.skipped < status.chunks || status.state !== 'idle') && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 200));
      status = await call('retrieval.status', {});
    }
    expect(imported.document.id).toBeTruthy();
    const own = (await (await fetch(`${server.url}/v1/embeddings`, { method: 'POST', headers: { authorization: `Bearer ${KEY}` }, body: JSON.stringify({ input: ['x'] }) })).json()) as { data: { embedding: number[] }[] };
    expect(status).toMatchObject({ embeddingModelName: `office-chat (office server at 127.0.0.1:${PORT})`, dimensions: own.data[0].embedding.length });
    expect(status.embedded).toBeGreaterThan(0);
    expect(status.embedded + status.skipped).toBe(status.chunks);
    // A model of this computer does not take over search by meaning behind the choice made in Inference.
    await expect(call('models.setEmbedding', { modelId: (await call('models.list', {})).models[0].id })).rejects.toMatchObject({ code: 'server/in-use' });
  });

  it('keeps what was written when the server goes away mid-reply, marks it interrupted and lets it be retried', async () => {
    await call('settings.update', { maxTokens: 60_000 });
    const id = (await call('conversations.create', {})).id;
    const started = firstDelta(id);
    const done = nextDone(id);
    await call('chat.send', { conversationId: id, text: 'Keep talking.' });
    await started;
    await new Promise((r) => setTimeout(r, 300));
    await server.kill('SIGKILL');
    const reply = await done;
    expect(reply.status).toBe('error');
    expect(reply.content).toMatch(/quick brown/);
    expect(reply.error).toMatch(new RegExp(`office server at 127\\.0\\.0\\.1:${PORT} stopped answering mid-reply.*What it wrote is kept; retry when it is back`));
    // Nothing hangs: the next try says the server is not there...
    await call('settings.update', { maxTokens: 24 });
    const retried = nextDone(id);
    await call('chat.regenerate', { conversationId: id });
    expect((await retried).error).toMatch(/cannot be reached: nothing answers at that address/);
    // ...and once it is back, Retry (regenerate) answers.
    server = await startServer();
    const answered = nextDone(id);
    await call('chat.regenerate', { conversationId: id });
    expect(await answered).toMatchObject({ status: 'complete' });
  });
});

describe('Enclave’s own local API, through the official OpenAI client', () => {
  let client: OpenAI;
  let baseURL: string;

  beforeAll(async () => {
    const api = await call('api.set', { enabled: true, host: '127.0.0.1', port: PORT + 7 });
    expect(api).toMatchObject({ enabled: true, url: `http://127.0.0.1:${PORT + 7}/v1`, error: null });
    baseURL = api.url!;
    client = new OpenAI({ baseURL, apiKey: api.token, maxRetries: 0 });
  });

  it('refuses a request without the token, or with a wrong one', async () => {
    expect((await fetch(`${baseURL}/models`)).status).toBe(401);
    await expect(new OpenAI({ baseURL, apiKey: 'enclave-wrong', maxRetries: 0 }).models.list()).rejects.toMatchObject({ status: 401 });
  });

  it('lists models, streams a chat reply and gives embeddings', async () => {
    const models = await client.models.list();
    expect(models.data.map((m) => m.id)).toEqual(expect.arrayContaining(['office-chat', 'enclave-grounded']));
    const stream = await client.chat.completions.create({ model: 'office-chat', stream: true, max_tokens: 12, messages: [{ role: 'user', content: 'The fox?' }], stream_options: { include_usage: true } });
    let text = '';
    let chunks = 0;
    let finish: string | null = null;
    let usage: { completion_tokens: number } | null = null;
    for await (const chunk of stream) {
      chunks++;
      text += chunk.choices[0]?.delta?.content ?? '';
      finish = chunk.choices[0]?.finish_reason ?? finish;
      usage = chunk.usage ?? usage;
    }
    expect(chunks).toBeGreaterThan(3);
    expect(text).toMatch(/quick brown/);
    expect(finish).toBe('length');
    expect(usage?.completion_tokens).toBe(12);
    const embeddings = await client.embeddings.create({ model: 'office-chat', input: ['quick brown fox', 'lazy dog'] });
    expect(embeddings.data).toHaveLength(2);
    expect(embeddings.data[0].embedding).toHaveLength((await call('retrieval.status', {})).dimensions!);
    const norm = Math.hypot(...embeddings.data[0].embedding);
    expect(norm).toBeCloseTo(1, 4);
    const audit = await call('audit.list', { action: 'api' });
    expect(audit.entries.map((e) => e.action)).toEqual(expect.arrayContaining(['api.chat', 'api.embeddings', 'api.changed']));
  });

  it('answers from a named collection with checked citations (document, page, quoted words)', async () => {
    // Another server of the office, whose model answers from documents; search by meaning goes back to this computer (none: keyword search).
    await call('backend.set', { kind: 'server', baseUrl: groundedServer.url, apiKey: null, model: 'office-grounded', embeddingModel: null });
    const collection = await call('collections.create', { name: 'Office contracts' });
    for (const d of (await call('documents.list', {})).filter((x) => x.status === 'ready')) await call('collections.setMembership', { collectionId: collection.id, documentId: d.id, member: true });
    const response = await fetch(`${baseURL}/grounded`, {
      method: 'POST',
      headers: { authorization: `Bearer ${(await call('api.get', {})).token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ collection: 'office contracts', question: 'What is the notice period for terminating the lease?' }),
    });
    expect(response.status).toBe(200);
    const body = (await response.json()) as {
      collection: string;
      answer: string;
      model: string;
      verified_sentences: number;
      unsupported_sentences: number;
      sentences: { text: string; support: string; source: number | null }[];
      sources: { number: number; document: string; page: number; quote: string | null; supports_answer: boolean }[];
    };
    expect(body).toMatchObject({ collection: 'Office contracts', verified_sentences: 2, unsupported_sentences: 2, model: `office-grounded (office server at 127.0.0.1:${PORT + 1})` });
    expect(body.sentences[0]).toEqual({ text: 'The notice period is thirty days.', support: 'verified', source: 1 });
    expect(body.sources[0]).toEqual({ number: 1, document: 'Lease agreement', page: 3, quote: 'notice of thirty days', supports_answer: true });
    expect(body.sentences[2]).toEqual({ text: 'The lease is between Harbor Properties and Maria Lopez.', support: 'verified', source: 2 });
    expect(body.sources[1]).toMatchObject({ number: 2, document: 'Lease agreement', page: 1, supports_answer: true });
    // What the documents do not say is marked, never shown as verified.
    expect(body.sentences[1]).toEqual({ text: 'Rent doubles each year.', support: 'unsupported', source: null });
    const missing = await fetch(`${baseURL}/grounded`, {
      method: 'POST',
      headers: { authorization: `Bearer ${(await call('api.get', {})).token}` },
      body: JSON.stringify({ collection: 'Nope', question: 'Anything?' }),
    });
    expect(missing.status).toBe(404);
    expect(((await missing.json()) as { error: { message: string } }).error.message).toMatch(/No collection is named “Nope” \(there are “Office contracts”\)/);
  });

  it('turns off, and a new token replaces the old one', async () => {
    const before = (await call('api.get', {})).token;
    const after = (await call('api.newToken', {})).token;
    expect(after).not.toBe(before);
    await expect(client.models.list()).rejects.toMatchObject({ status: 401 });
    await call('api.set', { enabled: false, host: '127.0.0.1', port: PORT + 7 });
    await expect(fetch(`${baseURL}/models`)).rejects.toThrow();
  });
});

describe('back to this computer', () => {
  it('switches back and loads the local model again', async () => {
    const view = await call('backend.set', { kind: 'local' });
    expect(view.kind).toBe('local');
    const deadline = Date.now() + 30_000;
    let status = await call('engine.status', {});
    while (status.state !== 'ready' && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 100));
      status = await call('engine.status', {});
    }
    expect(status).toMatchObject({ state: 'ready', server: null });
    expect(status.modelId).not.toBeNull();
  });
});
