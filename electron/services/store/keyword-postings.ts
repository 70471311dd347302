// Keyword postings of Enclave's own, for BM25 over large scopes.
//
// FTS5 finds the chunks holding a question's words fast (the union of "two more parties signed
// contract" in a million chunks: 538,315 chunks counted in 24 ms), but its bm25() costs about
// half a microsecond for each chunk it scores (252 ms there), and a whole library's search scores
// every chunk with any of the words. Here the same BM25 (FTS5's formula and statistics: its IDF
// from its own word counts, its mean length, the same tokens: see keyword-search.ts) is summed
// over compact posting lists held in the store: a segment of up to 4,096 consecutive chunks keeps
// their ids and token counts, and for each word found in them the chunks' positions and how often
// it occurs. A search reads one row per word and segment, adds each posting's share into an
// array, and keeps the best.
//
// The postings follow the chunks a segment at a time, in id order (`catchUp`, run by the indexer);
// chunks past the last segment are scored by FTS5, so a search is always over every chunk. A chunk
// deleted after its segment was built is listed as deleted and skipped until the indexer's next
// pass builds that segment again without it. SQLite hands out the largest id again once it is deleted: a trigger then marks
// that segment and the later ones stale, and they are built again (until then FTS5 scores them).
import type { Database, Statement } from 'better-sqlite3';
import { statementCache } from './statements.ts';
import { bm25Share, ftsStem, ftsTokens, type ScoredChunk } from './keyword-search.ts';

/** Chunks per segment. */
export const SEGMENT_CHUNKS = 4096;
/** Chunks tokenized between two yields of a catch-up (keeps each step of main's work short). */
const STEP_CHUNKS = 512;
/**
 * A segment with more than this share of its chunks deleted is built again. None: a deleted
 * document's words leave the postings at the indexer's next pass (retention means gone), and the
 * list of deleted chunks stays short.
 */
const DELETED_SHARE = 0;

interface Segment {
  id: number;
  first: number;
  last: number;
  /** Where its chunks start in the search's score array. */
  base: number;
  ids: Int32Array;
  lengths: Uint32Array;
}

interface Loaded {
  key: string;
  segments: Segment[];
  byId: Map<number, Segment>;
  total: number;
  /** Last chunk id covered by fresh segments (−1: none). */
  covered: number;
  deleted: Set<number>;
}

function writeVarint(out: number[], v: number): void {
  while (v >= 0x80) {
    out.push((v & 0x7f) | 0x80);
    v >>>= 7;
  }
  out.push(v);
}

/** A word's postings in one segment: position deltas and counts, as varints. */
function encode(positions: number[], counts: number[]): Buffer {
  const out: number[] = [];
  let prev = 0;
  for (let i = 0; i < positions.length; i++) {
    writeVarint(out, positions[i] - prev);
    writeVarint(out, counts[i]);
    prev = positions[i];
  }
  return Buffer.from(out);
}

export class KeywordPostings {
  readonly #db: Database;
  /** Chunks per segment (tests make it small to have many). */
  segmentChunks = SEGMENT_CHUNKS;
  #loaded: Loaded | null = null;
  #scores = new Float64Array(0);
  #touched = new Int32Array(0);

  readonly #sql: (sql: string) => Statement;

  constructor(db: Database) {
    this.#db = db;
    this.#sql = statementCache(db);
  }


  /** The fresh segments' chunk ids and lengths, read again only when the segments or deletions changed. */
  #load(): Loaded {
    const state = this.#sql(
      `SELECT (SELECT COUNT(*) || ':' || COALESCE(MAX(id), 0) || ':' || COALESCE(SUM(stale), 0) FROM keyword_segments)
              || ':' || (SELECT COUNT(*) || ':' || COALESCE(MAX(chunk_id), 0) FROM keyword_deleted)`,
    ).pluck().get() as string;
    if (this.#loaded?.key === state) return this.#loaded;
    const rows = this.#sql('SELECT id, first, last, chunk_ids, lengths FROM keyword_segments WHERE stale = 0 ORDER BY first').raw().all() as [number, number, number, Buffer, Buffer][];
    const segments: Segment[] = [];
    let total = 0;
    for (const [id, first, last, ids, lengths] of rows) {
      const seg: Segment = {
        id, first, last, base: total,
        ids: new Int32Array(ids.buffer.slice(ids.byteOffset, ids.byteOffset + ids.byteLength)),
        lengths: new Uint32Array(lengths.buffer.slice(lengths.byteOffset, lengths.byteOffset + lengths.byteLength)),
      };
      total += seg.ids.length;
      segments.push(seg);
    }
    const deleted = new Set(this.#sql('SELECT chunk_id FROM keyword_deleted').pluck().all() as number[]);
    this.#loaded = { key: state, segments, byId: new Map(segments.map((s) => [s.id, s])), total, covered: segments.length ? segments[segments.length - 1].last : -1, deleted };
    return this.#loaded;
  }

  /** The last chunk id the postings cover: chunks after it are not in them yet (−1: none are). */
  coveredUpTo(): number {
    return this.#load().covered;
  }

  /**
   * BM25 of the chunks in the runs of ids (all at or below `coveredUpTo()`): the `limit` best,
   * best first, ties by chunk id. `phrases`: the question's phrases with their IDF, in order
   * (KeywordScorer.phrases); `meanLength`: FTS5's mean chunk length. Each chunk's shares are added
   * phrase by phrase in that order, as bm25() adds them (scores agree with FTS5's to ~1e-15).
   */
  search(phrases: [stem: string, idf: number][], runs: [number, number][], limit: number, meanLength: number): ScoredChunk[] {
    const loaded = this.#load();
    if (limit <= 0 || runs.length === 0 || phrases.length === 0 || loaded.total === 0) return [];
    if (this.#scores.length < loaded.total) {
      this.#scores = new Float64Array(loaded.total);
      this.#touched = new Int32Array(loaded.total);
    }
    const scores = this.#scores;
    const touched = this.#touched;
    let nTouched = 0;
    // Each segment's place in the scope: wholly in a run, partly, or out.
    const inScope = new Map<number, 'all' | 'some'>();
    for (const seg of loaded.segments) {
      let mode: 'all' | 'some' | null = null;
      for (const [a, b] of runs) {
        if (b < seg.first || a > seg.last) continue;
        if (a <= seg.first && b >= seg.last) mode = 'all';
        else mode ??= 'some';
        if (mode === 'all') break;
      }
      if (mode) inScope.set(seg.id, mode);
    }
    const inRuns = (id: number) => {
      let lo = 0;
      let hi = runs.length - 1;
      while (lo <= hi) {
        const mid = (lo + hi) >> 1;
        if (runs[mid][1] < id) lo = mid + 1;
        else if (runs[mid][0] > id) hi = mid - 1;
        else return true;
      }
      return false;
    };
    if (inScope.size === 0) return [];
    // A scope of some segments reads only theirs (a collection in a large library).
    const some = inScope.size < loaded.segments.length;
    const read = some
      ? this.#sql('SELECT segment, data FROM keyword_postings WHERE term = ? AND segment IN (SELECT value FROM json_each(?))').raw()
      : this.#sql('SELECT segment, data FROM keyword_postings WHERE term = ?').raw();
    const segmentIds = some ? JSON.stringify([...inScope.keys()]) : null;
    const lists = new Map<string, [number, Buffer][]>();
    for (const [stem, weight] of phrases) {
      let list = lists.get(stem);
      if (!list) lists.set(stem, (list = (some ? read.all(stem, segmentIds) : read.all(stem)) as [number, Buffer][]));
      for (const [segmentId, data] of list) {
        const seg = loaded.byId.get(segmentId);
        const mode = seg && inScope.get(segmentId);
        if (!seg || !mode) continue;
        const { ids, lengths, base } = seg;
        let pos = 0;
        let i = 0;
        while (i < data.length) {
          let delta = 0;
          let shift = 0;
          let byte: number;
          do {
            byte = data[i++];
            delta |= (byte & 0x7f) << shift;
            shift += 7;
          } while (byte & 0x80);
          let tf = 0;
          shift = 0;
          do {
            byte = data[i++];
            tf |= (byte & 0x7f) << shift;
            shift += 7;
          } while (byte & 0x80);
          pos += delta;
          if (mode === 'some' && !inRuns(ids[pos])) continue;
          const share = bm25Share(weight, tf, lengths[pos], meanLength);
          const at = base + pos;
          if (scores[at] === 0) touched[nTouched++] = at;
          scores[at] += share;
        }
      }
    }
    // The best `limit` (a min-heap of positions by score, then by chunk id).
    const heap: { at: number; id: number; score: number }[] = [];
    const worse = (x: { id: number; score: number }, y: { id: number; score: number }) => x.score < y.score || (x.score === y.score && x.id > y.id);
    const segmentOf = (at: number) => {
      let lo = 0;
      let hi = loaded.segments.length - 1;
      while (lo < hi) {
        const mid = (lo + hi + 1) >> 1;
        if (loaded.segments[mid].base <= at) lo = mid;
        else hi = mid - 1;
      }
      return loaded.segments[lo];
    };
    for (let t = 0; t < nTouched; t++) {
      const at = touched[t];
      const score = scores[at];
      scores[at] = 0;
      if (heap.length === limit && !worse(heap[0], { id: Number.MAX_SAFE_INTEGER, score })) {
        // Only a higher score, or an equal one with a lower id, can enter: check the id below.
        if (score < heap[0].score) continue;
      }
      const seg = segmentOf(at);
      const id = seg.ids[at - seg.base];
      if (loaded.deleted.has(id)) continue;
      const entry = { at, id, score };
      if (heap.length < limit) {
        heap.push(entry);
        let c = heap.length - 1;
        while (c > 0) {
          const p = (c - 1) >> 1;
          if (!worse(heap[c], heap[p])) break;
          [heap[c], heap[p]] = [heap[p], heap[c]];
          c = p;
        }
      } else if (worse(heap[0], entry)) {
        heap[0] = entry;
        let p = 0;
        for (;;) {
          const l = 2 * p + 1;
          const r = l + 1;
          let m = p;
          if (l < heap.length && worse(heap[l], heap[m])) m = l;
          if (r < heap.length && worse(heap[r], heap[m])) m = r;
          if (m === p) break;
          [heap[m], heap[p]] = [heap[p], heap[m]];
          p = m;
        }
      }
    }
    return heap.sort((x, y) => y.score - x.score || x.id - y.id).map((e) => ({ chunkId: e.id, score: e.score }));
  }

  // Building ----------------------------------------------------------------------------------

  /** Whether chunks wait for postings (new ones, stale segments, or a segment with deleted chunks). */
  behind(): boolean {
    // Asked by the indexer on main: the fresh segments' bound only, not their ids and lengths.
    const covered = (this.#sql('SELECT MAX(last) FROM keyword_segments WHERE stale = 0').pluck().get() as number | null) ?? -1;
    const newer = this.#sql('SELECT EXISTS (SELECT 1 FROM chunks WHERE id > ?)').pluck().get(covered) === 1;
    return newer || this.#sql('SELECT EXISTS (SELECT 1 FROM keyword_segments WHERE stale = 1)').pluck().get() === 1 || this.#worn() !== null;
  }

  /** A segment to build again for its deleted chunks, or null. */
  #worn(): { id: number; first: number; last: number } | null {
    return (this.#sql(
      `SELECT s.id, s.first, s.last FROM keyword_segments s
       WHERE s.stale = 0 AND (SELECT COUNT(*) FROM keyword_deleted d WHERE d.chunk_id BETWEEN s.first AND s.last) > ? * (length(s.chunk_ids) / 4)
       ORDER BY s.first LIMIT 1`,
    ).get(DELETED_SHARE) as { id: number; first: number; last: number } | undefined) ?? null;
  }

  #dropSegment(id: number): void {
    const terms = this.#sql('SELECT terms FROM keyword_segments WHERE id = ?').pluck().get(id) as string | undefined;
    if (terms === undefined) return;
    const drop = this.#sql('DELETE FROM keyword_postings WHERE term = ? AND segment = ?');
    for (const term of terms ? terms.split('\n') : []) drop.run(term, id);
    this.#sql('DELETE FROM keyword_segments WHERE id = ?').run(id);
  }

  /**
   * Brings the postings up to the chunks, a segment at a time, awaiting `pause` between steps of
   * a few hundred chunks (main stays responsive). Returns how many chunks it read; stops early when
   * `stopped()` says so (what was written stays, whole segments only).
   */
  async catchUp(pause: () => Promise<void>, stopped: () => boolean = () => false): Promise<number> {
    let read = 0;
    // Stale segments first (an id used again): dropped, and built again below with what follows.
    const stale = this.#sql('SELECT id FROM keyword_segments WHERE stale = 1').pluck().all() as number[];
    if (stale.length) {
      this.#db.transaction(() => {
        for (const id of stale) this.#dropSegment(id);
        this.#sql('DELETE FROM keyword_deleted WHERE chunk_id > ?').run(this.#rawCovered());
      })();
    }
    for (;;) {
      if (stopped()) return read;
      const worn = this.#worn();
      if (worn) {
        read += await this.#build({ first: worn.first, last: worn.last, replace: [worn.id] }, pause, stopped);
        continue;
      }
      // The last segment stays open until it is full: it is built again with the chunks after it.
      const tail = this.#sql('SELECT id, first, length(chunk_ids) / 4 AS n FROM keyword_segments ORDER BY first DESC LIMIT 1').get() as { id: number; first: number; n: number } | undefined;
      const from = tail && tail.n < this.segmentChunks ? tail.first : this.#rawCovered() + 1;
      if (this.#sql('SELECT EXISTS (SELECT 1 FROM chunks WHERE id > ?)').pluck().get(this.#rawCovered()) !== 1) return read;
      const last = this.#sql('SELECT MAX(id) FROM (SELECT id FROM chunks WHERE id >= ? ORDER BY id LIMIT ?)').pluck().get(from, this.segmentChunks) as number;
      const n = await this.#build({ first: from, last, replace: tail && tail.n < this.segmentChunks ? [tail.id] : [] }, pause, stopped);
      if (n === 0) return read;
      read += n;
    }
  }

  #rawCovered(): number {
    return (this.#sql('SELECT MAX(last) FROM keyword_segments').pluck().get() as number | null) ?? -1;
  }

  /** Builds the segment of the chunks with ids in [first, last], replacing the given segments. */
  async #build(range: { first: number; last: number; replace: number[] }, pause: () => Promise<void>, stopped: () => boolean): Promise<number> {
    const ids: number[] = [];
    const lengths: number[] = [];
    const postings = new Map<string, { positions: number[]; counts: number[] }>();
    const page = this.#sql('SELECT id, text FROM chunks WHERE id > ? AND id <= ? ORDER BY id LIMIT ?').raw();
    let after = range.first - 1;
    for (;;) {
      const rows = page.all(after, range.last, STEP_CHUNKS) as [number, string][];
      if (rows.length === 0) break;
      for (const [id, text] of rows) {
        const position = ids.length;
        const counts = new Map<string, number>();
        const tokens = ftsTokens(text);
        for (const token of tokens) {
          const stem = ftsStem(token);
          counts.set(stem, (counts.get(stem) ?? 0) + 1);
        }
        ids.push(id);
        lengths.push(tokens.length);
        for (const [stem, n] of counts) {
          let list = postings.get(stem);
          if (!list) postings.set(stem, (list = { positions: [], counts: [] }));
          list.positions.push(position);
          list.counts.push(n);
        }
      }
      after = rows[rows.length - 1][0];
      if (rows.length < STEP_CHUNKS) break;
      await pause();
      if (stopped()) return 0;
    }
    let written = 0;
    this.#db.transaction(() => {
      // What changed while the chunks were read: a chunk gone is listed as deleted; a chunk come
      // (an id used again inside the range) means this read is void (the next catch-up rereads).
      const now = this.#sql('SELECT id FROM chunks WHERE id BETWEEN ? AND ?').pluck().all(range.first, range.last) as number[];
      const known = new Set(ids);
      if (now.some((id) => !known.has(id))) return;
      for (const id of range.replace) this.#dropSegment(id);
      this.#sql('DELETE FROM keyword_deleted WHERE chunk_id BETWEEN ? AND ?').run(range.first, range.last);
      if (ids.length === 0) return;
      const segment = this.#sql('INSERT INTO keyword_segments (first, last, chunk_ids, lengths, terms) VALUES (?, ?, ?, ?, ?)').run(
        range.first, range.last,
        Buffer.from(Int32Array.from(ids).buffer), Buffer.from(Uint32Array.from(lengths).buffer), [...postings.keys()].join('\n'),
      ).lastInsertRowid;
      const insert = this.#sql('INSERT INTO keyword_postings (term, segment, data) VALUES (?, ?, ?)');
      for (const [stem, list] of postings) insert.run(stem, segment, encode(list.positions, list.counts));
      const present = new Set(now);
      const gone = this.#sql('INSERT OR IGNORE INTO keyword_deleted (chunk_id) VALUES (?)');
      for (const id of ids) if (!present.has(id)) gone.run(id);
      written = ids.length;
    })();
    return written;
  }
}
