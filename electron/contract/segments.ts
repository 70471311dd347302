// How an answer from documents is laid out: its text cut at the sentences the main process
// attributed, each with its support. Text between sentences (spaces, list markers) stays plain.
// Shared by the window (to show it) and main (to export it as a record).
import type { AnswerSearch, AnswerSentence, SentenceSupport } from './types.ts';

export interface Segment {
  text: string;
  support: SentenceSupport | null;
  source: number | null;
}

export function attributedSegments(content: string, sentences: AnswerSentence[]): Segment[] {
  const out: Segment[] = [];
  let at = 0;
  for (const s of [...sentences].sort((a, b) => a.start - b.start)) {
    if (s.start < at || s.end > content.length) continue; // never trust offsets that do not fit
    if (s.start > at) out.push({ text: content.slice(at, s.start), support: null, source: null });
    out.push({ text: content.slice(s.start, s.end), support: s.support, source: s.source });
    at = s.end;
  }
  if (at < content.length) out.push({ text: content.slice(at), support: null, source: null });
  return out;
}

/** How an answer's passages were found, in words (the window's footer and the exported record). */
export function describeSearch(search: AnswerSearch): { found: string; failed: string | null } {
  const found = `Passages found by ${search.mode === 'hybrid' ? 'keywords and meaning' : 'keywords only'}${search.rerankedBy ? `, reranked by ${search.rerankedBy}` : ''}`;
  return { found, failed: search.rerankFailed ? 'not reranked: the reranking model failed on this search' : null };
}
