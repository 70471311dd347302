// Enclave's keyword postings (large scopes) against FTS5's own bm25(): the same chunks in the same
// order with the same scores, whatever the scope, however the search is shared among threads, and
// while the postings lag behind the chunks, after deletes, and after SQLite hands out an id again.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openDatabase, type Database } from '../../electron/services/store/db.ts';
import { RetrievalStore } from '../../electron/services/store/retrieval-store.ts';
import { seededRandom as seeded } from '../../electron/core/seeded-random.ts';

let dir: string;
let db: Database;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'enclave-postings-'));
  db = openDatabase(join(dir, 'enclave.db'));
});

afterEach(() => {
  if (db.open) db.close();
  rmSync(dir, { recursive: true, force: true });
});

const WORDS = (
  'agreement party parties terminate termination terminating notice days thirty written licensor licensee license grant ' +
  'affiliates intellectual property governing law laws governed Delaware State confidential confidentiality information ' +
  'years indemnify indemnification liability damages warranty warranties exclusive non-compete competitor assignment ' +
  'consent audit records insurance payment fees royalty royalties territory renewal renew term expiration effective date ' +
  'résumé naïve café Zürich the of and to in a is this shall be'
).split(' ');

function text(rand: () => number): string {
  const n = 5 + Math.floor(rand() * 60);
  return Array.from({ length: n }, () => WORDS[Math.floor(rand() * rand() * WORDS.length)]).join(' ') + '.';
}

const QUESTIONS = [
  'Can a party terminate the agreement on thirty days written notice?',
  'Which State law governs, Delaware?',
  'Does the licensor grant a license to its affiliates of intellectual property?',
  'How long does confidentiality last, in years?',
  'résumé naive cafe Zurich',
  'What royalties and fees are due in the territory during the renewal term?',
  'xylophone',
];

function addDocuments(store: RetrievalStore, ids: string[], rand: () => number, chunks = 40): void {
  const add = db.prepare(
    `INSERT INTO documents (id, title, file_name, kind, source_path, size_bytes, sha256, paginated, page_count, status, created_at, updated_at)
     VALUES (?, ?, ?, 'txt', '', 1, ?, 1, 1, 'ready', 0, 0)`,
  );
  for (const id of ids) {
    add.run(id, id, `${id}.txt`, id);
    store.writeChunks(id, Array.from({ length: chunks }, (_, i) => {
      const t = text(rand);
      return { pageNumber: i + 1, charStart: 0, charEnd: t.length, text: t };
    }));
  }
}

const pause = () => new Promise<void>((r) => setImmediate(r));

/** Two stores on one file: one scores large scopes from the postings, the other with FTS5 alone. */
function stores(): { postings: RetrievalStore; fts: RetrievalStore } {
  const postings = new RetrievalStore(db);
  postings.scoreHereUpTo = 0;
  postings.postings.segmentChunks = 64;
  const fts = new RetrievalStore(db);
  fts.scoreHereUpTo = 0;
  fts.usePostings = false;
  return { postings, fts };
}

function expectSame(postings: RetrievalStore, fts: RetrievalStore, scope: string[], label: string, parts = 1): void {
  for (const q of QUESTIONS) {
    const search = (store: RetrievalStore) =>
      parts === 1
        ? store.bm25(q, scope, 12)
        : Array.from({ length: parts }, (_, index) => store.bm25(q, scope, 12, { index, of: parts }))
            .flat()
            .sort((a, b) => b.score - a.score || a.chunkId - b.chunkId)
            .slice(0, 12);
    const a = search(postings);
    const b = search(fts);
    expect(a.map((h) => h.chunkId), `${label}: ${q}`).toEqual(b.map((h) => h.chunkId));
    a.forEach((h, i) => expect(h.score, `${label}: ${q}`).toBeCloseTo(b[i].score, 9));
    if (q !== 'xylophone') expect(a.length, `${label}: ${q}`).toBeGreaterThan(0);
  }
}

const allDocuments = () => db.prepare('SELECT id FROM documents ORDER BY id').pluck().all() as string[];

describe('keyword postings', () => {
  it('rank exactly as FTS5 does over a whole library, a few documents, and shares of a search', async () => {
    const { postings, fts } = stores();
    addDocuments(postings, Array.from({ length: 12 }, (_, i) => `doc-${String(i).padStart(2, '0')}`), seeded(7));
    expect(postings.postings.behind()).toBe(true);
    expect(await postings.postings.catchUp(pause)).toBe(480);
    expect(postings.postings.behind()).toBe(false);
    expect(postings.postings.coveredUpTo()).toBe(db.prepare('SELECT MAX(id) FROM chunks').pluck().get());
    expect(db.prepare('SELECT COUNT(*) FROM keyword_segments').pluck().get()).toBe(8);
    // Words repeated in a chunk count (tf above 1 is exercised), and accents fold as FTS5 folds them.
    expect(db.prepare("SELECT COUNT(*) FROM keyword_postings WHERE term = 'cafe'").pluck().get()).toBeGreaterThan(0);

    const docs = allDocuments();
    expectSame(postings, fts, docs, 'whole library');
    expectSame(postings, fts, ['doc-03'], 'one document');
    expectSame(postings, fts, ['doc-01', 'doc-02', 'doc-07', 'doc-11'], 'four documents');
    expectSame(postings, fts, docs, 'two shares', 2);
    expectSame(postings, fts, ['doc-01', 'doc-02', 'doc-07', 'doc-11'], 'three shares', 3);
  });

  it('stay exact while they lag behind new chunks, after deletes, and once built again', async () => {
    const { postings, fts } = stores();
    const rand = seeded(11);
    addDocuments(postings, ['a', 'b', 'c', 'd', 'e'], rand);
    await postings.postings.catchUp(pause);
    const covered = postings.postings.coveredUpTo();

    // New documents: the postings cover the old chunks, FTS5 scores the new ones.
    addDocuments(postings, ['f', 'g'], rand);
    expect(postings.postings.coveredUpTo()).toBe(covered);
    expect(postings.postings.behind()).toBe(true);
    expectSame(postings, fts, allDocuments(), 'lagging');
    expectSame(postings, fts, ['a', 'g'], 'lagging, two documents');

    // A document deleted: its chunks are listed as deleted and never found.
    db.prepare("DELETE FROM documents WHERE id = 'b'").run();
    expect(db.prepare('SELECT COUNT(*) FROM keyword_deleted').pluck().get()).toBe(40);
    expectSame(postings, fts, allDocuments(), 'after a delete');
    // Caught up: the new chunks join, and the segments that lost chunks are built without them.
    await postings.postings.catchUp(pause);
    expect(postings.postings.behind()).toBe(false);
    expect(db.prepare('SELECT COUNT(*) FROM keyword_deleted').pluck().get()).toBe(0);
    expectSame(postings, fts, allDocuments(), 'caught up');
    expectSame(postings, fts, allDocuments(), 'caught up, shared', 2);
  });

  it('build again what an id used a second time made stale, and find the new text meanwhile', async () => {
    const { postings, fts } = stores();
    const rand = seeded(23);
    addDocuments(postings, ['a', 'b', 'c'], rand);
    await postings.postings.catchUp(pause);
    // The last document deleted, then a new one: SQLite gives its chunks the freed ids.
    const lastIds = db.prepare("SELECT id FROM chunks WHERE document_id = 'c' ORDER BY id").pluck().all() as number[];
    db.prepare("DELETE FROM documents WHERE id = 'c'").run();
    const add = db.prepare(
      `INSERT INTO documents (id, title, file_name, kind, source_path, size_bytes, sha256, paginated, page_count, status, created_at, updated_at)
       VALUES ('z', 'z', 'z.txt', 'txt', '', 1, 'z', 1, 1, 'ready', 0, 0)`,
    );
    add.run();
    postings.writeChunks('z', [{ pageNumber: 1, charStart: 0, charEnd: 30, text: 'Xylophone royalties: Zürich café agreement.' }]);
    const reused = db.prepare("SELECT id FROM chunks WHERE document_id = 'z'").pluck().get() as number;
    expect(reused).toBe(lastIds[0]);
    expect(db.prepare('SELECT COUNT(*) FROM keyword_segments WHERE stale = 1').pluck().get()).toBeGreaterThan(0);
    // Before the postings are rebuilt the new chunk is found (FTS5 scores the stale range).
    expect(postings.bm25('xylophone', allDocuments(), 5).map((h) => h.chunkId)).toEqual([reused]);
    expectSame(postings, fts, allDocuments(), 'stale');
    await postings.postings.catchUp(pause);
    expect(db.prepare('SELECT COUNT(*) FROM keyword_segments WHERE stale = 1').pluck().get()).toBe(0);
    expect(postings.postings.coveredUpTo()).toBe(reused);
    expect(postings.bm25('xylophone', allDocuments(), 5).map((h) => h.chunkId)).toEqual([reused]);
    expectSame(postings, fts, allDocuments(), 'rebuilt');
  });

  it('stop when asked, leaving whole segments only, and go on from there', async () => {
    const { postings, fts } = stores();
    addDocuments(postings, ['a', 'b', 'c', 'd'], seeded(5));
    let steps = 0;
    const read = await postings.postings.catchUp(pause, () => ++steps > 2);
    expect(read).toBeGreaterThan(0);
    expect(postings.postings.behind()).toBe(true);
    expect(db.prepare('SELECT SUM(length(chunk_ids) / 4) FROM keyword_segments').pluck().get()).toBe(read);
    expectSame(postings, fts, allDocuments(), 'part built');
    await postings.postings.catchUp(pause);
    expect(postings.postings.behind()).toBe(false);
    expectSame(postings, fts, allDocuments(), 'built');
  });

  it("a deleted document's words leave the postings and FTS5's own index blocks, not only its results", async () => {
    const { postings } = stores();
    addDocuments(postings, ['a', 'b'], seeded(3));
    db.prepare(
      `INSERT INTO documents (id, title, file_name, kind, source_path, size_bytes, sha256, paginated, page_count, status, created_at, updated_at)
       VALUES ('secret', 'secret', 'secret.txt', 'txt', '', 1, 'secret', 1, 1, 'ready', 0, 0)`,
    ).run();
    const words = 'The patient 9zyxwvutsrqp was seen on Tuesday.';
    db.prepare("INSERT INTO document_pages (document_id, page_number, text) VALUES ('secret', 1, ?)").run(words);
    postings.writeChunks('secret', [{ pageNumber: 1, charStart: 0, charEnd: words.length, text: words }]);
    addDocuments(postings, ['c'], seeded(4));
    await postings.postings.catchUp(pause);
    const inBlocks = (table: string) => (db.prepare(`SELECT block FROM ${table}`).pluck().all() as Buffer[]).some((b) => b.includes('9zyxwvutsrqp'));
    const inPostings = () => db.prepare("SELECT COUNT(*) FROM keyword_postings WHERE term = '9zyxwvutsrqp'").pluck().get() as number;
    // Merged into single segments first, so the word sits in old blocks that a plain delete only marks.
    // (A token no other word shares a first character with: FTS5 stores it whole, not as a suffix.)
    db.prepare("INSERT INTO chunks_fts (chunks_fts) VALUES ('optimize')").run();
    db.prepare("INSERT INTO document_pages_fts (document_pages_fts) VALUES ('optimize')").run();
    expect(inBlocks('chunks_fts_data')).toBe(true);
    expect(inBlocks('document_pages_fts_data')).toBe(true);
    expect(inPostings()).toBe(1);

    db.prepare("DELETE FROM documents WHERE id = 'secret'").run();
    expect(inBlocks('chunks_fts_data')).toBe(false);
    expect(inBlocks('document_pages_fts_data')).toBe(false);
    await postings.postings.catchUp(pause);
    expect(inPostings()).toBe(0);
    expect(db.prepare('SELECT COUNT(*) FROM keyword_deleted').pluck().get()).toBe(0);
    expect(postings.bm25('9zyxwvutsrqp', allDocuments(), 5)).toEqual([]);
  });
});
