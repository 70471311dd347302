// The application services on their own (no router, no transport): real SQLite stores, real
// document library; what they change and what they announce.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Collection } from '../../electron/contract/types.ts';
import { AssistantService } from '../../electron/services/assistants/assistant-service.ts';
import { CollectionService } from '../../electron/services/collections/collection-service.ts';
import { ConversationService } from '../../electron/services/conversations/conversation-service.ts';
import { ChatService } from '../../electron/services/chat/chat-service.ts';
import { DocumentLibrary } from '../../electron/services/documents/document-library.ts';
import { Engine } from '../../electron/services/engine/engine.ts';
import { AssistantStore } from '../../electron/services/store/assistant-store.ts';
import { ConversationStore } from '../../electron/services/store/conversation-store.ts';
import { openDatabase, type Database } from '../../electron/services/store/db.ts';
import { DocumentStore } from '../../electron/services/store/document-store.ts';
import { RetrievalStore } from '../../electron/services/store/retrieval-store.ts';
import { SettingsStore } from '../../electron/services/store/settings-store.ts';

let dir: string;
let db: Database;
let documents: DocumentLibrary;
let collections: CollectionService;
let conversations: ConversationService;
const announced: { collections: Collection[][]; conversations: (string | null)[] } = { collections: [], conversations: [] };

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'enclave-services-'));
  db = openDatabase(join(dir, 'enclave.db'));
  const retrieval = new RetrievalStore(db);
  const conversationStore = new ConversationStore(db);
  const documentStore = new DocumentStore(db);
  documents = new DocumentLibrary({ store: documentStore, ownedDir: join(dir, 'documents'), events: { progress: () => {}, changed: () => {} } });
  const engine = new Engine({ logger: { warn: () => {}, error: () => {} } });
  const assistants = new AssistantService({
    store: new AssistantStore(db), conversations: conversationStore, retrieval, settings: new SettingsStore(db), packs: [],
    adapters: { get: () => null, bySha256: () => null },
  });
  const chat = new ChatService({ store: conversationStore, engine, settings: () => new SettingsStore(db).get(), events: { delta: () => {}, done: () => {}, conversationsChanged: () => {} } });
  collections = new CollectionService({ store: retrieval, documents, onChanged: (list) => announced.collections.push(list) });
  conversations = new ConversationService({
    store: conversationStore, retrieval, documentStore, documents, assistants, chat: () => chat, engine,
    onChanged: (id) => announced.conversations.push(id),
  });
});

afterAll(async () => {
  await documents.shutdown();
  db.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('application services', () => {
  it('collections: every change is announced with the whole list; a missing one is a clear error', () => {
    const matter = collections.create('Lopez lease');
    expect(announced.collections.at(-1)!.map((c) => c.name)).toEqual(['Lopez lease']);
    expect(collections.rename(matter.id, 'Lopez v. Harbor').name).toBe('Lopez v. Harbor');
    // A second collection of the same name (in any case) could not be told apart: refused.
    expect(() => collections.create('lopez V. HARBOR')).toThrow('There is already a collection named “Lopez v. Harbor”. Choose another name.');
    const other = collections.create('Lopez appeal');
    expect(() => collections.rename(other.id, 'Lopez v. Harbor')).toThrow(/already a collection named/);
    expect(collections.rename(matter.id, 'Lopez v. Harbor').name).toBe('Lopez v. Harbor');
    collections.delete(other.id);
    expect(() => collections.rename('nope', 'x')).toThrow('That collection no longer exists.');
    expect(() => collections.setMembership(matter.id, 'no-document', true)).toThrow(/no longer in the library/);
    expect(collections.delete(matter.id)).toEqual({ deleted: true });
    expect(announced.collections.at(-1)).toEqual([]);
  });

  it('conversations: created with General, shaped with their documents and collections; sharing checks both exist', async () => {
    const c = conversations.create({ title: 'Intake' });
    expect(announced.conversations.at(-1)).toBe(c.id);
    expect(c.assistantId).toBe('general');
    const path = join(dir, 'note.txt');
    writeFileSync(path, 'The patient was seen on Monday.');
    const { document } = await documents.import(path);
    await documents.whenIdle(document.id);
    expect(conversations.attachDocument(c.id, document.id).map((d) => d.id)).toEqual([document.id]);
    const matter = collections.create('Clinic');
    expect(conversations.setCollections(c.id, [matter.id, matter.id])).toEqual([matter.id]);
    expect(() => conversations.setCollections(c.id, ['gone'])).toThrow('That collection no longer exists.');
    expect(() => conversations.attachDocument('gone', document.id)).toThrow('That conversation no longer exists.');
    const detail = conversations.get(c.id);
    expect(detail).toMatchObject({ conversation: { title: 'Intake' }, documents: [{ id: document.id }], collectionIds: [matter.id], messages: [] });
    expect(conversations.detachDocument(c.id, document.id)).toEqual([]);
    expect(await conversations.delete(c.id)).toEqual({ deleted: true });
    expect(announced.conversations.at(-1)).toBeNull();
    expect(() => conversations.get(c.id)).toThrow('That conversation no longer exists.');
  });
});
