// BM25 for a small scope in a large library, computed here rather than by FTS5's bm25().
//
// FTS5's bm25() works out each word's IDF by reading every chunk of the whole index that holds
// it, on every query. In a library of a million chunks that is most of the cost of searching one
// contract (p50 51 ms, p95 92 ms, for 100 chunks to score). Here the words' chunk counts are kept
// between searches (until the index changes), FTS5 only lists the scope's matching chunks (no
// scoring), and the few matches are scored with FTS5's own formula: the same tokens (unicode61,
// diacritics removed, porter stems: checked against FTS5's vocabulary on every word of 55 real
// contracts, no difference), the chunk lengths FTS5 stored, k1 = 1.2, b = 0.75, IDF clamped at 1e-6.
// A word's first search after the index changed pays for its count once (17 ms for "agreement"
// at a million chunks); the ranking is then exactly FTS5's.
//
// Tried and dropped for large scopes (measured on 51,760 real contract chunks, 102 questions): an
// exact MaxScore walk (FTS5 ranks the rarer words' chunks, the common words' shares added here)
// was exact but 5× slower, the common words' bounds being loose; rescoring only the top 300 by the
// rarer words was 2× faster but agreed with full BM25 on 60–80% of top-10 lists.
import type { Database, Statement } from 'better-sqlite3';
import { statementCache } from './statements.ts';
import { stemmer } from 'stemmer';

export const K1 = 1.2;
export const B = 0.75;

export interface ScoredChunk {
  chunkId: number;
  /** BM25, higher is better (as FTS5's bm25() negated). */
  score: number;
}

/** Tokens as FTS5's unicode61 tokenizer with remove_diacritics makes them: letters and digits, case and accents folded. */
export function ftsTokens(text: string): string[] {
  // ASCII text (most of it) needs no Unicode folding.
  if (/^[\x00-\x7f]*$/.test(text)) return text.toLowerCase().match(/[a-z0-9]+/g) ?? [];
  return text.toLowerCase().normalize('NFD').replace(/\p{M}/gu, '').match(/[\p{L}\p{N}]+/gu) ?? [];
}

const stems = new Map<string, string>();
/** FTS5's porter tokenizer stems ASCII tokens of up to 64 characters; others pass unchanged. */
export function ftsStem(token: string): string {
  let s = stems.get(token);
  if (s === undefined) {
    s = token.length <= 64 && /^[a-z0-9]+$/.test(token) ? stemmer(token) : token;
    if (stems.size >= 100_000) stems.clear();
    stems.set(token, s);
  }
  return s;
}

/** SQLite varints, as FTS5 writes its averages and chunk-size records. */
function varints(buf: Buffer): number[] {
  const out: number[] = [];
  let i = 0;
  while (i < buf.length) {
    let v = 0;
    for (let j = 0; i < buf.length; j++) {
      const byte = buf[i++];
      if (j === 8) {
        v = v * 256 + byte;
        break;
      }
      v = v * 128 + (byte & 0x7f);
      if (!(byte & 0x80)) break;
    }
    out.push(v);
  }
  return out;
}

/** One phrase's share of a chunk's BM25, computed as FTS5's bm25() computes it (same operations, same order). */
export function bm25Share(idf: number, tf: number, length: number, meanLength: number): number {
  return idf * ((tf * (K1 + 1.0)) / (tf + K1 * (1 - B + (B * length) / meanLength)));
}

export class KeywordScorer {
  readonly #db: Database;
  /** Chunk counts by word, valid while the index's totals (FTS5's averages record) are unchanged. */
  #counts = new Map<string, number>();
  #generation = '';

  readonly #sql: (sql: string) => Statement;

  constructor(db: Database) {
    this.#db = db;
    this.#sql = statementCache(db);
  }


  /** Rows in the index and their mean length in tokens, from FTS5's averages record. */
  totals(): { rows: number; meanLength: number } {
    const blob = this.#sql('SELECT block FROM chunks_fts_data WHERE id = 1').pluck().get() as Buffer | undefined;
    if (!blob || blob.length === 0) return { rows: 0, meanLength: 1 };
    const key = blob.toString('hex');
    if (key !== this.#generation) {
      this.#generation = key;
      this.#counts = new Map();
    }
    const [rows = 0, tokens = 0] = varints(blob);
    return { rows, meanLength: rows > 0 ? tokens / rows : 1 };
  }

  /** How many chunks hold the word (FTS5's own count: the IDF is exactly bm25()'s). */
  #count(word: string): number {
    let count = this.#counts.get(word);
    if (count === undefined) {
      count = this.#sql('SELECT COUNT(*) FROM chunks_fts WHERE chunks_fts MATCH ?').pluck().get(`"${word}"`) as number;
      this.#counts.set(word, count);
    }
    return count;
  }

  /**
   * The words as FTS5's phrases, in order: each one's stem and IDF (FTS5's, from the whole index's
   * counts, clamped at 1e-6 as bm25() does). Two words with one stem are two phrases to FTS5, each
   * scored. Words found nowhere are left out (they add nothing to any score).
   */
  phrases(words: string[], rows = this.totals().rows): [stem: string, idf: number][] {
    const out: [string, number][] = [];
    for (const w of words) {
      const n = this.#count(w);
      if (n > 0) out.push([ftsStem(ftsTokens(w)[0] ?? w), Math.max(1e-6, Math.log((rows - n + 0.5) / (n + 0.5)))]);
    }
    return out;
  }

  /** The `limit` best chunks in the runs of ids for the words, best first, ties by chunk id. */
  search(words: string[], runs: [number, number][], limit: number): ScoredChunk[] {
    const { rows, meanLength } = this.totals();
    if (rows === 0 || words.length === 0 || limit <= 0) return [];
    const query = words.map((w) => `"${w}"`).join(' OR ');
    const list = this.#sql('SELECT rowid FROM chunks_fts WHERE chunks_fts MATCH ? AND rowid BETWEEN CAST(? AS INTEGER) AND CAST(? AS INTEGER)').pluck();
    const ids = runs.flatMap(([first, last]) => list.all(query, first, last) as number[]);
    if (ids.length === 0) return [];
    const phrases = this.phrases(words, rows);
    const stems = new Set(phrases.map(([stem]) => stem));
    const found = this.#sql(
      'SELECT c.id, c.text, s.sz FROM chunks c JOIN chunks_fts_docsize s ON s.id = c.id WHERE c.id IN (SELECT value FROM json_each(?))',
    ).raw().all(JSON.stringify(ids)) as [number, string, Buffer][];
    const scored: ScoredChunk[] = [];
    for (const [id, text, size] of found) {
      const frequency = new Map<string, number>();
      for (const token of ftsTokens(text)) {
        const s = ftsStem(token);
        if (stems.has(s)) frequency.set(s, (frequency.get(s) ?? 0) + 1);
      }
      const length = varints(size)[0] ?? 0;
      let score = 0;
      // FTS5's bm25(), phrase by phrase in the query's order, in its order of operations.
      for (const [stem, idf] of phrases) score += bm25Share(idf, frequency.get(stem) ?? 0, length, meanLength);
      scored.push({ chunkId: id, score });
    }
    return scored.sort((a, b) => b.score - a.score || a.chunkId - b.chunkId).slice(0, limit);
  }
}
