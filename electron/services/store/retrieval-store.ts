// Collections, chunks, embeddings and cited sources. All retrieval SQL lives here.
import { randomUUID } from 'node:crypto';
import type { Database } from 'better-sqlite3';
import type { AnswerGrounding, AnswerSearch, Collection, MessageSource, RetentionRule } from '../../contract/types.ts';
import type { Chunk } from '../retrieval/chunker.ts';
import { KeywordPostings } from './keyword-postings.ts';
import { KeywordScorer } from './keyword-search.ts';
import { VectorClusters } from './vector-clusters.ts';

export type CollectionRow = Collection;

export interface ChunkHit {
  chunkId: number;
  score: number;
}

export interface StoredChunk extends Chunk {
  id: number;
  documentId: string;
  documentTitle: string;
  paginated: boolean;
}

/** A cited source as stored: what the window shows, plus the chunk and the check's outcome. */
export interface SourceRecord extends MessageSource {
  chunkId: number | null;
  verified: boolean;
  failure: string | null;
}

/** A keyword search seeks at most this many runs of chunk ids; a scope in more pieces is filtered by a join. */
const MAX_SEEK_RUNS = 24;

/** A share of a search among threads: this one reads the `index`-th of `of` equal spans of the scope's chunk ids. */
export interface SearchPart {
  index: number;
  of: number;
}

/** A keyword search over more chunks than this is shared among the search threads (each scores a part; BM25's statistics are the whole index's, so the parts' scores compare). */
export const SHARE_ABOVE = 8192;

/** A keyword search over at most this many chunks is scored here, not by FTS5's bm25() (see keyword-search.ts). */
export const SCORE_HERE_UP_TO = 2000;

/**
 * A vector search is shared among the search threads from this many vectors (when its partitions
 * were learnt): at 51,760, the partitions near a question hold ~4,000 codes, read in 3 ms on one
 * thread, where sharing cost more in messages than it saved.
 */
export const VECTOR_SHARE_ABOVE = 200_000;

/** Up to this many chunks in scope, vector search is exact; above, a binary prefilter is rescored. */
export const EXACT_VECTOR_LIMIT = 20_000;

const STOPWORDS = new Set(
  'a an and are as at be but by can could did do does for from had has have how i if in into is it its may me might my no not of on or our shall should so such than that the their them then there these they this to under upon us was we were what when where which while who whom why will with would you your'.split(' '),
);

export function contentTerms(text: string): string[] {
  return [...new Set((text.toLowerCase().match(/[\p{L}\p{N}]{2,}/gu) ?? []).filter((t) => !STOPWORDS.has(t)))].slice(0, 32);
}

/** Content words of a question as an FTS5 OR-query of quoted terms (never raw syntax). */
export function contentTermsQuery(text: string): string | null {
  const terms = contentTerms(text);
  return terms.length ? terms.map((t) => `"${t}"`).join(' OR ') : null;
}

function toBlob(v: Float32Array): Buffer {
  return Buffer.from(v.buffer, v.byteOffset, v.byteLength);
}

export class RetrievalStore {
  readonly #db: Database;
  /** Scopes larger than this are shared among search threads (tests lower it to share small ones). */
  shareAbove = SHARE_ABOVE;
  /** Scopes up to this many chunks are scored here (tests set it to compare both ways). */
  scoreHereUpTo = SCORE_HERE_UP_TO;
  /** Scopes up to this many chunks are searched by vector exactly (tests lower it to use the prefilter). */
  exactVectorUpTo = EXACT_VECTOR_LIMIT;
  /** Candidates the binary prefilter hands to exact scoring (0: its default for the limit). */
  prefilterCandidates = 0;
  /** Whether large scopes are scored from Enclave's postings (tests turn it off to compare with FTS5). */
  usePostings = true;
  readonly #scorer: KeywordScorer;
  readonly #postings: KeywordPostings;
  readonly #clusters: VectorClusters;
  constructor(db: Database) {
    this.#db = db;
    this.#scorer = new KeywordScorer(db);
    this.#postings = new KeywordPostings(db);
    this.#clusters = new VectorClusters(db);
  }

  /** The vector prefilter's partitions (see vector-clusters.ts): the indexer keeps them up to date. */
  get clusters(): VectorClusters {
    return this.#clusters;
  }

  /** Keyword postings (see keyword-postings.ts): the indexer keeps them up to the chunks. */
  get postings(): KeywordPostings {
    return this.#postings;
  }

  // Collections ---------------------------------------------------------------------------

  createCollection(name: string): CollectionRow {
    const id = randomUUID();
    this.#db.prepare('INSERT INTO collections (id, name, created_at) VALUES (?, ?, ?)').run(id, name, Date.now());
    return this.getCollection(id)!;
  }

  getCollection(id: string): CollectionRow | null {
    const row = this.#db
      .prepare('SELECT id, name, created_at, document_days, conversation_days, hold_reason, hold_since FROM collections WHERE id = ?')
      .get(id) as { id: string; name: string; created_at: number; document_days: number | null; conversation_days: number | null; hold_reason: string | null; hold_since: number | null } | undefined;
    if (!row) return null;
    const documentIds = this.#db.prepare('SELECT document_id FROM collection_documents WHERE collection_id = ?').pluck().all(id) as string[];
    return {
      id: row.id,
      name: row.name,
      createdAt: row.created_at,
      documentIds,
      retention: { documentDays: row.document_days, conversationDays: row.conversation_days },
      legalHold: row.hold_reason !== null && row.hold_since !== null ? { reason: row.hold_reason, since: row.hold_since } : null,
    };
  }

  setRetention(id: string, rule: RetentionRule): void {
    this.#db.prepare('UPDATE collections SET document_days = ?, conversation_days = ? WHERE id = ?').run(rule.documentDays, rule.conversationDays, id);
  }

  /** A reason places (or re-words) a hold, keeping when it began; null releases it. */
  setLegalHold(id: string, reason: string | null, now: number): void {
    if (reason === null) this.#db.prepare('UPDATE collections SET hold_reason = NULL, hold_since = NULL WHERE id = ?').run(id);
    else this.#db.prepare('UPDATE collections SET hold_reason = ?, hold_since = COALESCE(hold_since, ?) WHERE id = ?').run(reason, now, id);
  }

  listCollections(): CollectionRow[] {
    const ids = this.#db.prepare('SELECT id FROM collections ORDER BY name COLLATE NOCASE, created_at').pluck().all() as string[];
    return ids.map((id) => this.getCollection(id)!);
  }

  renameCollection(id: string, name: string): void {
    this.#db.prepare('UPDATE collections SET name = ? WHERE id = ?').run(name, id);
  }

  deleteCollection(id: string): boolean {
    return this.#db.prepare('DELETE FROM collections WHERE id = ?').run(id).changes > 0;
  }

  setMembership(collectionId: string, documentId: string, member: boolean): void {
    if (member) this.#db.prepare('INSERT INTO collection_documents (collection_id, document_id) VALUES (?, ?) ON CONFLICT DO NOTHING').run(collectionId, documentId);
    else this.#db.prepare('DELETE FROM collection_documents WHERE collection_id = ? AND document_id = ?').run(collectionId, documentId);
  }

  conversationCollections(conversationId: string): string[] {
    return this.#db.prepare('SELECT collection_id FROM conversation_collections WHERE conversation_id = ?').pluck().all(conversationId) as string[];
  }

  setConversationCollections(conversationId: string, collectionIds: string[]): void {
    this.#db.transaction(() => {
      this.#db.prepare('DELETE FROM conversation_collections WHERE conversation_id = ?').run(conversationId);
      const insert = this.#db.prepare('INSERT INTO conversation_collections (conversation_id, collection_id) VALUES (?, ?)');
      for (const id of collectionIds) insert.run(conversationId, id);
    })();
  }

  /** Ready documents in any of the collections. */
  /** Titles and file names of documents: what a question may name them by. */
  documentTitles(documentIds: string[]): { id: string; title: string; fileName: string }[] {
    if (documentIds.length === 0) return [];
    return this.#db
      .prepare('SELECT id, title, file_name AS fileName FROM documents WHERE id IN (SELECT value FROM json_each(?))')
      .all(JSON.stringify(documentIds)) as { id: string; title: string; fileName: string }[];
  }

  documentsIn(collectionIds: string[]): string[] {
    if (collectionIds.length === 0) return [];
    return this.#db
      .prepare(
        `SELECT DISTINCT cd.document_id FROM collection_documents cd JOIN documents d ON d.id = cd.document_id
         WHERE d.status = 'ready' AND cd.collection_id IN (SELECT value FROM json_each(?))`,
      )
      .pluck()
      .all(JSON.stringify(collectionIds)) as string[];
  }

  // Chunks and embeddings -----------------------------------------------------------------

  /** Documents that are ready but not yet cut into chunks (new ones, or after a restart). */
  documentsToChunk(): string[] {
    return this.#db
      .prepare("SELECT id FROM documents WHERE status = 'ready' AND chunked = 0 AND id NOT IN (SELECT document_id FROM document_deletions) ORDER BY created_at")
      .pluck()
      .all() as string[];
  }

  /** Replaces a document's chunks in one transaction, and marks it chunked. */
  writeChunks(documentId: string, chunks: Chunk[]): void {
    this.#db.transaction(() => {
      this.#db.prepare('DELETE FROM chunks WHERE document_id = ?').run(documentId);
      const insert = this.#db.prepare('INSERT INTO chunks (document_id, page_number, char_start, char_end, text) VALUES (?, ?, ?, ?, ?)');
      for (const c of chunks) insert.run(documentId, c.pageNumber, c.charStart, c.charEnd, c.text);
      this.#db.prepare('UPDATE documents SET chunked = 1 WHERE id = ?').run(documentId);
    })();
  }

  /**
   * Writes one slice of a document's chunks: the first slice replaces what was there, the last
   * marks the document chunked. A large document is cut a slice at a time, each its own task.
   */
  writeChunkSlice(documentId: string, chunks: Chunk[], slice: { first: boolean; last: boolean }): void {
    this.#db.transaction(() => {
      if (slice.first) this.#db.prepare('DELETE FROM chunks WHERE document_id = ?').run(documentId);
      const insert = this.#db.prepare('INSERT INTO chunks (document_id, page_number, char_start, char_end, text) VALUES (?, ?, ?, ?, ?)');
      for (const c of chunks) insert.run(documentId, c.pageNumber, c.charStart, c.charEnd, c.text);
      if (slice.last) this.#db.prepare('UPDATE documents SET chunked = 1 WHERE id = ?').run(documentId);
    })();
  }

  /** Whether a document is still waiting to be cut into chunks (ready and not chunked). */
  needsChunking(documentId: string): boolean {
    return this.#db.prepare("SELECT 1 FROM documents WHERE id = ? AND status = 'ready' AND chunked = 0").get(documentId) !== undefined;
  }

  /** Whether any chunk has a vector (asked on every search: counting them took 20–26 ms at a million chunks, 0.8 s cold). */
  hasEmbeddings(): boolean {
    return this.#db.prepare('SELECT EXISTS (SELECT 1 FROM chunk_embeddings)').pluck().get() === 1;
  }

  chunkCounts(): { chunks: number; embedded: number } {
    return this.#db.prepare('SELECT (SELECT COUNT(*) FROM chunks) AS chunks, (SELECT COUNT(*) FROM chunk_embeddings) AS embedded').get() as { chunks: number; embedded: number };
  }

  /** Chunks with no embedding yet (and not skipped), oldest first: embedding resumes from here after a restart. */
  chunksToEmbed(limit: number): { id: number; text: string }[] {
    return this.#db
      .prepare(
        `SELECT c.id, c.text FROM chunks c LEFT JOIN chunk_embeddings e ON e.chunk_id = c.id
         WHERE e.chunk_id IS NULL AND c.id NOT IN (SELECT chunk_id FROM chunk_embedding_skips) ORDER BY c.id LIMIT ?`,
      )
      .all(limit) as { id: number; text: string }[];
  }

  /** A chunk the embedding model could not take: kept out of vector search (still found by keywords). */
  skipEmbedding(chunkId: number, reason: string): void {
    this.#db.prepare('INSERT OR REPLACE INTO chunk_embedding_skips (chunk_id, reason) VALUES (?, ?)').run(chunkId, reason);
  }

  skippedEmbeddings(): { count: number; reason: string | null } {
    const row = this.#db.prepare('SELECT COUNT(*) AS count, MAX(reason) AS reason FROM chunk_embedding_skips').get() as { count: number; reason: string | null };
    return row;
  }

  /** Starts a new embedding space (another model or dimension): every vector is dropped. */
  resetEmbeddings(dimensions: number | null): void {
    this.#db.transaction(() => {
      // The codes first: deleting the vectors would otherwise look each one's code up.
      this.#db.prepare('DELETE FROM chunk_codes').run();
      this.#db.prepare('DELETE FROM chunk_embeddings').run();
      this.#db.prepare('DELETE FROM chunk_embedding_skips').run();
      this.#clusters.reset();
    })();
  }

  writeEmbeddings(rows: { chunkId: number; embedding: Float32Array }[]): void {
    this.#db.transaction(() => {
      const insert = this.#db.prepare('INSERT OR REPLACE INTO chunk_embeddings (chunk_id, embedding) VALUES (?, ?)');
      const exists = this.#db.prepare('SELECT 1 FROM chunks WHERE id = ?');
      for (const r of rows) {
        // Only if the chunk still exists (its document may have been deleted meanwhile).
        if (!exists.get(r.chunkId)) continue;
        insert.run(r.chunkId, toBlob(r.embedding));
        this.#clusters.place(r.chunkId, toBlob(r.embedding));
      }
    })();
  }

  // Search ----------------------------------------------------------------------------------

  /** Keeps the hits whose chunk belongs to one of the documents, in order, up to `limit`. */
  #inScope(hits: ChunkHit[], documentIds: Set<string>, limit: number): ChunkHit[] {
    if (hits.length === 0) return [];
    const owners = new Map(
      (this.#db.prepare('SELECT id, document_id FROM chunks WHERE id IN (SELECT value FROM json_each(?))').all(JSON.stringify(hits.map((h) => h.chunkId))) as { id: number; document_id: string }[]).map(
        (r) => [r.id, r.document_id],
      ),
    );
    return hits.filter((h) => documentIds.has(owners.get(h.chunkId) ?? '')).slice(0, limit);
  }

  /**
   * BM25 over the documents' chunks, with every content word of the question. No term is dropped
   * for being common: BM25's IDF already weighs it down, and on real contracts with lawyers'
   * labels dropping terms found in more than 5–50% of chunks lost 4–7% nDCG@10 ("agreement",
   * "terminate" are common and matter). The scope is part of the query, so a small scope in a
   * large library needs no second pass. Scopes up to `scoreHereUpTo` chunks are scored from their
   * text (keyword-search.ts); larger ones from Enclave's keyword postings where they cover the
   * chunks (keyword-postings.ts: 7–9× faster than FTS5's bm25() at a million chunks, same ranking),
   * and by FTS5 where they do not yet. With `part`, only that share of a large scope is searched
   * (the search threads split it).
   */
  bm25(question: string, documentIds: string[], limit: number, part?: SearchPart): ChunkHit[] {
    const query = contentTermsQuery(question);
    if (!query || documentIds.length === 0 || limit <= 0) return [];
    const runs = this.#chunkRuns(documentIds);
    let span: [number, number] | null = null;
    if (part && part.of > 1) {
      const size = runs ? runs.reduce((n, [a, b]) => n + b - a + 1, 0) : this.#scopeSize(documentIds);
      // A small scope is not worth sharing: the first part takes it all.
      if (size <= this.shareAbove) {
        if (part.index > 0) return [];
      } else {
        const whole = runs ? { first: runs[0][0], last: runs[runs.length - 1][1] } : this.#scopeSpan(documentIds);
        const width = whole.last - whole.first + 1;
        span = [whole.first + Math.floor((width * part.index) / part.of), whole.first + Math.floor((width * (part.index + 1)) / part.of) - 1];
      }
    }
    const [from, to] = span ?? [Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER];
    const clipped = runs && span ? runs.flatMap(([a, b]): [number, number][] => (Math.max(a, from) <= Math.min(b, to) ? [[Math.max(a, from), Math.min(b, to)]] : [])) : runs;
    const ranges = clipped && clipped.length <= MAX_SEEK_RUNS ? clipped : null;
    if (clipped && clipped.length === 0) return [];
    if (ranges && ranges.reduce((n, [a, b]) => n + b - a + 1, 0) <= this.scoreHereUpTo) return this.#scorer.search(contentTerms(question), ranges, limit);
    // Large scopes: the postings score the chunks they cover, FTS5 the newer ones (if any).
    const covered = this.usePostings && clipped ? this.#postings.coveredUpTo() : -1;
    if (clipped && covered >= clipped[0][0]) return this.#mixed(question, query, clipped, documentIds, limit);
    return this.#ftsRanges(query, ranges, documentIds, limit, from, to);
  }

  /**
   * The postings score the runs' chunks they cover, FTS5 the newer ones; all of it read in one
   * transaction, so a segment rebuilt meanwhile by main is seen either before or after, never half.
   */
  #mixed(question: string, query: string, runs: [number, number][], documentIds: string[], limit: number): ChunkHit[] {
    return this.#db.transaction(() => {
      const covered = this.#postings.coveredUpTo();
      const low = runs.flatMap(([a, b]): [number, number][] => (a <= covered ? [[a, Math.min(b, covered)]] : []));
      const high = runs.flatMap(([a, b]): [number, number][] => (b > covered ? [[Math.max(a, covered + 1), b]] : []));
      const { rows, meanLength } = this.#scorer.totals();
      const fromPostings = rows > 0 && low.length > 0 ? this.#postings.search(this.#scorer.phrases(contentTerms(question), rows), low, limit, meanLength) : [];
      const fromFts = high.length === 0 ? [] : this.#ftsRanges(query, high, documentIds, limit);
      return [...fromPostings, ...fromFts].sort((a, b) => b.score - a.score || a.chunkId - b.chunkId).slice(0, limit);
    })();
  }

  /**
   * FTS5's bm25() over the runs of chunk ids, or (runs null, or too many) over the chunks between
   * `from` and `to` of the documents.
   */
  #ftsRanges(query: string, ranges: [number, number][] | null, documentIds: string[], limit: number, from?: number, to?: number): ChunkHit[] {
    if (ranges && ranges.length > MAX_SEEK_RUNS) {
      from = ranges[0][0];
      to = ranges[ranges.length - 1][1];
      ranges = null;
    }
    from ??= Number.MIN_SAFE_INTEGER;
    to ??= Number.MAX_SAFE_INTEGER;
    let hits: ChunkHit[];
    if (ranges) {
      // The scope as runs of chunk ids: FTS5 seeks to each run instead of scoring every chunk
      // with the terms (10× less work for one contract in a large library). bm25() takes its
      // statistics from the whole index, so scores from different runs compare. The bounds are
      // cast: better-sqlite3 binds numbers as REAL, and FTS5 seeks only to INTEGER bounds (with
      // REAL ones it read the whole list of a word's chunks: 20 ms for "agreement" at 1M chunks).
      const inRange = this.#db.prepare(
        'SELECT rowid AS chunkId, bm25(chunks_fts) AS score FROM chunks_fts WHERE chunks_fts MATCH ? AND rowid BETWEEN CAST(? AS INTEGER) AND CAST(? AS INTEGER) ORDER BY score LIMIT ?',
      );
      hits = ranges
        .flatMap(([first, last]) => inRange.all(query, first, last, limit) as ChunkHit[])
        .sort((a, b) => a.score - b.score || a.chunkId - b.chunkId)
        .slice(0, limit);
    } else {
      hits = this.#db
        .prepare(
          `SELECT c.id AS chunkId, bm25(chunks_fts) AS score FROM chunks_fts JOIN chunks c ON c.id = chunks_fts.rowid
           WHERE chunks_fts MATCH ? AND chunks_fts.rowid BETWEEN CAST(? AS INTEGER) AND CAST(? AS INTEGER) AND c.document_id IN (SELECT value FROM json_each(?))
           ORDER BY score, c.id LIMIT ?`,
        )
        .all(query, from, to, JSON.stringify(documentIds), limit) as ChunkHit[];
    }
    return hits.map((h) => ({ chunkId: h.chunkId, score: -h.score }));
  }

  /** The smallest and largest chunk id of the documents (bounds that hold every one of their chunks). */
  #scopeSpan(documentIds: string[]): { first: number; last: number } {
    const r = this.#db
      .prepare('SELECT MIN(first) AS first, MAX(last) AS last FROM chunk_spans WHERE document_id IN (SELECT value FROM json_each(?))')
      .get(JSON.stringify(documentIds)) as { first: number | null; last: number | null };
    return { first: r.first ?? 0, last: r.last ?? -1 };
  }

  /**
   * The scope's chunk ids as contiguous runs [first, last], exactly, from the documents' spans
   * (a document's chunks are written together, so its ids are consecutive; runs of neighbouring
   * documents merge), or null when that does not hold or no document has chunks.
   */
  #chunkRuns(documentIds: string[]): [number, number][] | null {
    const spans = this.#db
      .prepare('SELECT first, last, count FROM chunk_spans WHERE document_id IN (SELECT value FROM json_each(?)) ORDER BY first')
      .raw()
      .all(JSON.stringify(documentIds)) as [number, number, number][];
    if (spans.length === 0) return null;
    const merged: [number, number][] = [];
    for (const [first, last, count] of spans) {
      if (last - first + 1 !== count) return null;
      const prev = merged[merged.length - 1];
      if (prev && first === prev[1] + 1) prev[1] = last;
      else merged.push([first, last]);
    }
    return merged;
  }

  /** How many chunks the documents have (from their spans: counting chunks would read them all). */
  #scopeSize(documentIds: string[]): number {
    return this.#db.prepare('SELECT COALESCE(SUM(count), 0) FROM chunk_spans WHERE document_id IN (SELECT value FROM json_each(?))').pluck().get(JSON.stringify(documentIds)) as number;
  }

  #exactVector(query: Float32Array, documentIds: string[], limit: number): ChunkHit[] {
    return (
      this.#db
        .prepare(
          `SELECT c.id AS chunkId, vec_distance_cosine(e.embedding, ?) AS distance FROM chunks c JOIN chunk_embeddings e ON e.chunk_id = c.id
           WHERE c.document_id IN (SELECT value FROM json_each(?)) ORDER BY distance LIMIT ?`,
        )
        .all(toBlob(query), JSON.stringify(documentIds), limit) as { chunkId: number; distance: number }[]
    ).map((r) => ({ chunkId: r.chunkId, score: 1 - r.distance }));
  }

  /**
   * Nearest chunks by cosine similarity (score = 1 − distance), within the given documents.
   * Small libraries and small scopes are scanned exactly. Large ones use the binary-quantized
   * prefilter for candidates, rescored exactly; a scope with too few among them is scanned exactly.
   */
  vector(query: Float32Array, documentIds: string[], limit: number, part?: SearchPart): ChunkHit[] {
    if (documentIds.length === 0) return [];
    // A scope this small is scanned exactly whatever the library's size (one contract among a
    // million chunks: the prefilter would search them all, then find too few in scope). Shared
    // among threads, the first share does it all.
    if (this.#scopeSize(documentIds) <= this.exactVectorUpTo) return part && part.index > 0 ? [] : this.#exactVector(query, documentIds, limit);
    // A library too small to share a search: the first share does it all.
    if (part && part.of > 1 && this.#clusters.groupedSize() < VECTOR_SHARE_ABOVE) {
      if (part.index > 0) return [];
      part = undefined;
    }
    // Binary codes rank roughly: the more candidates scored exactly, the more of the exact nearest
    // are found (on 200,000 real contract chunks, 30 wanted: 58% of the exact 30 with 100 candidates,
    // 81% with 300).
    const k = this.prefilterCandidates || Math.min(600, Math.max(300, limit * 10));
    // Shared among threads, each probes every `of`-th partition (nearest first), and scores its own candidates.
    const partitions = this.#clusters.partitionsFor(query).filter((_, i) => !part || i % part.of === part.index);
    if (partitions.length === 0) return []; // a share with no partition (a library in one partition)
    // The partitions near the question (all vectors sit in partition 0 in a smaller library) in one
    // range scan of the codes, nearest by Hamming distance first.
    const candidates = this.#db
      .prepare(
        `SELECT chunk_id AS chunkId FROM chunk_codes WHERE cluster IN (SELECT value FROM json_each(?))
         ORDER BY vec_distance_hamming(vec_bit(code), vec_quantize_binary(?)), chunk_id LIMIT ?`,
      )
      .pluck()
      .all(JSON.stringify(partitions), toBlob(query), k) as number[];
    const scoped = this.#inScope(candidates.map((chunkId) => ({ chunkId, score: 0 })), new Set(documentIds), k);
    if (scoped.length < limit) return this.#exactVector(query, documentIds, limit);
    return (
      this.#db
        .prepare(
          `SELECT chunk_id AS chunkId, vec_distance_cosine(embedding, ?) AS distance FROM chunk_embeddings
           WHERE chunk_id IN (SELECT value FROM json_each(?)) ORDER BY distance LIMIT ?`,
        )
        .all(toBlob(query), JSON.stringify(scoped.map((h) => h.chunkId)), limit) as { chunkId: number; distance: number }[]
    ).map((r) => ({ chunkId: r.chunkId, score: 1 - r.distance }));
  }

  /** The first passages of the documents, in reading order. */
  /** Each document's first passage (the top of its first page: its title, parties and date). */
  openingChunks(documentIds: string[]): StoredChunk[] {
    if (documentIds.length === 0) return [];
    const ids = this.#db
      .prepare(
        `SELECT id FROM (SELECT id, ROW_NUMBER() OVER (PARTITION BY document_id ORDER BY page_number, char_start) AS n
         FROM chunks WHERE document_id IN (SELECT value FROM json_each(?))) WHERE n = 1`,
      )
      .pluck()
      .all(JSON.stringify(documentIds)) as number[];
    return this.chunks(ids);
  }

  leadingChunks(documentIds: string[], limit: number): StoredChunk[] {
    const ids = this.#db
      .prepare('SELECT id FROM chunks WHERE document_id IN (SELECT value FROM json_each(?)) ORDER BY page_number, char_start LIMIT ?')
      .pluck()
      .all(JSON.stringify(documentIds), limit) as number[];
    return this.chunks(ids);
  }

  chunks(ids: number[]): StoredChunk[] {
    if (ids.length === 0) return [];
    const rows = this.#db
      .prepare(
        `SELECT c.id, c.document_id, c.page_number, c.char_start, c.char_end, c.text, d.title, d.paginated FROM chunks c
         JOIN documents d ON d.id = c.document_id WHERE c.id IN (SELECT value FROM json_each(?))`,
      )
      .all(JSON.stringify(ids)) as { id: number; document_id: string; page_number: number; char_start: number; char_end: number; text: string; title: string; paginated: number }[];
    const byId = new Map(rows.map((r) => [r.id, r]));
    return ids.flatMap((id) => {
      const r = byId.get(id);
      return r
        ? [{ id: r.id, documentId: r.document_id, documentTitle: r.title, paginated: r.paginated === 1, pageNumber: r.page_number, charStart: r.char_start, charEnd: r.char_end, text: r.text }]
        : [];
    });
  }

  // Cited sources of answers -------------------------------------------------------------------

  saveSources(messageId: string, sources: SourceRecord[]): void {
    this.#db.transaction(() => {
      this.#db.prepare('DELETE FROM message_sources WHERE message_id = ?').run(messageId);
      const insert = this.#db.prepare(
        `INSERT INTO message_sources (message_id, number, chunk_id, document_id, document_title, page_number, char_start, char_end, passage, quote, verified, failure)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      );
      for (const s of sources) {
        insert.run(messageId, s.number, s.chunkId, s.documentId, s.documentTitle, s.pageNumber, s.charStart, s.charEnd, s.passage, s.quote, s.verified ? 1 : 0, s.failure);
      }
    })();
  }

  saveGrounding(messageId: string, grounding: AnswerGrounding): void {
    this.#db
      .prepare('INSERT OR REPLACE INTO message_groundings (message_id, sentences, evidence, model_citations, search) VALUES (?, ?, ?, ?, ?)')
      .run(
        messageId,
        JSON.stringify(grounding.sentences),
        JSON.stringify({ numbers: grounding.evidence, coverage: grounding.evidenceCoverage }),
        grounding.modelCitations,
        grounding.search ? JSON.stringify(grounding.search) : null,
      );
  }

  groundingsOf(messageIds: string[]): Map<string, AnswerGrounding> {
    const out = new Map<string, AnswerGrounding>();
    if (messageIds.length === 0) return out;
    const rows = this.#db
      .prepare('SELECT * FROM message_groundings WHERE message_id IN (SELECT value FROM json_each(?))')
      .all(JSON.stringify(messageIds)) as { message_id: string; sentences: string; evidence: string; model_citations: number; search: string | null }[];
    for (const r of rows) {
      const { numbers, coverage } = JSON.parse(r.evidence) as { numbers: number[]; coverage: number };
      out.set(r.message_id, {
        sentences: JSON.parse(r.sentences),
        evidence: numbers,
        evidenceCoverage: coverage,
        modelCitations: r.model_citations,
        search: r.search ? (JSON.parse(r.search) as AnswerSearch) : null,
      });
    }
    return out;
  }

  sourcesOf(messageIds: string[]): Map<string, SourceRecord[]> {
    const out = new Map<string, SourceRecord[]>();
    if (messageIds.length === 0) return out;
    const rows = this.#db
      .prepare('SELECT * FROM message_sources WHERE message_id IN (SELECT value FROM json_each(?)) ORDER BY message_id, number')
      .all(JSON.stringify(messageIds)) as {
      message_id: string; number: number; chunk_id: number | null; document_id: string; document_title: string; page_number: number;
      char_start: number; char_end: number; passage: string; quote: string | null; verified: number; failure: string | null;
    }[];
    for (const r of rows) {
      const list = out.get(r.message_id) ?? [];
      list.push({
        number: r.number, chunkId: r.chunk_id, documentId: r.document_id, documentTitle: r.document_title, pageNumber: r.page_number,
        charStart: r.char_start, charEnd: r.char_end, passage: r.passage, quote: r.quote, verified: r.verified === 1, failure: r.failure,
      });
      out.set(r.message_id, list);
    }
    return out;
  }
}

