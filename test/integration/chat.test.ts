// The whole main side through the router (as a transport calls it): real SQLite file, real GGUF.
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EventMap, Message } from '../../electron/contract/types.ts';
import { createEnclave, type Enclave } from '../../electron/core/app.ts';
import { granter, replyDone, routerCaller } from '../support/router-call.ts';
import { EMBEDDING_MODEL, ENDLESS_MODEL, NOT_A_MODEL, TRUNCATED_MODEL } from '../fixtures/paths.ts';

let dir: string;
let enclave: Enclave;
const deltas: EventMap['chat.delta'][] = [];

const call = routerCaller(() => enclave);
const grant = granter(() => enclave);

const nextDone = (conversationId: string): Promise<Message> => replyDone(enclave, conversationId);

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'enclave-chat-'));
  enclave = createEnclave({ dataDir: dir, mode: 'web', version: 'test', settingsOverride: { threads: 1, contextSize: 2048, gpu: 'off', maxTokens: 48 } });
  enclave.events.subscribe((name, payload) => {
    if (name === 'chat.delta') deltas.push(payload as EventMap['chat.delta']);
  });
});

afterAll(async () => {
  await enclave.shutdown();
  rmSync(dir, { recursive: true, force: true });
});

describe('models through the router', () => {
  it('refuses a file that is not a model and changes nothing', async () => {
    await expect(call('models.add', { file: grant(NOT_A_MODEL) })).rejects.toMatchObject({ code: 'model/not-gguf' });
    expect((await call('models.list', {})).models).toEqual([]);
    // A refused upload (a folder of its own under the data folder's models/) is removed; the user's own file is not.
    const upload = join(dir, 'models', 'upload-1');
    mkdirSync(upload, { recursive: true });
    copyFileSync(TRUNCATED_MODEL, join(upload, 'cut.gguf'));
    await expect(call('models.add', { file: grant(join(upload, 'cut.gguf')) })).rejects.toMatchObject({ code: 'model/truncated' });
    expect(existsSync(upload)).toBe(false);
    expect(existsSync(NOT_A_MODEL)).toBe(true);
  });

  it('adds a model with its metadata; the first one becomes active and loads', async () => {
    const model = await call('models.add', { file: grant(ENDLESS_MODEL) });
    expect(model).toMatchObject({ name: 'Endless Test Model', architecture: 'llama', quantization: 'F32' });
    await enclave.models.settled;
    expect(await call('engine.status', {})).toMatchObject({ state: 'ready', modelId: model.id, threads: 1 });
    expect((await call('models.list', {})).activeModelId).toBe(model.id);
    expect(model.kind).toBe('chat');
    // Adding the same file again does not duplicate it.
    expect((await call('models.add', { file: grant(ENDLESS_MODEL) })).id).toBe(model.id);
  });
});

describe('the model library', () => {
  it('the same model added again (a copy uploaded twice) is the one already there, and the copy is not kept', async () => {
    const before = (await call('models.list', {})).models;
    const upload = join(dir, 'models', 'upload-2');
    mkdirSync(upload, { recursive: true });
    copyFileSync(ENDLESS_MODEL, join(upload, 'endless-again.gguf'));
    const again = await call('models.add', { file: grant(join(upload, 'endless-again.gguf')) });
    expect(again.id).toBe(before[0].id);
    expect(existsSync(upload)).toBe(false);
    expect((await call('models.list', {})).models).toHaveLength(before.length);
  });

  it('tells an embedding model from a chat model, renames a model, and estimates the memory it needs', async () => {
    const embedding = await call('models.add', { file: grant(EMBEDDING_MODEL) });
    expect(embedding.kind).toBe('embedding');
    const library = await call('models.rename', { modelId: embedding.id, name: '  Search   vectors ' });
    expect(library.models.find((m) => m.id === embedding.id)?.name).toBe('Search vectors');
    await expect(call('models.rename', { modelId: embedding.id, name: '   ' })).rejects.toMatchObject({ code: 'model/bad-name' });
    const chatModel = library.models.find((m) => m.kind === 'chat')!;
    const fit = await call('models.estimate', { modelId: chatModel.id });
    expect(fit.contextSize).toBe(2048);
    expect(fit.modelBytes).toBeGreaterThan(0);
    expect(fit.contextBytes).toBeGreaterThan(0);
    expect(fit.totalBytes).toBe(fit.modelBytes + fit.contextBytes);
    expect(fit.availableBytes).toBeGreaterThan(fit.totalBytes);
    expect(fit.verdict).toBe('fits');
    // A bigger context needs more memory for its KV cache.
    const bigger = await call('models.estimate', { modelId: chatModel.id, contextSize: 8192 });
    expect(bigger.contextBytes).toBeGreaterThan(fit.contextBytes);
    await call('models.remove', { modelId: embedding.id });
  });
});

describe('chat through the router', () => {
  let conversationId: string;

  it('sends, streams, and saves the reply with its statistics', async () => {
    conversationId = (await call('conversations.create', {})).id;
    const done = nextDone(conversationId);
    const turn = await call('chat.send', { conversationId, text: 'What is the notice period?' });
    expect(turn.userMessage).toMatchObject({ role: 'user', content: 'What is the notice period?', status: 'complete' });
    expect(turn.assistantMessage).toMatchObject({ role: 'assistant', status: 'streaming', content: '' });
    const reply = await done;
    expect(reply).toMatchObject({ id: turn.assistantMessage.id, status: 'complete', tokenCount: 48, contextSize: 2048 });
    expect(reply.tokensPerSecond).toBeGreaterThan(0);
    expect(reply.contextTokens).toBeGreaterThan(48);
    const streamed = deltas.filter((d) => d.messageId === reply.id).map((d) => d.text).join('');
    expect(streamed).toBe(reply.content);
    const detail = await call('conversations.get', { conversationId });
    expect(detail.conversation.title).toBe('What is the notice period?');
    expect(detail.messages.map((m) => m.status)).toEqual(['complete', 'complete']);
  });

  it('a reply cut off at the length limit says so, and Continue extends the same reply', async () => {
    const messages = (await call('conversations.get', { conversationId })).messages;
    const cut = messages[messages.length - 1];
    expect(cut).toMatchObject({ status: 'complete', cutOff: true, tokenCount: 48 });
    const done = nextDone(conversationId);
    const reopened = await call('chat.continue', { conversationId });
    expect(reopened).toMatchObject({ id: cut.id, status: 'streaming', content: cut.content, cutOff: false });
    const continued = await done;
    expect(continued.id).toBe(cut.id);
    expect(continued.content.startsWith(cut.content)).toBe(true);
    expect(continued.content.length).toBeGreaterThan(cut.content.length);
    expect(continued).toMatchObject({ status: 'complete', cutOff: true, tokenCount: 96 });
    // Only the new words streamed.
    const streamed = deltas.filter((d) => d.messageId === cut.id).map((d) => d.text).join('');
    expect(streamed).toBe(continued.content);
    expect((await call('conversations.get', { conversationId })).messages).toHaveLength(messages.length);
  });

  it('refuses to continue what did not stop at the length limit', async () => {
    const fresh = (await call('conversations.create', {})).id;
    await expect(call('chat.continue', { conversationId: fresh })).rejects.toMatchObject({ code: 'chat/nothing-to-continue' });
  });

  it('refuses a second message while the model answers, writing nothing', async () => {
    await call('settings.update', { maxTokens: 4000 });
    const done = nextDone(conversationId);
    await call('chat.send', { conversationId, text: 'Keep going' });
    const before = (await call('conversations.get', { conversationId })).messages.length;
    await expect(call('chat.send', { conversationId, text: 'Impatient' })).rejects.toMatchObject({ code: 'chat/busy' });
    expect((await call('conversations.get', { conversationId })).messages.length).toBe(before);
    expect(await call('chat.stop', { conversationId })).toEqual({ stopped: true });
    const stopped = await done;
    expect(stopped.status).toBe('stopped');
    await call('settings.update', { maxTokens: 48 });
  });

  it('keeps the stopped partial reply, marked as stopped', async () => {
    const messages = (await call('conversations.get', { conversationId })).messages;
    const last = messages[messages.length - 1];
    expect(last.status).toBe('stopped');
    expect(last.tokenCount).toBeLessThan(4000);
  });

  it('regenerates the last reply, replacing it', async () => {
    const before = (await call('conversations.get', { conversationId })).messages;
    const done = nextDone(conversationId);
    const fresh = await call('chat.regenerate', { conversationId });
    const reply = await done;
    const after = (await call('conversations.get', { conversationId })).messages;
    expect(after).toHaveLength(before.length);
    expect(after[after.length - 1]).toMatchObject({ id: fresh.id, status: 'complete' });
    expect(after.some((m) => m.id === before[before.length - 1].id)).toBe(false);
    expect(reply.content.length).toBeGreaterThan(0);
  });

  it('edits a sent message and answers again from there', async () => {
    const messages = (await call('conversations.get', { conversationId })).messages;
    const done = nextDone(conversationId);
    const turn = await call('chat.edit', { messageId: messages[0].id, text: 'Edited question' });
    await done;
    const after = (await call('conversations.get', { conversationId })).messages;
    expect(after.map((m) => m.id)).toEqual([messages[0].id, turn.assistantMessage.id]);
    expect(after[0].content).toBe('Edited question');
    await expect(call('chat.edit', { messageId: after[1].id, text: 'not mine' })).rejects.toMatchObject({ code: 'message/not-editable' });
  });

  it('finds messages by full-text search and renames and deletes conversations', async () => {
    const hits = await call('conversations.search', { query: 'edited' });
    expect(hits.map((h) => h.conversationId)).toEqual([conversationId]);
    await call('conversations.rename', { conversationId, title: 'Lease question' });
    expect((await call('conversations.list', {}))[0].title).toBe('Lease question');
    await call('conversations.delete', { conversationId });
    expect(await call('conversations.search', { query: 'edited' })).toEqual([]);
    await expect(call('conversations.get', { conversationId })).rejects.toMatchObject({ code: 'conversation/not-found' });
  });

  it('uses the per-conversation system prompt and persists settings', async () => {
    const c = await call('conversations.create', { systemPrompt: 'You are brief.' });
    expect((await call('conversations.setSystemPrompt', { conversationId: c.id, systemPrompt: 'Answer in French.' })).systemPrompt).toBe('Answer in French.');
    const done = nextDone(c.id);
    await call('chat.send', { conversationId: c.id, text: 'Bonjour' });
    expect((await done).status).toBe('complete');
    expect(await call('settings.get', {})).toMatchObject({ threads: 1, contextSize: 2048, maxTokens: 48 });
  });

  it('a shared document takes the same path as a collection: passages retrieved within it alone, given with the question, the answer attributed', async () => {
    const { generateDocumentFixtures } = await import('../fixtures/documents.ts');
    const fx = await generateDocumentFixtures();
    const without = await call('conversations.create', {});
    let done = nextDone(without.id);
    await call('chat.send', { conversationId: without.id, text: 'What was found about troponin?' });
    const plain = await done;
    expect(plain.grounding).toBeNull();
    const withDoc = await call('conversations.create', {});
    const { document } = await call('documents.import', { file: grant(fx.docx3) });
    await enclave.documents.whenIdle(document.id);
    // Another document in the library, not shared: never a source of this conversation.
    const other = await call('documents.import', { file: grant(fx.markdown) });
    await enclave.documents.whenIdle(other.document.id);
    await call('conversations.attachDocument', { conversationId: withDoc.id, documentId: document.id });
    done = nextDone(withDoc.id);
    await call('chat.send', { conversationId: withDoc.id, text: 'What was found about troponin?' });
    const grounded = await done;
    expect(grounded.status).toBe('complete');
    // The passages were in the prompt: it grew by at least the finding asked about.
    const promptWithout = plain.contextTokens! - plain.tokenCount!;
    const promptWith = grounded.contextTokens! - grounded.tokenCount!;
    expect(promptWith - promptWithout).toBeGreaterThan(enclave.engine.countTokens('Findings: troponin normal.'));
    // The model's sentences (a looping story) are not supported and are marked; what the document
    // says is offered instead, verbatim, from its own page.
    expect(grounded.grounding!.sentences.length).toBeGreaterThan(0);
    expect(grounded.grounding!.sentences.every((s) => s.support === 'unsupported')).toBe(true);
    const evidence = grounded.sources.filter((s) => grounded.grounding!.evidence.includes(s.number));
    expect(evidence[0]).toMatchObject({ documentId: document.id, pageNumber: 2, quote: 'Findings: troponin normal.' });
    for (const s of grounded.sources) expect(s.documentId).toBe(document.id);
    // A question whose words are nowhere in it still gets the document (its opening passages), not a refusal.
    done = nextDone(withDoc.id);
    await call('chat.send', { conversationId: withDoc.id, text: 'Summarize it please' });
    const vague = await done;
    expect(vague.tokenCount).toBeGreaterThan(0);
    expect(vague.grounding).not.toBeNull();
  });

  it('reloads the model when the context size changes', async () => {
    await call('settings.update', { contextSize: 1024 });
    expect(await call('engine.status', {})).toMatchObject({ state: 'ready', contextSize: 1024 });
  });
});
