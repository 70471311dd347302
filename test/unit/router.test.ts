import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { METHOD_NAMES } from '../../electron/contract/method-names.ts';
import { methodNames } from '../../electron/contract/methods.ts';
import { createEnclave, type Enclave } from '../../electron/core/app.ts';
import { createRouter } from '../../electron/core/router.ts';

let dir: string;
let enclave: Enclave;

function tableCounts(): Record<string, number> {
  const out: Record<string, number> = {};
  for (const t of ['conversations', 'messages', 'models', 'settings', 'documents', 'document_pages', 'summaries', 'collections', 'chunks', 'assistants', 'adapters']) {
    out[t] = enclave.db.prepare(`SELECT COUNT(*) FROM ${t}`).pluck().get() as number;
  }
  return out;
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'enclave-router-'));
  enclave = createEnclave({ dataDir: dir, mode: 'web', version: 'test' });
});

afterAll(async () => {
  await enclave.shutdown();
  rmSync(dir, { recursive: true, force: true });
});

// Payloads that no method accepts: wrong top-level types, and objects with a key no schema has.
const alwaysInvalid: unknown[] = ['text', 42, true, [], [1, 2], { unexpected: 'key' }, { __proto__: { polluted: true }, extra: 1 }];

const validFields = {
  name: 'Intake', description: '', color: '#336699', domain: 'clinic', systemPrompt: 'Be careful.', temperature: null, topP: null, maxTokens: null,
  answerOnlyFromDocuments: false, collectionIds: [], summaryKinds: [],
};

// For methods that take fields, payloads with the right keys but wrong types or values.
const wrongFields: Partial<Record<(typeof METHOD_NAMES)[number], unknown[]>> = {
  'settings.update': [{ allowGeneralAnswers: 'yes' }, { threads: -1 }, { threads: 1.5 }, { contextSize: 10 }, { temperature: 'hot' }, { topP: 0 }, { maxTokens: 1e9 }, { gpu: 'cuda' }],
  'models.add': [{}, { path: '/etc/passwd' }, { file: '/etc/passwd' }, { file: '../../.ssh/id_ed25519' }, { file: 'C:\\Windows\\win.ini' }, { file: 7 }],
  'models.remove': [{}, { modelId: '' }, { modelId: null }],
  'models.activate': [{}, { modelId: 3 }, { modelId: 'x'.repeat(100) }],
  'conversations.create': [{ title: 5 }, { systemPrompt: 'x'.repeat(30_000) }],
  'conversations.get': [{}, { conversationId: '' }, { conversationId: {} }],
  'conversations.rename': [{ conversationId: 'a' }, { conversationId: 'a', title: '   ' }, { conversationId: 'a', title: 'x'.repeat(300) }],
  'conversations.setSystemPrompt': [{ conversationId: 'a' }, { conversationId: 'a', systemPrompt: 1 }],
  'conversations.delete': [{}, { conversationId: 1 }],
  'conversations.attachDocument': [{ conversationId: 'a' }, { conversationId: 'a', documentId: '' }],
  'conversations.detachDocument': [{ documentId: 'a' }, { conversationId: 1, documentId: 'a' }],
  'conversations.search': [{}, { query: 1 }, { query: 'a', limit: 0 }, { query: 'a', limit: 1e6 }],
  'documents.import': [{}, { path: '/etc/passwd' }, { file: '/etc/passwd' }, { file: 'file:///etc/passwd' }, { file: ['a'] }],
  'documents.get': [{}, { documentId: '' }],
  'documents.page': [{ documentId: 'a' }, { documentId: 'a', pageNumber: 0 }, { documentId: 'a', pageNumber: 1.5 }, { documentId: 'a', pageNumber: '1' }],
  'documents.unlock': [{ documentId: 'a' }, { documentId: 'a', password: '' }, { documentId: 'a', password: 5 }],
  'documents.cancel': [{}, { documentId: 7 }],
  'documents.delete': [{}, { documentId: null }],
  'summaries.start': [{ documentId: 'a' }, { documentId: 'a', kind: 'poem' }, { documentId: 1, kind: 'brief' }],
  'summaries.list': [{}, { documentId: 3 }],
  'summaries.cancel': [{}, { summaryId: '' }],
  'summaries.delete': [{}, { summaryId: false }],
  'collections.create': [{}, { name: '' }, { name: '   ' }, { name: 'x'.repeat(200) }],
  'collections.rename': [{ collectionId: 'a' }, { collectionId: 'a', name: '' }],
  'collections.delete': [{}, { collectionId: 5 }],
  'collections.setMembership': [{ collectionId: 'a', documentId: 'b' }, { collectionId: 'a', documentId: 'b', member: 'yes' }],
  'conversations.setCollections': [{ conversationId: 'a' }, { conversationId: 'a', collectionIds: 'c' }, { conversationId: 'a', collectionIds: [1] }],
  'models.setEmbedding': [{}, { modelId: 5 }, { modelId: '' }],
  'assistants.create': [{}, { template: { packId: 'law' } }, { fields: { ...validFields, name: '' } }, { fields: { ...validFields, systemPrompt: 'x'.repeat(2_000_000) } }, { template: { packId: 'law', key: 'a' }, fields: validFields }],
  'assistants.update': [{ assistantId: 'a' }, { assistantId: 'a', fields: { ...validFields, color: 'red' } }, { assistantId: 'a', fields: { ...validFields, temperature: 5 } }, { assistantId: 'a', fields: { ...validFields, adapters: [{ adapterId: 'x', scale: 9 }] } }],
  'assistants.duplicate': [{}, { assistantId: 3 }],
  'adapters.add': [{}, { path: '/tmp/x.gguf' }, { file: '~/x.gguf' }, { file: 3 }],
  'assistants.export': [{}, { assistantId: '' }],
  'assistants.import': [{}, { text: '' }, { text: 'x'.repeat(1_000_001) }, { path: '/etc/passwd' }],
  'adapters.remove': [{}, { adapterId: '' }],
  'assistants.delete': [{}, { assistantId: '' }],
  'chat.send': [{ conversationId: 'a' }, { conversationId: 'a', text: '' }, { conversationId: 'a', text: '   \n ' }, { conversationId: 'a', text: 'x'.repeat(300_000) }],
  'chat.edit': [{ messageId: 'a' }, { messageId: 'a', text: '' }],
  'chat.regenerate': [{}, { conversationId: false }],
  'chat.stop': [{}, { conversationId: [] }],
};

describe('files from the window', () => {
  it('no method takes a path; a handle is granted by main only, used once, and cannot be forged', async () => {
    const forged = 'f_' + 'A'.repeat(24);
    for (const method of ['models.add', 'documents.import', 'adapters.add'] as const) {
      const result = await enclave.router.call(method, { file: forged });
      expect(result).toEqual({ ok: false, error: { code: 'file/not-granted', message: 'That file is no longer available to Enclave. Choose it or drop it again.' } });
    }
    const secret = join(dir, 'id_ed25519');
    writeFileSync(secret, 'PRIVATE KEY');
    const handle = enclave.files.grant(secret);
    expect(handle).toMatch(/^f_[A-Za-z0-9_-]{24}$/);
    expect(handle).not.toContain('id_ed25519');
    // Used once (the user chose it, so it is read), then gone.
    const first = await enclave.router.call('documents.import', { file: handle });
    expect(first.ok).toBe(true);
    expect(await enclave.router.call('models.add', { file: handle })).toMatchObject({ ok: false, error: { code: 'file/not-granted' } });
    expect(() => enclave.files.grant('relative/path.txt')).toThrow();
  });
});

describe('router', () => {
  it('the preload list names exactly the contract methods', () => {
    expect([...METHOD_NAMES].sort()).toEqual([...methodNames].sort());
  });

  for (const method of METHOD_NAMES) {
    it(`${method} rejects malformed input with a typed error and writes nothing`, async () => {
      const before = tableCounts();
      for (const payload of [...alwaysInvalid, ...(wrongFields[method] ?? [])]) {
        const result = await enclave.router.call(method, payload);
        expect(result.ok, `${method} accepted ${JSON.stringify(payload)?.slice(0, 60)}`).toBe(false);
        if (!result.ok) {
          expect(result.error.code).toBe('ipc/invalid-input');
          expect(result.error.message).toMatch(new RegExp(`Invalid input for ${method.replace('.', '\\.')}`));
        }
      }
      expect(tableCounts()).toEqual(before);
    });
  }

  it('rejects unknown and non-string method names', async () => {
    for (const method of ['nope', 'constructor', '__proto__', 'toString', 42, null, { m: 1 }]) {
      const result = await enclave.router.call(method, {});
      expect(result).toMatchObject({ ok: false, error: { code: 'ipc/unknown-method' } });
    }
  });

  it('answers valid calls, and a user error from a service comes back as a value', async () => {
    const created = await enclave.router.call('conversations.create', {});
    expect(created.ok).toBe(true);
    const missing = await enclave.router.call('conversations.get', { conversationId: 'does-not-exist' });
    expect(missing).toEqual({ ok: false, error: { code: 'conversation/not-found', message: 'That conversation no longer exists.' } });
    const noModel = await enclave.router.call('chat.send', { conversationId: (created as { value: { id: string } }).value.id, text: 'hi' });
    expect(noModel).toMatchObject({ ok: false, error: { code: 'model/not-loaded' } });
    // Nothing was written for the refused message.
    expect(enclave.db.prepare('SELECT COUNT(*) FROM messages').pluck().get()).toBe(0);
  });

  it('turns a programming error into an internal error value and logs it', async () => {
    const logged: string[] = [];
    const router = createRouter(
      { 'app.info': () => { throw new Error('boom'); } } as never,
      (message) => logged.push(message),
    );
    const result = await router.call('app.info', {});
    expect(result).toMatchObject({ ok: false, error: { code: 'internal' } });
    expect(logged).toEqual(['[router] app.info failed']);
  });
});
