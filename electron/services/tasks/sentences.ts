// The sentences of a document that a task may quote, and which of them are most likely to state a
// field: ranked by BM25 over the field's label, description and hints, with a bonus for a hint
// phrase found whole. Pure functions.
import { splitSentences, tokens } from '../retrieval/attribution.ts';

export interface PageText {
  pageNumber: number;
  text: string;
}

/** A sentence of a page, with its offsets in the page's text. */
export interface SentenceUnit {
  /** Position in the document (reading order). */
  index: number;
  page: number;
  start: number;
  end: number;
  /** The sentence with its whitespace collapsed: what the model is shown and may quote. */
  text: string;
  terms: string[];
}

/** Sentences shorter than this are headings, signature lines or page furniture. */
const MIN_CHARS = 12;
/** Longer runs are cut (a clause of a contract can be a page long). */
export const MAX_SENTENCE_CHARS = 360;

export function documentSentences(pages: PageText[]): SentenceUnit[] {
  const out: SentenceUnit[] = [];
  for (const page of pages) {
    for (const s of splitSentences(page.text, MAX_SENTENCE_CHARS)) {
      const text = s.text.replace(/\s+/g, ' ').trim();
      if (text.length < MIN_CHARS || !/\p{L}{3}/u.test(text)) continue;
      // Lines of underscores and dots (blanks of a form) carry nothing to quote.
      if (/[_.]{8,}/.test(text) && text.replace(/[_.\s]/g, '').length < 20) continue;
      out.push({ index: out.length, page: page.pageNumber, start: s.start, end: s.end, text, terms: tokens(text).map((t) => t.term) });
    }
  }
  return out;
}

export interface RankQuery {
  /** Words that matter (label, description). */
  words: string;
  /** Phrases the passage usually contains; one found whole counts more than its words. */
  phrases: string[];
}

/** Sentences ordered by how well they match the query, best first; ties keep reading order. */
export function rankSentences(units: SentenceUnit[], query: RankQuery): { unit: SentenceUnit; score: number }[] {
  const queryTerms = new Set([...tokens(query.words), ...query.phrases.flatMap((p) => tokens(p))].map((t) => t.term).filter((t) => t.length > 2 || /\d/.test(t)));
  const n = units.length || 1;
  const df = new Map<string, number>();
  for (const u of units) for (const t of new Set(u.terms)) if (queryTerms.has(t)) df.set(t, (df.get(t) ?? 0) + 1);
  const avgLen = units.reduce((a, u) => a + u.terms.length, 0) / n || 1;
  const phrases = query.phrases.map((p) => p.toLowerCase().replace(/\s+/g, ' ').trim()).filter((p) => p.includes(' ') || p.length > 3);
  const k1 = 1.2;
  const b = 0.75;
  return units
    .map((unit) => {
      const tf = new Map<string, number>();
      for (const t of unit.terms) if (queryTerms.has(t)) tf.set(t, (tf.get(t) ?? 0) + 1);
      let score = 0;
      for (const [t, f] of tf) {
        const idf = Math.log(1 + (n - df.get(t)! + 0.5) / (df.get(t)! + 0.5));
        score += (idf * f * (k1 + 1)) / (f + k1 * (1 - b + (b * unit.terms.length) / avgLen));
      }
      const lower = unit.text.toLowerCase();
      for (const p of phrases) if (lower.includes(p)) score += 1.5;
      return { unit, score };
    })
    .filter((r) => r.score > 0)
    .sort((a, b2) => b2.score - a.score || a.unit.index - b2.unit.index);
}

/**
 * Takes ranked sentences, skipping `skip` of them, until the token budget is spent; returned in
 * reading order, so the model reads them as the document does.
 */
export function takeWithinBudget(ranked: SentenceUnit[], skip: number, budget: number, countTokens: (s: string) => number, maxCount: number): SentenceUnit[] {
  const out: SentenceUnit[] = [];
  let used = 0;
  for (const unit of ranked.slice(skip)) {
    if (out.length >= maxCount) break;
    const cost = countTokens(unit.text) + 8;
    if (used + cost > budget) {
      if (out.length === 0) continue;
      break;
    }
    out.push(unit);
    used += cost;
  }
  return out.sort((a, b) => a.index - b.index);
}
