// Retention and legal holds on a real library file: a rule previews what it deletes, then deletes
// it for real (rows, search entries, Enclave's copy of the file, and the words themselves from the
// database's bytes) and records it; a legal hold keeps what it covers from the rule and from every
// way of deleting by hand, each with a clear message; releasing it lets the rule go on; the sweep at
// start deletes what came due while Enclave was closed.
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEnclave, documentsDir, type Enclave } from '../../electron/core/app.ts';
import type { Collection, DocumentInfo } from '../../electron/contract/types.ts';
import { DAY_MS } from '../../electron/services/retention/retention-policy.ts';
import { granter, routerCaller } from '../support/router-call.ts';

const dir = mkdtempSync(join(tmpdir(), 'enclave-retention-'));
const dataDir = join(dir, 'data');
let enclave: Enclave;
const call = routerCaller(() => enclave);
const grant = granter(() => enclave);
/** A word found nowhere else: it must be gone from the file once its document and conversation are. */
const SECRET = 'zorblaxiphon';

async function add(name: string, text: string, owned = false): Promise<DocumentInfo> {
  let path = join(dir, name);
  writeFileSync(path, text);
  if (owned) {
    // As a browser-mode upload: Enclave's own copy under the data folder, deleted with the document.
    const copy = join(documentsDir(dataDir), `upload-${name}`, name);
    mkdirSync(dirname(copy), { recursive: true });
    copyFileSync(path, copy);
    path = copy;
  }
  const { document } = await call('documents.import', { file: grant(path) });
  await enclave.documents.whenIdle(document.id);
  return document;
}

const age = (table: 'documents' | 'conversations', id: string, days: number) =>
  enclave.db.prepare(`UPDATE ${table} SET ${table === 'documents' ? 'created_at' : 'updated_at'} = ? WHERE id = ?`).run(Date.now() - days * DAY_MS, id);
const refusal = async (method: Parameters<typeof enclave.router.call>[0], input: unknown) => {
  const result = await enclave.router.call(method, input);
  return result.ok ? null : result.error;
};
/** The database and its write-ahead log, as bytes on disk. */
const rawStore = () => Buffer.concat(['enclave.db', 'enclave.db-wal'].map((f) => join(dataDir, f)).filter(existsSync).map((f) => readFileSync(f)));
const matches = (table: string, word: string) => enclave.db.prepare(`SELECT count(*) FROM ${table} WHERE ${table} MATCH ?`).pluck().get(word) as number;

let matter: Collection;
let archive: Collection;
let litigation: Collection;
const docs: Record<string, DocumentInfo> = {};
const convs: Record<string, string> = {};

beforeAll(async () => {
  enclave = createEnclave({ dataDir, mode: 'web', version: 'test' });
  matter = await call('collections.create', { name: 'Matter A' });
  archive = await call('collections.create', { name: 'Archive' });
  litigation = await call('collections.create', { name: 'Litigation' });
  docs.expired = await add('intake-note.txt', `Intake note. The patient reported ${SECRET} symptoms on admission.\n`, true);
  docs.archived = await add('archived.txt', 'An archived letter about the lease renewal.\n');
  docs.held = await add('held.txt', 'A memo under the litigation hold about the supplier dispute.\n');
  docs.loose = await add('loose.txt', 'A note in no collection at all.\n');
  for (const d of [docs.expired, docs.archived, docs.held]) await call('collections.setMembership', { collectionId: matter.id, documentId: d.id, member: true });
  await call('collections.setMembership', { collectionId: archive.id, documentId: docs.archived.id, member: true });
  await call('collections.setMembership', { collectionId: litigation.id, documentId: docs.held.id, member: true });
  for (const d of Object.values(docs)) age('documents', d.id, 40);

  for (const [key, collections, days] of [
    ['stale', [matter.id], 70],
    ['recent', [matter.id], 10],
    ['heldChat', [matter.id, litigation.id], 70],
  ] as const) {
    const c = await call('conversations.create', { title: `Conversation ${key}` });
    await call('conversations.setCollections', { conversationId: c.id, collectionIds: [...collections] });
    enclave.conversations.appendMessage({ conversationId: c.id, role: 'user', content: key === 'stale' ? `What did the note say about ${SECRET}?` : 'What does the memo say?', status: 'complete' });
    age('conversations', c.id, days);
    convs[key] = c.id;
  }
  // The litigation matter has a rule of its own; its hold suspends it.
  await call('collections.setRetention', { collectionId: litigation.id, retention: { documentDays: 30, conversationDays: 30 } });
  await call('collections.setLegalHold', { collectionId: litigation.id, reason: 'Supplier v. Clinic, case 26-114' });
});

afterAll(async () => {
  await enclave.shutdown();
  rmSync(dir, { recursive: true, force: true });
});

describe('retention', () => {
  it('a new collection keeps everything forever, with no hold', () => {
    expect(archive.retention).toEqual({ documentDays: null, conversationDays: null });
    expect(archive.legalHold).toBeNull();
  });

  it('previews what a rule would delete, and what the hold keeps, changing nothing', async () => {
    const plan = await call('collections.planRetention', { collectionId: matter.id, retention: { documentDays: 30, conversationDays: 60 } });
    expect(plan.due.map((i) => [i.kind, i.title]).sort()).toEqual([
      ['conversation', 'Conversation stale'],
      ['document', 'intake-note'],
    ]);
    expect(plan.held.map((i) => [i.kind, i.title, i.heldBy])).toEqual([
      ['document', 'held', ['Litigation']],
      ['conversation', 'Conversation heldChat', ['Litigation']],
    ]);
    expect((await call('collections.list', {})).find((c) => c.id === matter.id)!.retention).toEqual({ documentDays: null, conversationDays: null });
    expect((await call('documents.list', {})).length).toBe(4);
  });

  it('saving the rule deletes what is past its time for real, and records it', async () => {
    const copy = docs.expired.fileName && join(documentsDir(dataDir), 'upload-intake-note.txt', 'intake-note.txt');
    expect(existsSync(copy)).toBe(true);
    enclave.db.pragma('wal_checkpoint(TRUNCATE)');
    // The check below can fail: before, the word is in the file's bytes and in every index.
    expect(rawStore().includes(SECRET)).toBe(true);
    expect(matches('chunks_fts', SECRET)).toBeGreaterThan(0);
    expect(matches('messages_fts', SECRET)).toBeGreaterThan(0);

    const outcome = await call('collections.setRetention', { collectionId: matter.id, retention: { documentDays: 30, conversationDays: 60 } });
    expect(outcome.collection.retention).toEqual({ documentDays: 30, conversationDays: 60 });
    expect(outcome.deleted.map((i) => i.title).sort()).toEqual(['Conversation stale', 'intake-note']);

    expect((await call('documents.list', {})).map((d) => d.title).sort()).toEqual(['archived', 'held', 'loose']);
    expect((await call('conversations.list', {})).map((c) => c.title).sort()).toEqual(['Conversation heldChat', 'Conversation recent']);
    for (const table of ['chunks', 'document_pages']) {
      expect(enclave.db.prepare(`SELECT count(*) FROM ${table} WHERE document_id = ?`).pluck().get(docs.expired.id)).toBe(0);
    }
    expect(matches('chunks_fts', SECRET)).toBe(0);
    expect(matches('document_pages_fts', SECRET)).toBe(0);
    expect(matches('messages_fts', SECRET)).toBe(0);
    expect(existsSync(copy)).toBe(false);
    expect(rawStore().includes(SECRET)).toBe(false);

    const trail = (await call('audit.list', { action: 'retention' })).entries;
    expect(trail.map((e) => e.action).sort()).toEqual(['retention.changed', 'retention.changed', 'retention.deleted', 'retention.deleted', 'retention.hold-placed']);
    const deletedDoc = trail.find((e) => e.action === 'retention.deleted' && e.details.kind === 'document')!;
    expect(deletedDoc.summary).toMatch(/^Deleted by retention: the document “intake-note” \(added 40 days ago; kept 30 days by “Matter A”\)$/);
    expect(deletedDoc.details.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect((await call('audit.verify', {})).intact).toBe(true);
  });

  it('putting an old document or conversation into a collection whose rule would delete it at once is refused, with the reason', async () => {
    const late = await add('late-letter.txt', 'A letter found in a drawer.\n');
    age('documents', late.id, 45);
    expect(await refusal('collections.setMembership', { collectionId: matter.id, documentId: late.id, member: true })).toMatchObject({
      code: 'retention/would-delete',
      message: '“late-letter” was added 45 days ago, and “Matter A” keeps documents 30 days: it would be deleted at once. Change the collection\'s retention first (Documents → the collection → Retention), or keep it in another collection.',
    });
    expect((await call('collections.list', {})).find((c) => c.id === matter.id)!.documentIds).not.toContain(late.id);
    // In a collection that keeps forever as well, it is kept: allowed.
    await call('collections.setMembership', { collectionId: archive.id, documentId: late.id, member: true });
    await call('collections.setMembership', { collectionId: matter.id, documentId: late.id, member: true });
    await call('documents.delete', { documentId: late.id });
    const old = await call('conversations.create', { title: 'Old question' });
    age('conversations', old.id, 90);
    expect(await refusal('conversations.setCollections', { conversationId: old.id, collectionIds: [matter.id] })).toMatchObject({ code: 'retention/would-delete' });
    await call('conversations.delete', { conversationId: old.id });
  });

  it('a legal hold refuses every way of deleting by hand, with a clear message', async () => {
    const held = /is under a legal hold: “Litigation” \(Supplier v\. Clinic, case 26-114\)/;
    expect(await refusal('documents.delete', { documentId: docs.held.id })).toMatchObject({ code: 'retention/held', message: expect.stringMatching(new RegExp(`^“held” ${held.source}`)) });
    expect(await refusal('collections.setMembership', { collectionId: litigation.id, documentId: docs.held.id, member: false })).toMatchObject({ code: 'retention/held' });
    expect(await refusal('collections.delete', { collectionId: litigation.id })).toMatchObject({ code: 'retention/held', message: expect.stringMatching(held) });
    expect(await refusal('conversations.delete', { conversationId: convs.heldChat })).toMatchObject({ code: 'retention/held' });
    expect(await refusal('conversations.setCollections', { conversationId: convs.heldChat, collectionIds: [matter.id] })).toMatchObject({ code: 'retention/held' });
    expect(await refusal('chat.regenerate', { conversationId: convs.heldChat })).toMatchObject({ code: 'retention/held', message: expect.stringMatching(/cannot be edited or regenerated/) });
    // Leaving Matter A is allowed: the hold is Litigation's.
    await call('collections.setMembership', { collectionId: matter.id, documentId: docs.held.id, member: false });
    await call('collections.setMembership', { collectionId: matter.id, documentId: docs.held.id, member: true });
    // What is not held is deleted as before.
    await call('documents.delete', { documentId: docs.loose.id });
    expect((await call('documents.list', {})).map((d) => d.title).sort()).toEqual(['archived', 'held']);
  });

  it('releasing the hold lets the rule delete what it kept, after a preview', async () => {
    const plan = await call('collections.planRetention', { collectionId: litigation.id, legalHold: false });
    expect(plan.due.map((i) => i.title).sort()).toEqual(['Conversation heldChat', 'held']);
    const outcome = await call('collections.setLegalHold', { collectionId: litigation.id, reason: null });
    expect(outcome.collection.legalHold).toBeNull();
    expect(outcome.deleted.map((i) => i.title).sort()).toEqual(['Conversation heldChat', 'held']);
    const actions = (await call('audit.list', { action: 'retention' })).entries.slice(0, 3).map((e) => e.action);
    expect(actions).toEqual(['retention.deleted', 'retention.deleted', 'retention.hold-released']);
  });

  it('what came due while Enclave was closed is deleted at the next start', async () => {
    age('documents', docs.archived.id, 400);
    // Archive keeps forever: the 30 days of Matter A do not apply.
    expect(await enclave.retention.sweep()).toEqual([]);
    await call('collections.setMembership', { collectionId: archive.id, documentId: docs.archived.id, member: false });
    await enclave.shutdown();
    enclave = createEnclave({ dataDir, mode: 'web', version: 'test' });
    await enclave.retention.sweep();
    expect(await call('documents.list', {})).toEqual([]);
    const last = (await call('audit.list', { action: 'retention.deleted' })).entries[0];
    expect(last.summary).toMatch(/the document “archived” \(added 400 days ago; kept 30 days by “Matter A”\)/);
  });
});
