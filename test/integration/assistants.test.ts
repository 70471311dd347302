// Domain assistants on a real SQLite file and a real GGUF model: built-in packs, create from a
// pack, edit, delete keeping conversations, default collections, and what an assistant asks of
// a reply (its instructions, its settings, answering only from documents) with KV reuse intact.
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { editableFields } from '../../electron/contract/methods.ts';
import type { Message } from '../../electron/contract/types.ts';
import { createEnclave, type Enclave } from '../../electron/core/app.ts';
import { builtinPacksDir, loadPacks } from '../../electron/services/assistants/packs.ts';
import { ENDLESS_LORA, ENDLESS_MODEL, HOSTILE_MODEL, WRONG_ARCH_LORA } from '../fixtures/paths.ts';
import { ask as askAndWait, granter, routerCaller } from '../support/router-call.ts';

let dir: string;
let enclave: Enclave;
const call = routerCaller(() => enclave);
const grant = granter(() => enclave);
const open = () => createEnclave({ dataDir: join(dir, 'data'), mode: 'web', version: 'test', settingsOverride: { threads: 1, contextSize: 2048, gpu: 'off', maxTokens: 40 } });

const ask = (conversationId: string, text: string): Promise<Message> => askAndWait(enclave, conversationId, text);

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'enclave-assistants-'));
  enclave = open();
  await call('models.add', { file: grant(ENDLESS_MODEL) });
  await enclave.models.settled;
});

afterAll(async () => {
  await enclave.shutdown();
  rmSync(dir, { recursive: true, force: true });
});

describe('assistant packs', () => {
  it('every built-in pack validates: a clinic and a law pack, each with several assistants and real instructions', () => {
    const errors: string[] = [];
    const packs = loadPacks(builtinPacksDir(), (m) => errors.push(m));
    expect(errors).toEqual([]);
    expect(packs.map((p) => p.id).sort()).toEqual(['clinic', 'law']);
    for (const pack of packs) {
      expect(pack.assistants.length).toBeGreaterThanOrEqual(3);
      expect(pack.modelHint.parameters).toBeTruthy();
      for (const a of pack.assistants) expect(a.systemPrompt.length, a.key).toBeGreaterThan(300);
    }
  });

  it('a broken pack is refused with a message naming the field; the others still load', () => {
    const packDir = join(dir, 'packs');
    mkdirSync(packDir, { recursive: true });
    const law = JSON.parse(readFileSync(join(builtinPacksDir(), 'law.json'), 'utf8'));
    writeFileSync(join(packDir, 'a-good.json'), JSON.stringify(law));
    writeFileSync(join(packDir, 'b-colour.json'), JSON.stringify({ ...law, id: 'b', assistants: [law.assistants[0], { ...law.assistants[1], color: 'brown' }] }));
    writeFileSync(join(packDir, 'c-version.json'), JSON.stringify({ ...law, id: 'c', version: 7 }));
    writeFileSync(join(packDir, 'd-code.json'), JSON.stringify({ ...law, id: 'd', script: 'require("child_process")' }));
    writeFileSync(join(packDir, 'e-broken.json'), '{ "format": ');
    const errors: string[] = [];
    const packs = loadPacks(packDir, (m) => errors.push(m));
    expect(packs.map((p) => p.id)).toEqual(['law']);
    expect(errors[0]).toBe('b-colour.json is not a valid assistant pack: assistants.1.color: a colour like #2f7d6d.');
    expect(errors[1]).toBe('c-version.json is not a valid assistant pack: version: only version 1 is understood.');
    expect(errors[2]).toMatch(/^d-code\.json is not a valid assistant pack: .*script/);
    expect(errors[3]).toMatch(/^e-broken\.json is not valid JSON/);
  });
});

describe('LoRA adapters', () => {
  it('an adapter changes what the model writes, and its scale matters; another architecture, a model or a cut file is refused', async () => {
    const adapter = await call('adapters.add', { file: grant(ENDLESS_LORA) });
    expect(adapter).toMatchObject({ name: 'Brown Dog Adapter', architecture: 'llama' });
    const fields = (scale: number) => ({
      name: `Dog ${scale}`, description: '', color: '#884422', domain: 'other', systemPrompt: '', temperature: 0, topP: null, maxTokens: 16,
      answerOnlyFromDocuments: false, collectionIds: [], summaryKinds: [], adapters: [{ adapterId: adapter.id, scale }],
    });
    const full = await call('assistants.create', { fields: fields(1) });
    const half = await call('assistants.create', { fields: fields(0.5) });
    expect(full.adapters).toEqual([{ adapterId: adapter.id, scale: 1 }]);
    const plainReply = await ask((await call('conversations.create', {})).id, 'Tell me a story');
    const withAdapter = (await call('conversations.create', { assistantId: full.id })).id;
    const fullReply = await ask(withAdapter, 'Tell me a story');
    expect(plainReply.content).toMatch(/^The quick brown fox jumps/);
    expect(fullReply.content).toMatch(/^The quick brown dog! Then/);
    // The next turn with the same adapter keeps the context and its cache: only the new turn is read.
    const before = enclave.engine.tokenUsage(withAdapter)!.input;
    const next = await ask(withAdapter, 'And then?');
    expect(next.content).toContain('brown dog');
    expect(enclave.engine.tokenUsage(withAdapter)!.input - before).toBeLessThan(next.contextTokens! - fullReply.tokenCount! - 8);
    // At half the scale the delta is too small to change the choice.
    const halfReply = await ask((await call('conversations.create', { assistantId: half.id })).id, 'Tell me a story');
    expect(halfReply.content).toMatch(/^The quick brown fox jumps/);

    await expect(call('adapters.add', { file: grant(WRONG_ARCH_LORA) })).rejects.toMatchObject({
      code: 'adapter/mismatch',
      message: '“Qwen Adapter” was made for a qwen2 model; “Endless Test Model” is llama. Choose an adapter made for this model.',
    });
    await expect(call('adapters.add', { file: grant(ENDLESS_MODEL) })).rejects.toMatchObject({ code: 'adapter/not-lora' });
    const cut = join(dir, 'cut-lora.gguf');
    writeFileSync(cut, readFileSync(ENDLESS_LORA).subarray(0, 1500));
    await expect(call('adapters.add', { file: grant(cut) })).rejects.toMatchObject({ code: 'model/truncated' });
    expect((await call('adapters.list', {})).map((a) => a.name)).toEqual(['Brown Dog Adapter']);

    // Removed from the library, it is removed from every assistant that applied it.
    await call('adapters.remove', { adapterId: adapter.id });
    expect((await call('assistants.list', {})).find((a) => a.id === full.id)!.adapters).toEqual([]);
    expect((await ask(withAdapter, 'Once more')).content).toMatch(/^The quick brown fox/);
  });
});

describe('assistants', () => {
  it('General and the built-in assistants are there from the start; every conversation belongs to one', async () => {
    const list = await call('assistants.list', {});
    expect(list[0]).toMatchObject({ id: 'general', name: 'General' });
    expect(list.map((a) => a.name)).toEqual(expect.arrayContaining(['Clinic — notes & letters', 'Law — contract review']));
    const law = list.find((a) => a.name === 'Law — contract review')!;
    expect(law.origin).toMatchObject({ packId: 'law', key: 'contract-review', modelHint: { parameters: '1–8 B' } });
    expect((await call('conversations.create', {})).assistantId).toBe('general');
  });

  it('creates from a pack template, edits, duplicates; a new conversation answers from its default collections', async () => {
    const created = await call('assistants.create', { template: { packId: 'clinic', key: 'patient-explanation' } });
    expect(created).toMatchObject({ name: 'Clinic — plain-language explanations', domain: 'clinic', temperature: 0.3 });
    const matter = await call('collections.create', { name: 'Patient 17' });
    const edited = await call('assistants.update', {
      assistantId: created.id,
      fields: { ...editableFields(created), name: 'Explain to Mrs Lopez', systemPrompt: 'Explain in plain words.', collectionIds: [matter.id, 'no-such-collection'] },
    });
    expect(edited).toMatchObject({ name: 'Explain to Mrs Lopez', systemPrompt: 'Explain in plain words.', collectionIds: [matter.id] });
    const copy = await call('assistants.duplicate', { assistantId: edited.id });
    expect(copy).toMatchObject({ name: 'Explain to Mrs Lopez (copy)', collectionIds: [matter.id] });
    const c = await call('conversations.create', { assistantId: edited.id });
    expect(c.assistantId).toBe(edited.id);
    expect((await call('conversations.get', { conversationId: c.id })).collectionIds).toEqual([matter.id]);
    // A deleted collection leaves its assistants, never breaks them.
    await call('collections.delete', { collectionId: matter.id });
    expect((await call('assistants.list', {})).find((a) => a.id === edited.id)!.collectionIds).toEqual([]);
  });

  it('its instructions lead the system prompt and its settings apply; the next turn still reuses the cached conversation', async () => {
    const a = await call('assistants.create', {
      fields: { name: 'Terse', description: '', color: '#123456', domain: 'other', systemPrompt: 'Answer in one short sentence. '.repeat(8), temperature: 0, topP: null, maxTokens: 16, answerOnlyFromDocuments: false, collectionIds: [], summaryKinds: [] },
    });
    const plain = await call('conversations.create', {});
    const withAssistant = await call('conversations.create', { assistantId: a.id });
    const p1 = await ask(plain.id, 'Tell me a story');
    const a1 = await ask(withAssistant.id, 'Tell me a story');
    // Its instructions were read: the prompt is longer by about their length.
    const extra = a1.contextTokens! - a1.tokenCount! - (p1.contextTokens! - p1.tokenCount!);
    expect(extra).toBeGreaterThanOrEqual(enclave.engine.countTokens(a.systemPrompt.trim()));
    // Its own maximum reply length, not the app's (40).
    expect(a1.tokenCount).toBe(16);
    const before = enclave.engine.tokenUsage(withAssistant.id)!.input;
    const a2 = await ask(withAssistant.id, 'And then?');
    const read = enclave.engine.tokenUsage(withAssistant.id)!.input - before;
    // Only the new turn was read: not the instructions, not the first exchange.
    expect(read).toBeLessThan(a2.contextTokens! - a1.contextTokens! + 8);
    expect(read).toBeLessThan(enclave.engine.countTokens(a.systemPrompt));
  });

  it('an assistant that answers only from documents says so when the conversation has none, without asking the model', async () => {
    const law = (await call('assistants.list', {})).find((x) => x.name === 'Law — contract review')!;
    expect(law.answerOnlyFromDocuments).toBe(true);
    const c = await call('conversations.create', { assistantId: law.id });
    const reply = await ask(c.id, 'Which law governs?');
    expect(reply.content).toBe('“Law — contract review” answers only from documents, and this conversation has none. Choose a collection under “Answer from”, or share a document with this conversation.');
    expect(reply.tokenCount).toBeNull();
  });

  it('deleting an assistant keeps its conversations, which move to General; General itself cannot be deleted', async () => {
    const a = await call('assistants.create', { template: { packId: 'law', key: 'correspondence' } });
    const c1 = await call('conversations.create', { assistantId: a.id });
    const c2 = await call('conversations.create', { assistantId: a.id });
    await ask(c1.id, 'Draft a letter');
    expect((await call('assistants.list', {})).find((x) => x.id === a.id)!.conversationCount).toBe(2);
    expect(await call('assistants.delete', { assistantId: a.id })).toEqual({ deleted: true, movedConversations: 2 });
    for (const c of [c1, c2]) expect((await call('conversations.get', { conversationId: c.id })).conversation.assistantId).toBe('general');
    expect((await call('conversations.get', { conversationId: c1.id })).messages).toHaveLength(2);
    await expect(call('assistants.delete', { assistantId: 'general' })).rejects.toMatchObject({ code: 'assistant/general' });
    await expect(call('assistants.create', { template: { packId: 'law', key: 'nope' } })).rejects.toMatchObject({ code: 'assistant/template-not-found' });
    await expect(call('conversations.create', { assistantId: a.id })).rejects.toMatchObject({ code: 'assistant/not-found' });
  });

  it('exports an assistant as one file (adapters by SHA-256) and imports it back; a file that is not one is refused, naming the field', async () => {
    const adapter = await call('adapters.add', { file: grant(ENDLESS_LORA) });
    const a = await call('assistants.create', { template: { packId: 'clinic', key: 'notes-and-letters' } });
    await call('assistants.update', { assistantId: a.id, fields: { ...editableFields(a), adapters: [{ adapterId: adapter.id, scale: 0.75 }] } });
    const { fileName, text } = await call('assistants.export', { assistantId: a.id });
    expect(fileName).toBe('Clinic _ notes _ letters.enclave-assistant.json');
    const file = JSON.parse(text);
    expect(file).toMatchObject({ format: 'enclave.assistant', version: 1, assistant: { name: 'Clinic — notes & letters', temperature: 0.2 } });
    expect(file.adapters).toEqual([{ name: 'Brown Dog Adapter', fileName: 'endless-lora.gguf', architecture: 'llama', sha256: createHash('sha256').update(readFileSync(ENDLESS_LORA)).digest('hex'), scale: 0.75 }]);
    await call('assistants.delete', { assistantId: a.id });

    const back = await call('assistants.import', { text });
    expect(back.missing).toEqual([]);
    expect(editableFields(back.assistant)).toEqual({ ...editableFields(a), adapters: [{ adapterId: adapter.id, scale: 0.75 }] });
    expect(back.assistant.origin).toEqual(a.origin);

    // An adapter the library does not hold (another file, whatever its name) is left out, and said.
    const other = JSON.stringify({ ...file, adapters: [{ ...file.adapters[0], sha256: 'a'.repeat(64) }] });
    const partial = await call('assistants.import', { text: other });
    expect(partial.assistant.adapters).toEqual([]);
    expect(partial.missing).toEqual([`“Brown Dog Adapter” (endless-lora.gguf, SHA-256 aaaaaaaaaaaa…)`]);

    for (const [bad, message] of [
      ['not json', 'This file is not an Enclave assistant: it is not valid JSON.'],
      [JSON.stringify({ ...file, version: 2 }), 'This file is not a valid Enclave assistant: version: only version 1 is understood.'],
      [JSON.stringify({ ...file, assistant: { ...file.assistant, onLoad: 'fetch("x")' } }), /^This file is not a valid Enclave assistant: assistant: Unrecognized key/],
      [JSON.stringify({ ...file, assistant: { ...file.assistant, systemPrompt: 'x'.repeat(20_001) } }), /^This file is not a valid Enclave assistant: assistant\.systemPrompt:/],
    ] as const) {
      await expect(call('assistants.import', { text: bad })).rejects.toMatchObject({ code: 'assistant/bad-file', message: expect.stringMatching(typeof message === 'string' ? new RegExp(`^${message.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`) : message) });
    }
    await call('adapters.remove', { adapterId: adapter.id });
  });

  it('loads its preferred model (known by SHA-256) and uses its own context size; a missing one falls back to the active model', async () => {
    const hostile = await call('models.add', { file: grant(HOSTILE_MODEL) });
    await enclave.models.hashPending();
    const library = await call('models.list', {});
    const hashed = library.models.find((m) => m.id === hostile.id)!;
    expect(hashed.sha256).toBe(createHash('sha256').update(readFileSync(HOSTILE_MODEL)).digest('hex'));
    const base = {
      description: '', color: '#224466', domain: 'other', systemPrompt: '', temperature: 0, topP: null, maxTokens: 24,
      answerOnlyFromDocuments: false, collectionIds: [], summaryKinds: [], adapters: [],
    };
    const prefers = await call('assistants.create', { fields: { ...base, name: 'Prefers hostile', preferredModel: { sha256: hashed.sha256!, name: hashed.name }, contextSize: 1024 } });
    const reply = await ask((await call('conversations.create', { assistantId: prefers.id })).id, 'Report');
    expect(reply.modelName).toBe('Hostile Test Model');
    expect(reply.content).toMatch(/^## Findings/);
    expect(enclave.engine.contextSize).toBe(1024);
    // General follows the app's settings again: the context goes back to 2048 for it.
    await ask((await call('conversations.create', {})).id, 'Hello');
    expect(enclave.engine.contextSize).toBe(2048);

    const missing = await call('assistants.create', { fields: { ...base, name: 'Prefers a missing model', preferredModel: { sha256: 'b'.repeat(64), name: 'Llama 3.1 8B' }, contextSize: null } });
    const fallback = await ask((await call('conversations.create', { assistantId: missing.id })).id, 'Hello');
    expect(fallback.status).toBe('complete');
    expect(fallback.modelName).toBe('Hostile Test Model'); // the active model
    await call('models.activate', { modelId: library.models.find((m) => m.name === 'Endless Test Model')!.id });
  });

  it('a built-in assistant the user deleted is not brought back at the next start', async () => {
    const builtin = (await call('assistants.list', {})).find((x) => x.name === 'Clinic — discharge summaries')!;
    await call('assistants.delete', { assistantId: builtin.id });
    await enclave.shutdown();
    enclave = open();
    const names = (await call('assistants.list', {})).map((a) => a.name);
    expect(names).not.toContain('Clinic — discharge summaries');
    expect(names).toContain('Clinic — notes & letters');
  });
});
