import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ConversationStore, proposeTitle, toFtsQuery } from '../../electron/services/store/conversation-store.ts';
import { openDatabase, schemaVersion, type Database } from '../../electron/services/store/db.ts';
import { latestSchemaVersion, migrations } from '../../electron/services/store/migrations/index.ts';
import { ModelStore } from '../../electron/services/store/model-store.ts';
import { DEFAULT_SETTINGS, SettingsStore } from '../../electron/services/store/settings-store.ts';

let dir: string;
let file: string;
const open: Database[] = [];

function openDb(targetVersion?: number): Database {
  const db = openDatabase(file, { targetVersion });
  open.push(db);
  return db;
}

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'enclave-store-'));
  file = join(dir, 'enclave.db');
});

afterEach(() => {
  for (const db of open.splice(0)) if (db.open) db.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('migrations', () => {
  it('creates the latest schema on an empty file, with WAL and foreign keys on', () => {
    const db = openDb();
    expect(schemaVersion(db)).toBe(latestSchemaVersion);
    expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
    expect(db.pragma('foreign_keys', { simple: true })).toBe(1);
    const tables = db.prepare("SELECT name FROM sqlite_master WHERE type IN ('table') ORDER BY name").pluck().all();
    expect(tables).toEqual(expect.arrayContaining(['conversations', 'messages', 'messages_fts', 'models', 'settings']));
  });

  for (const earlier of migrations.slice(0, -1)) {
    it(`upgrades a file at schema version ${earlier.version} and keeps its data searchable`, () => {
      const old = openDb(earlier.version);
      expect(schemaVersion(old)).toBe(earlier.version);
      // Written as that version wrote it: the columns every version has had since 0001.
      const c = { id: 'conversation-before' };
      old.prepare("INSERT INTO conversations (id, title, title_is_custom, system_prompt, created_at, updated_at) VALUES (?, 'Before upgrade', 1, '', 1, 1)").run(c.id);
      old.prepare("INSERT INTO messages (id, conversation_id, position, role, content, status, created_at) VALUES ('m1', ?, 0, 'user', 'the deposition of the witness', 'complete', 1)").run(c.id);
      old.close();

      const db = openDb();
      expect(schemaVersion(db)).toBe(latestSchemaVersion);
      const upgraded = new ConversationStore(db);
      expect(upgraded.getConversation(c.id)).toMatchObject({ title: 'Before upgrade', assistantId: 'general' });
      expect(upgraded.search('deposition').map((h) => h.conversationId)).toEqual([c.id]);
    });
  }

  it('refuses a file written by a newer Enclave instead of damaging it', () => {
    const db = openDb();
    db.pragma(`user_version = ${latestSchemaVersion + 1}`);
    db.close();
    expect(() => openDb()).toThrow(/newer than this Enclave/);
  });
});

describe('ConversationStore', () => {
  it('creates, lists newest first, renames and deletes conversations with their messages', () => {
    let now = 1000;
    const db = openDb();
    const store = new ConversationStore(db, () => now++);
    const a = store.createConversation();
    const b = store.createConversation({ title: 'Second', systemPrompt: 'Be brief.' });
    expect(a.title).toBe('New conversation');
    expect(b.systemPrompt).toBe('Be brief.');
    store.appendMessage({ conversationId: a.id, role: 'user', content: 'hello', status: 'complete' });
    expect(store.listConversations().map((c) => c.id)).toEqual([a.id, b.id]);
    expect(store.listConversations()[0]).toMatchObject({ messageCount: 1, preview: 'hello' });

    expect(store.renameConversation(b.id, '  Renamed  ')?.title).toBe('Renamed');
    store.proposeTitleIfDefault(b.id, 'should not replace a chosen title');
    expect(store.getConversation(b.id)?.title).toBe('Renamed');

    expect(store.deleteConversation(a.id)).toBe(true);
    expect(store.getConversation(a.id)).toBeNull();
    expect(db.prepare('SELECT COUNT(*) FROM messages').pluck().get()).toBe(0);
    expect(store.search('hello')).toEqual([]);
  });

  it('keeps messages in order and truncates after a position (edit and regenerate)', () => {
    const store = new ConversationStore(openDb());
    const c = store.createConversation();
    const ids = ['one', 'two', 'three', 'four'].map(
      (t, i) => store.appendMessage({ conversationId: c.id, role: i % 2 ? 'assistant' : 'user', content: t, status: 'complete' }).id,
    );
    expect(store.listMessages(c.id).map((m) => m.content)).toEqual(['one', 'two', 'three', 'four']);
    expect(store.deleteMessagesAfter(c.id, store.positionOf(ids[1])!)).toBe(2);
    expect(store.listMessages(c.id).map((m) => m.content)).toEqual(['one', 'two']);
    const next = store.appendMessage({ conversationId: c.id, role: 'user', content: 'five', status: 'complete' });
    expect(store.positionOf(next.id)).toBe(2);
  });

  it('checkpoints a streaming reply and marks it interrupted on the next start, text kept', () => {
    const db = openDb();
    const store = new ConversationStore(db);
    const c = store.createConversation();
    const reply = store.appendMessage({ conversationId: c.id, role: 'assistant', content: '', status: 'streaming' });
    store.checkpoint(reply.id, 'Partial answer so far');
    db.close();

    const reopened = new ConversationStore(openDb());
    expect(reopened.markStreamingInterrupted()).toBe(1);
    const m = reopened.getMessage(reply.id)!;
    expect(m.status).toBe('interrupted');
    expect(m.content).toBe('Partial answer so far');
    // A finished reply is not touched by a late checkpoint.
    reopened.checkpoint(reply.id, 'late write');
    expect(reopened.getMessage(reply.id)!.content).toBe('Partial answer so far');
  });

  it('records how a reply ended with its statistics', () => {
    const store = new ConversationStore(openDb());
    const c = store.createConversation();
    const reply = store.appendMessage({ conversationId: c.id, role: 'assistant', content: '', status: 'streaming' });
    const done = store.finishMessage(reply.id, 'Final text', 'stopped', {
      tokenCount: 12,
      tokensPerSecond: 30.5,
      durationMs: 400,
      contextTokens: 80,
      contextSize: 4096,
      modelName: 'Test',
    });
    expect(done).toMatchObject({ content: 'Final text', status: 'stopped', tokenCount: 12, tokensPerSecond: 30.5, contextTokens: 80, contextSize: 4096, modelName: 'Test' });
  });

  it('searches all messages with FTS5, highlights the match, and treats input as text, not syntax', () => {
    const store = new ConversationStore(openDb());
    const a = store.createConversation({ title: 'Contract review' });
    const b = store.createConversation({ title: 'Clinic' });
    store.appendMessage({ conversationId: a.id, role: 'user', content: 'What is the notice period for termination?', status: 'complete' });
    const hit = store.appendMessage({ conversationId: b.id, role: 'assistant', content: 'The patient reported dizziness after the new medication.', status: 'complete' });

    const results = store.search('medic');
    expect(results).toHaveLength(1);
    expect(results[0]).toMatchObject({ conversationId: b.id, messageId: hit.id, conversationTitle: 'Clinic', role: 'assistant' });
    expect(results[0].snippet.filter((p) => p.match).map((p) => p.text)).toEqual(['medication']);
    expect(results[0].snippet.map((p) => p.text).join('')).toContain('dizziness after the new medication');

    // FTS syntax in user input must neither throw nor change the meaning.
    for (const hostile of ['"unbalanced', 'NEAR(a b)', 'notice OR', '* ^ -', 'termination)']) {
      expect(() => store.search(hostile)).not.toThrow();
    }
    expect(store.search('termination)').map((h) => h.conversationId)).toEqual([a.id]);
    expect(store.search('   ')).toEqual([]);
  });

  it('proposes a short title from the first message', () => {
    expect(proposeTitle('  # Summarize the attached discharge letter please\nmore')).toBe('Summarize the attached discharge letter please');
    expect(proposeTitle('word '.repeat(40)).length).toBeLessThanOrEqual(49);
    expect(proposeTitle('\n\n')).toBe('New conversation');
    expect(toFtsQuery('a "b')).toBe('"a"* "b"*');
  });
});

describe('settings and models', () => {
  it('persists settings over defaults and the active model', () => {
    const db = openDb();
    const settings = new SettingsStore(db);
    expect(settings.get()).toEqual(DEFAULT_SETTINGS);
    settings.update({ threads: 1, temperature: 0.2 });
    db.close();
    const reopened = new SettingsStore(openDb());
    expect(reopened.get()).toEqual({ ...DEFAULT_SETTINGS, threads: 1, temperature: 0.2 });
    expect(reopened.activeModelId()).toBeNull();
    reopened.setActiveModelId('m1');
    expect(reopened.activeModelId()).toBe('m1');
  });

  it('stores model metadata and refuses the same path twice', () => {
    const models = new ModelStore(openDb());
    const m = {
      id: 'm1', path: '/models/a.gguf', fileName: 'a.gguf', name: 'A', architecture: 'llama', parameterCount: 1000,
      quantization: 'Q4_K_M', contextLength: 4096, fileSize: 123, sha256: null, kind: 'chat' as const, addedAt: 1,
    };
    models.insert(m, 'fp1');
    expect(models.list()).toEqual([m]);
    expect(models.findByPath('/models/a.gguf')?.id).toBe('m1');
    expect(models.findByFingerprint('fp1')?.id).toBe('m1');
    expect(models.findByFingerprint('fp2')).toBeNull();
    expect(() => models.insert({ ...m, id: 'm2' })).toThrow(/UNIQUE/);
    models.rename('m1', 'My law model');
    expect(models.get('m1')?.name).toBe('My law model');
    expect(models.remove('m1')).toBe(true);
    expect(models.list()).toEqual([]);
  });
});

describe('keyword scores computed here', () => {
  it('a small scope is scored exactly as FTS5 scores it: stems, accents, words that share a stem, chunk lengths', async () => {
    const { RetrievalStore } = await import('../../electron/services/store/retrieval-store.ts');
    const db = openDb();
    const here = new RetrievalStore(db);
    const fts = new RetrievalStore(db);
    fts.scoreHereUpTo = 0;
    db.prepare(
      `INSERT INTO documents (id, title, file_name, kind, source_path, size_bytes, sha256, paginated, page_count, status, created_at, updated_at)
       VALUES ('x', 'x', 'x.txt', 'txt', '', 1, 'x', 1, 1, 'ready', 0, 0)`,
    ).run();
    const texts = [
      'The parties agree that each party may terminate this Agreement upon thirty (30) days notice.',
      'Le résumé du contrat: la partie naïve paie au café. Termination fees apply.',
      'Governing law. This agreement is governed by the laws of the State of Delaware, without regard to its conflict of laws principles, and the parties submit to Delaware courts.',
      'Terminated agreements: a terminating party pays all fees due; termination does not end confidentiality.',
      'CONFIDENTIALITY — Each Party keeps the other Party’s information confidential for 5 years after termination.',
      'Schedule 1: price list (no words of the question here).',
    ];
    here.writeChunks('x', texts.map((text, i) => ({ pageNumber: i + 1, charStart: 0, charEnd: text.length, text })));
    const questions = [
      'Can the parties or a party terminate the agreement, and what termination fees apply?',
      'Which laws govern, Delaware law?',
      'résumé naive cafe',
      'How long does confidentiality last after termination?',
      'xylophone',
    ];
    for (const q of questions) {
      const a = here.bm25(q, ['x'], 10);
      const b = fts.bm25(q, ['x'], 10);
      expect(a.map((h) => h.chunkId), q).toEqual(b.map((h) => h.chunkId));
      a.forEach((h, i) => expect(h.score, q).toBeCloseTo(b[i].score, 9));
    }
    expect(here.bm25('Can the parties terminate?', ['x'], 10).length).toBeGreaterThan(2);
  });
});

describe('keyword search scope', () => {
  it('returns exactly the in-scope chunks, ranked as a search over the scope alone would be, whether the scope is one run of ids, several, or interleaved', async () => {
    const { RetrievalStore } = await import('../../electron/services/store/retrieval-store.ts');
    const db = openDb();
    const store = new RetrievalStore(db);
    const addDocument = db.prepare(
      `INSERT INTO documents (id, title, file_name, kind, source_path, size_bytes, sha256, paginated, page_count, status, created_at, updated_at)
       VALUES (?, ?, ?, 'txt', '', 1, ?, 1, 1, 'ready', 0, 0)`,
    );
    for (const id of ['a', 'b', 'c', 'd']) addDocument.run(id, id, `${id}.txt`, id);
    const text = (doc: string, i: number) => `${doc} clause ${i}: ${i % 3 === 0 ? 'this agreement is governed by the laws of Delaware' : 'the tenant pays rent monthly under this agreement'}`;
    const chunk = (doc: string, i: number) => ({ pageNumber: i + 1, charStart: 0, charEnd: 10, text: text(doc, i) });
    store.writeChunks('a', Array.from({ length: 6 }, (_, i) => chunk('a', i)));
    store.writeChunks('b', Array.from({ length: 6 }, (_, i) => chunk('b', i)));
    // c and d interleaved (ids not consecutive per document), as no writer does today.
    const insert = db.prepare('INSERT INTO chunks (document_id, page_number, char_start, char_end, text) VALUES (?, ?, 0, 10, ?)');
    for (let i = 0; i < 6; i++) for (const d of ['c', 'd']) insert.run(d, i + 1, text(d, i));
    const viaJoin = (scope: string[]) =>
      (
        db
          .prepare(
            `SELECT c.id AS chunkId, -bm25(chunks_fts) AS score FROM chunks_fts JOIN chunks c ON c.id = chunks_fts.rowid
             WHERE chunks_fts MATCH ? AND c.document_id IN (SELECT value FROM json_each(?)) ORDER BY bm25(chunks_fts), c.id LIMIT 5`,
          )
          .all('"governed" OR "laws" OR "delaware"', JSON.stringify(scope)) as { chunkId: number; score: number }[]
      ).map((h) => h.chunkId);
    const owner = db.prepare('SELECT document_id FROM chunks WHERE id = ?').pluck();
    for (const scope of [['a'], ['b'], ['a', 'b'], ['b', 'a'], ['c'], ['a', 'c'], ['a', 'b', 'c', 'd'], ['d', 'missing']]) {
      const hits = store.bm25('Which laws govern it, Delaware?', scope, 5);
      expect(hits.map((h) => h.chunkId), scope.join('+')).toEqual(viaJoin(scope));
      expect(hits.every((h) => scope.includes(owner.get(h.chunkId) as string))).toBe(true);
      expect(hits.length).toBeGreaterThan(0);
    }
    expect(store.bm25('Which laws govern it?', [], 5)).toEqual([]);

    // Shared among threads, each part searching its share of the scope's ids: the parts merged are the whole.
    store.shareAbove = 0;
    const merged = (scope: string[], of: number) =>
      Array.from({ length: of }, (_, index) => store.bm25('Which laws govern it, Delaware?', scope, 5, { index, of }))
        .flat()
        .sort((x, y) => y.score - x.score || x.chunkId - y.chunkId)
        .slice(0, 5)
        .map((h) => h.chunkId);
    for (const scope of [['a'], ['a', 'b'], ['a', 'c'], ['a', 'b', 'c', 'd']]) {
      for (const of of [2, 3]) expect(merged(scope, of), `${scope.join('+')} in ${of}`).toEqual(viaJoin(scope));
    }

    // The spans follow deletes: a chunk taken from the middle of a leaves a gap; a's search stays exact.
    const spans = () => Object.fromEntries((db.prepare('SELECT document_id, first, last, count FROM chunk_spans').all() as { document_id: string; first: number; last: number; count: number }[]).map((r) => [r.document_id, r]));
    const [aFirst] = db.prepare("SELECT id FROM chunks WHERE document_id = 'a' ORDER BY id").pluck().all() as number[];
    expect(spans().a).toMatchObject({ first: aFirst, last: aFirst + 5, count: 6 });
    db.prepare('DELETE FROM chunks WHERE id = ?').run(aFirst + 3);
    expect(spans().a).toMatchObject({ count: 5 });
    for (const scope of [['a'], ['a', 'b']]) expect(store.bm25('Which laws govern it, Delaware?', scope, 5).map((h) => h.chunkId)).toEqual(viaJoin(scope));
    // Rewritten, a is one run again (after b's ids); deleted, it has no span.
    store.writeChunks('a', Array.from({ length: 4 }, (_, i) => chunk('a', i)));
    const rewritten = spans().a;
    expect(rewritten.last - rewritten.first + 1).toBe(4);
    expect(rewritten.first).toBeGreaterThan(spans().d.last);
    db.prepare("DELETE FROM documents WHERE id = 'a'").run();
    expect(spans().a).toBeUndefined();
    expect(store.bm25('Which laws govern it, Delaware?', ['a'], 5)).toEqual([]);
  });
});
