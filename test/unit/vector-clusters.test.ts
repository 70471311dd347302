// Vector search over large scopes by partitions (vector-clusters.ts): the library's vectors grouped
// around learnt centroids, a question searching the partitions of its nearest ones. Checked against
// exact cosine search on seeded vectors in groups, before grouping, after, while the vectors move to
// new centroids, after deletes, and after a new embedding space.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openDatabase, type Database } from '../../electron/services/store/db.ts';
import { RetrievalStore } from '../../electron/services/store/retrieval-store.ts';
import { seededRandom as seeded } from '../../electron/core/seeded-random.ts';

const DIMS = 32;
const GROUPS = 40;

let dir: string;
let db: Database;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'enclave-clusters-'));
  db = openDatabase(join(dir, 'enclave.db'));
});

afterEach(() => {
  if (db.open) db.close();
  rmSync(dir, { recursive: true, force: true });
});

/** Normal deviates (Box–Muller) from the seeded generator. */
const normal = (rand: () => number) => Math.sqrt(-2 * Math.log(rand() + 1e-12)) * Math.cos(2 * Math.PI * rand());

const rand = seeded(99);
const centers = Array.from({ length: GROUPS }, () => Float32Array.from({ length: DIMS }, () => normal(rand)));
const near = (r: () => number, spread = 0.35) => {
  const c = centers[Math.floor(r() * GROUPS)];
  return Float32Array.from(c, (x) => x + spread * normal(r));
};

function store(): RetrievalStore {
  const s = new RetrievalStore(db);
  s.exactVectorUpTo = 0;
  s.clusters.clusterFrom = 1000;
  s.clusters.clusters = 32;
  s.clusters.probes = 6;
  s.resetEmbeddings(DIMS);
  return s;
}

function addDocument(s: RetrievalStore, id: string, n: number, r: () => number): void {
  db.prepare(
    `INSERT INTO documents (id, title, file_name, kind, source_path, size_bytes, sha256, paginated, page_count, status, created_at, updated_at)
     VALUES (?, ?, ?, 'txt', '', 1, ?, 1, 1, 'ready', 0, 0)`,
  ).run(id, id, `${id}.txt`, id);
  s.writeChunks(id, Array.from({ length: n }, (_, i) => ({ pageNumber: i + 1, charStart: 0, charEnd: 4, text: `passage ${i}` })));
  const ids = db.prepare('SELECT id FROM chunks WHERE document_id = ? ORDER BY id').pluck().all(id) as number[];
  s.writeEmbeddings(ids.map((chunkId) => ({ chunkId, embedding: near(r) })));
}

const documents = () => db.prepare('SELECT id FROM documents').pluck().all() as string[];

/** Exact cosine top-k over every vector in the documents. */
function exact(query: Float32Array, k: number): number[] {
  return db
    .prepare(
      `SELECT e.chunk_id FROM chunk_embeddings e JOIN chunks c ON c.id = e.chunk_id WHERE c.document_id IN (SELECT value FROM json_each(?))
       ORDER BY vec_distance_cosine(e.embedding, ?), e.chunk_id LIMIT ?`,
    )
    .pluck()
    .all(JSON.stringify(documents()), Buffer.from(query.buffer), k) as number[];
}

/** Mean share of the exact 10 nearest the search finds, over 30 questions. */
function recall(s: RetrievalStore, seed: number): number {
  const r = seeded(seed);
  let found = 0;
  for (let i = 0; i < 30; i++) {
    const q = near(r, 0.5);
    const truth = new Set(exact(q, 10));
    found += s.vector(q, documents(), 10).filter((h) => truth.has(h.chunkId)).length;
  }
  return found / 300;
}

const pause = () => new Promise<void>((r) => setImmediate(r));
const partitions = () => db.prepare('SELECT COUNT(DISTINCT cluster) FROM chunk_codes').pluck().get() as number;
const generations = () => db.prepare('SELECT generation, COUNT(*) AS n FROM chunk_clusters GROUP BY generation ORDER BY generation').all() as { generation: number; n: number }[];

describe('vector partitions', () => {
  it('group a large library around learnt centroids; a question reads a few partitions and still finds the nearest', async () => {
    const s = store();
    const r = seeded(1);
    addDocument(s, 'small', 600, r);
    // Below the size for grouping: one partition, nothing due.
    expect(s.clusters.due()).toBe(false);
    expect(partitions()).toBe(1);
    const before = recall(s, 5);

    addDocument(s, 'more', 1400, r);
    expect(s.clusters.due()).toBe(true);
    await s.clusters.maintain(pause, () => false);
    expect(s.clusters.due()).toBe(false);
    expect(generations()).toEqual([{ generation: 1, n: 2000 }]);
    expect(partitions()).toBeGreaterThan(20);
    expect(db.prepare('SELECT COUNT(*) FROM vector_centroids').pluck().get()).toBe(32);
    // A question reads 6 of 32 partitions...
    const q = near(seeded(77));
    expect(s.clusters.partitionsFor(q)).toHaveLength(6);
    // ...and finds (nearly) what an exact search over every vector finds.
    const after = recall(s, 5);
    expect(after).toBeGreaterThanOrEqual(0.9);
    expect(before).toBeGreaterThanOrEqual(0.9);

    // New vectors go straight to their nearest centroid's partition.
    addDocument(s, 'new', 200, r);
    expect(generations()).toEqual([{ generation: 1, n: 2200 }]);
    expect(recall(s, 6)).toBeGreaterThanOrEqual(0.9);
  });

  it('learn again when the library has doubled; while the vectors move both generations are searched; then the old centroids go', async () => {
    const s = store();
    const r = seeded(2);
    addDocument(s, 'a', 1200, r);
    await s.clusters.maintain(pause, () => false);
    addDocument(s, 'b', 1300, r);
    expect(s.clusters.due()).toBe(true);
    // Stopped part-way through moving the vectors to the second generation's partitions.
    await s.clusters.maintain(pause, () => (db.prepare('SELECT COUNT(*) FROM chunk_clusters WHERE generation = 2').pluck().get() as number) >= 1000);
    const mid = generations();
    expect(mid.map((g) => g.generation)).toEqual([1, 2]);
    expect(s.clusters.partitionsFor(near(seeded(3)))).toHaveLength(12);
    expect(recall(s, 8)).toBeGreaterThanOrEqual(0.9);
    await s.clusters.maintain(pause, () => false);
    expect(generations()).toEqual([{ generation: 2, n: 2500 }]);
    expect(db.prepare('SELECT DISTINCT generation FROM vector_centroids').pluck().all()).toEqual([2]);
    expect(recall(s, 8)).toBeGreaterThanOrEqual(0.9);
  });

  it('never return a deleted chunk, and start over with a new embedding space', async () => {
    const s = store();
    const r = seeded(4);
    addDocument(s, 'a', 800, r);
    addDocument(s, 'b', 800, r);
    await s.clusters.maintain(pause, () => false);
    const bIds = new Set(db.prepare("SELECT id FROM chunks WHERE document_id = 'b'").pluck().all() as number[]);
    db.prepare("DELETE FROM documents WHERE id = 'b'").run();
    // A deleted passage's code goes with it, at once.
    expect(db.prepare('SELECT COUNT(*) FROM chunk_codes').pluck().get()).toBe(800);
    expect(generations()).toEqual([{ generation: 1, n: 800 }]);
    for (let i = 0; i < 10; i++) for (const h of s.vector(near(seeded(50 + i)), ['a'], 10)) expect(bIds.has(h.chunkId)).toBe(false);
    expect(recall(s, 9)).toBeGreaterThanOrEqual(0.9);

    s.resetEmbeddings(DIMS);
    expect(db.prepare('SELECT COUNT(*) FROM vector_centroids').pluck().get()).toBe(0);
    expect(db.prepare('SELECT COUNT(*) FROM chunk_clusters').pluck().get()).toBe(0);
    expect(s.clusters.partitionsFor(near(seeded(3)))).toEqual([0]);
    expect(db.prepare('SELECT COUNT(*) FROM chunk_codes').pluck().get()).toBe(0);
  });

  it('a library from before partitions keeps its vectors: the prefilter is rebuilt with them in partition 0, then as plain codes', () => {
    db.close();
    const file = join(dir, 'old.db');
    const old = openDatabase(file, { targetVersion: 22 });
    old.prepare(
      `INSERT INTO documents (id, title, file_name, kind, source_path, size_bytes, sha256, paginated, page_count, status, created_at, updated_at)
       VALUES ('a', 'a', 'a.txt', 'txt', '', 1, 'a', 1, 1, 'ready', 0, 0)`,
    ).run();
    old.exec(`CREATE VIRTUAL TABLE chunk_bits USING vec0(embedding bit[${DIMS}])`);
    const r = seeded(12);
    for (let i = 0; i < 50; i++) {
      const id = old.prepare("INSERT INTO chunks (document_id, page_number, char_start, char_end, text) VALUES ('a', 1, 0, 4, 'text')").run().lastInsertRowid;
      const v = Buffer.from(near(r).buffer);
      old.prepare('INSERT INTO chunk_embeddings (chunk_id, embedding) VALUES (?, ?)').run(id, v);
      old.prepare('INSERT INTO chunk_bits (rowid, embedding) VALUES (?, vec_quantize_binary(?))').run(BigInt(id), v);
    }
    old.close();
    db = openDatabase(file);
    expect(db.prepare("SELECT COUNT(*) FROM sqlite_master WHERE name = 'chunk_bits'").pluck().get()).toBe(0);
    expect(db.prepare('SELECT COUNT(*) FROM chunk_codes WHERE cluster = 0').pluck().get()).toBe(50);
    // Each code is the vector's own sign bits.
    const [chunkId, code] = db.prepare('SELECT chunk_id, code FROM chunk_codes LIMIT 1').raw().get() as [number, Buffer];
    const vector = new Float32Array(Uint8Array.from(db.prepare('SELECT embedding FROM chunk_embeddings WHERE chunk_id = ?').pluck().get(chunkId) as Buffer).buffer);
    const bits = new Uint8Array(DIMS / 8);
    vector.forEach((x, i) => {
      if (x > 0) bits[i >> 3] |= 1 << (i & 7);
    });
    expect(Buffer.from(bits).equals(code)).toBe(true);
    expect(generations()).toEqual([{ generation: 0, n: 50 }]);
    const s = new RetrievalStore(db);
    s.exactVectorUpTo = 0;
    const q = near(seeded(13));
    expect(s.vector(q, ['a'], 5).map((h) => h.chunkId)).toEqual(exact(q, 5));
  });
});
