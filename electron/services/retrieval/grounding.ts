// Grounded answers: the numbered sources the model is given, and the check of what it says.
// Every sentence of the answer is attributed: linked to the passage and the exact words that
// support it, or marked as not supported. The model may cite [n: "words"]; a citation whose words
// are not in its source is recorded as failed, and its sentence is still matched on its own.
// When no sentence holds, the best verified passages are offered as what the documents say.
import type { AnswerGrounding, AnswerSentence } from '../../contract/types.ts';
import type { SourceRecord, StoredChunk } from '../store/retrieval-store.ts';
import { findSupport, isQuestion, isRefusal, splitSentences, tokens, type Span } from './attribution.ts';
import { evidenceAnswers, topEvidence } from './evidence.ts';

/** Stable across turns (it sits in the system prompt, so the conversation's KV cache is reused). */
export const GROUNDING_INSTRUCTIONS =
  "Answer from the numbered sources in the user's message only. Be brief (one to three sentences) and copy " +
  'names, dates and numbers exactly. Cite like [2: "the exact words"]. If the sources do not answer, say that ' +
  'the documents do not say.';

export function sourceHeading(c: StoredChunk, number: number): string {
  return `[${number}] “${c.documentTitle}”, ${c.paginated ? 'page' : 'part'} ${c.pageNumber}:`;
}

/** The user turn of a grounded question: its sources first, then the question itself. */
export function groundedUserTurn(question: string, chunks: StoredChunk[]): string {
  const sources = chunks.map((c, i) => `${sourceHeading(c, i + 1)}\n${c.text}`).join('\n\n');
  return `Sources:\n\n${sources}\n\nQuestion: ${question}`;
}

export interface ParsedCitation {
  number: number;
  quote: string | null;
  start: number;
  end: number;
}

const CITATION = /\s*\[(\d{1,3})(?:\s*[:,]\s*[“"«]([^”"»\]]{2,400})[”"»])?\]/g;

export function parseCitations(answer: string): ParsedCitation[] {
  return [...answer.matchAll(CITATION)].map((m) => ({ number: Number(m[1]), quote: m[2]?.trim() ?? null, start: m.index!, end: m.index! + m[0].length }));
}

/** Where `quote` stands in `passage`, word for word (case, punctuation and spacing aside). */
export function locateQuote(quote: string, passage: string): Span | null {
  const q = tokens(quote).map((t) => t.term);
  if (q.length === 0) return null;
  const p = tokens(passage);
  outer: for (let i = 0; i + q.length <= p.length; i++) {
    for (let j = 0; j < q.length; j++) if (p[i + j].term !== q[j]) continue outer;
    return { start: p[i].start, end: p[i + q.length - 1].end };
  }
  return null;
}

export interface GroundedAnswer {
  /** The answer as shown: the model's text without its citation markup. */
  content: string;
  grounding: AnswerGrounding;
  /** Shown sources (numbered from 1) and failed citations (recorded, numbered from 1000). */
  sources: SourceRecord[];
  failures: number;
}

export interface GroundOptions {
  /** The question's words that named a document (left out of evidence ranking). */
  naming?: readonly string[];
  /**
   * Passages retrieved for the question beyond those given to the model (it read the best
   * sentences of them): a sentence they support is as true, and their sentences can be evidence.
   * The model's citation numbers count only the passages it was given.
   */
  retrieved?: StoredChunk[];
}

/**
 * Attributes each sentence of `answer` to the passages it was written from (`given`, numbered as
 * the model saw them). `question` chooses the passages offered as evidence when nothing in the
 * answer could be verified.
 */
export function groundAnswer(answer: string, given: StoredChunk[], question: string, options: GroundOptions = {}): GroundedAnswer {
  const naming = options.naming ?? [];
  const chunks = [...given, ...(options.retrieved ?? [])];
  const citations = parseCitations(answer);
  // The shown text: citations removed; each remembers where it stood in that text.
  let content = '';
  let last = 0;
  const placed: { citation: ParsedCitation; at: number }[] = [];
  for (const c of citations) {
    content += answer.slice(last, c.start);
    placed.push({ citation: c, at: content.length });
    last = c.end;
  }
  content += answer.slice(last);
  const trimmed = content.replace(/\s+$/, '');
  content = trimmed.replace(/^\s+/, '');
  const shift = trimmed.length - content.length;
  for (const p of placed) p.at = Math.max(0, p.at - shift);

  const texts = chunks.map((c) => c.text);
  const shown: SourceRecord[] = [];
  const failures: SourceRecord[] = [];
  const sourceFor = (passage: number, quote: Span): number => {
    const chunk = chunks[passage];
    // The same words on the same page are one source, whichever overlapping chunk they came from.
    const existing = shown.find(
      (s) => s.documentId === chunk.documentId && s.pageNumber === chunk.pageNumber && s.charStart === chunk.charStart + quote.start && s.charEnd === chunk.charStart + quote.end,
    );
    if (existing) return existing.number;
    const number = shown.length + 1;
    shown.push({
      number, chunkId: chunk.id, documentId: chunk.documentId, documentTitle: chunk.documentTitle, pageNumber: chunk.pageNumber,
      // The quoted words' own characters on the page: what the reader highlights.
      charStart: chunk.charStart + quote.start, charEnd: chunk.charStart + quote.end,
      passage: chunk.text, quote: chunk.text.slice(quote.start, quote.end), verified: true, failure: null,
    });
    return number;
  };
  const fail = (c: ParsedCitation, failure: string) => {
    const chunk = c.number <= given.length ? chunks[c.number - 1] : undefined;
    failures.push({
      number: 1000 + failures.length, chunkId: chunk?.id ?? null, documentId: chunk?.documentId ?? '', documentTitle: chunk?.documentTitle ?? '',
      pageNumber: chunk?.pageNumber ?? 0, charStart: chunk?.charStart ?? 0, charEnd: chunk?.charEnd ?? 0, passage: chunk?.text ?? '',
      quote: c.quote, verified: false, failure: `[${c.number}] ${failure}`,
    });
  };

  const sentences: AnswerSentence[] = splitSentences(content).map((s) => {
    if (isRefusal(s.text)) return { start: s.start, end: s.end, support: 'refusal', source: null };
    if (isQuestion(s.text)) return { start: s.start, end: s.end, support: 'question', source: null };
    // The model's own citations of this sentence first: its quoted words must be in its source,
    // and the sentence must agree with that source.
    const own = placed.filter((p) => p.at >= s.start && p.at <= s.end + 2).map((p) => p.citation);
    for (const c of own) {
      if (c.number > given.length || !chunks[c.number - 1]) {
        fail(c, `cites source ${c.number}, but there were only ${given.length}`);
        continue;
      }
      const quoted = c.quote ? locateQuote(c.quote, texts[c.number - 1]) : null;
      if (c.quote && !quoted) {
        fail(c, `the quoted words are not in source ${c.number}`);
        continue;
      }
      const support = findSupport(s.text, texts, { only: c.number - 1, question });
      if (!support) {
        fail(c, `the sentence does not agree with source ${c.number}`);
        continue;
      }
      return { start: s.start, end: s.end, support: 'verified', source: sourceFor(c.number - 1, quoted ?? support.quote) };
    }
    const support = findSupport(s.text, texts, { question });
    if (!support) return { start: s.start, end: s.end, support: 'unsupported', source: null };
    return { start: s.start, end: s.end, support: 'verified', source: sourceFor(support.passage, support.quote) };
  });

  // What the documents say, verbatim, whenever the answer is not wholly supported: with a small
  // model the best sentences are often worth more than its paraphrase. Ranked as the sources
  // were chosen (evidence.ts): the question's key terms, boilerplate last.
  let evidence: number[] = [];
  let evidenceCoverage = 0;
  let answers = false;
  if (sentences.some((s) => s.support === 'unsupported') || !sentences.some((s) => s.support === 'verified')) {
    // Up to two places, none that repeats words a sentence of the answer is already linked to.
    const supporting = [...shown];
    const ranked = topEvidence(question, chunks, 6, { naming });
    answers = evidenceAnswers(ranked[0]);
    for (const e of ranked) {
      const chunk = chunks[e.passage];
      const [start, end] = [chunk.charStart + e.quote.start, chunk.charStart + e.quote.end];
      const repeats = supporting.some((s) => s.documentId === chunk.documentId && s.pageNumber === chunk.pageNumber && s.charStart < end && start < s.charEnd);
      if (repeats || evidence.length >= 2) continue;
      const number = sourceFor(e.passage, e.quote);
      if (!evidence.includes(number)) evidence.push(number);
      evidenceCoverage = Math.max(evidenceCoverage, e.coverage);
    }
  }
  return {
    content,
    grounding: { sentences, evidence, evidenceCoverage: Math.round(evidenceCoverage * 100) / 100, evidenceAnswers: evidence.length > 0 && answers, modelCitations: citations.length },
    sources: [...shown, ...failures],
    failures: failures.length,
  };
}
