// Grounded answers: the numbered sources the model is given, and the check of what it cites.
// A citation is shown only if it names a source that exists and the quoted words appear in
// that source's passage; every failure is recorded with its reason.
import type { SourceRecord, StoredChunk } from '../store/retrieval-store.ts';

export const GROUNDING_INSTRUCTIONS =
  'Answer the question from the numbered sources below, and from nothing else. After each claim, cite its source ' +
  'with its number and the exact words you relied on, copied from that source, like this: [2: "the exact words"]. ' +
  'If the sources do not answer the question, say that the documents do not say.';

export function sourcesBlock(chunks: StoredChunk[]): string {
  return chunks
    .map((c, i) => `[${i + 1}] “${c.documentTitle}”, ${c.paginated ? 'page' : 'part'} ${c.pageNumber}:\n${c.text}`)
    .join('\n\n');
}

export interface ParsedCitation {
  number: number;
  quote: string | null;
  /** The sentence the citation belongs to (for matching when no quote was given). */
  sentence: string;
  start: number;
  end: number;
}

const CITATION = /\[(\d{1,3})(?:\s*[:,]\s*[“"«]([^”"»\]]{2,400})[”"»])?\]/g;

export function parseCitations(answer: string): ParsedCitation[] {
  const out: ParsedCitation[] = [];
  for (const m of answer.matchAll(CITATION)) {
    const start = m.index!;
    const before = answer.slice(0, start);
    const sentenceStart = Math.max(before.lastIndexOf('. '), before.lastIndexOf('\n'), before.lastIndexOf(']')) + 1;
    out.push({ number: Number(m[1]), quote: m[2]?.trim() ?? null, sentence: before.slice(sentenceStart).trim(), start, end: start + m[0].length });
  }
  return out;
}

/** Lowercase words, one kind of apostrophe and dash: the check is about words, not typography. */
export function normalize(s: string): string {
  return s
    .toLowerCase()
    .replace(/[‘’`´]/g, "'")
    .replace(/[–—‐-]/g, '-')
    .replace(/[^\p{L}\p{N}'\- ]+/gu, ' ')
    .replace(/\s+/g, ' ')
    .trim();
}

/** The longest run of ≥ 4 words of `sentence` that appears in `passage`, if any. */
export function sharedRun(sentence: string, passage: string): string | null {
  const words = normalize(sentence).split(' ').filter(Boolean);
  const hay = ` ${normalize(passage)} `;
  for (let len = Math.min(words.length, 12); len >= 4; len--) {
    for (let i = 0; i + len <= words.length; i++) {
      const run = words.slice(i, i + len).join(' ');
      if (hay.includes(` ${run} `)) return run;
    }
  }
  return null;
}

export interface CheckedAnswer {
  /** The answer as shown: verified citations as [n], failed ones removed. */
  content: string;
  sources: SourceRecord[];
  failures: number;
}

export function checkAnswer(answer: string, chunks: StoredChunk[]): CheckedAnswer {
  const citations = parseCitations(answer);
  const records = new Map<number, SourceRecord>();
  const failures: SourceRecord[] = [];
  const keep = new Set<ParsedCitation>();
  for (const c of citations) {
    const chunk = chunks[c.number - 1];
    const base = chunk
      ? { chunkId: chunk.id, documentId: chunk.documentId, documentTitle: chunk.documentTitle, pageNumber: chunk.pageNumber, charStart: chunk.charStart, charEnd: chunk.charEnd, passage: chunk.text }
      : { chunkId: null, documentId: '', documentTitle: '', pageNumber: 0, charStart: 0, charEnd: 0, passage: '' };
    let failure: string | null = null;
    let quote = c.quote;
    if (!chunk) failure = `cites source ${c.number}, but there were only ${chunks.length}`;
    else if (quote && !normalize(chunk.text).includes(normalize(quote))) failure = `the quoted words are not in source ${c.number}`;
    else if (!quote) {
      quote = sharedRun(c.sentence, chunk.text);
      if (!quote) failure = `no quoted words, and the claim shares no passage with source ${c.number}`;
    }
    if (failure) {
      failures.push({ number: c.number, ...base, quote: c.quote, verified: false, failure });
      continue;
    }
    keep.add(c);
    if (!records.has(c.number)) records.set(c.number, { number: c.number, ...base, quote, verified: true, failure: null });
  }
  // Rebuild the text: kept citations become [n]; failed ones disappear.
  let content = '';
  let last = 0;
  for (const c of citations) {
    content += answer.slice(last, c.start).replace(/\s+$/, keep.has(c) ? '' : '');
    content += keep.has(c) ? ` [${c.number}]` : '';
    last = c.end;
  }
  content += answer.slice(last);
  content = content.replace(/ +([.,;:])/g, '$1').replace(/ {2,}/g, ' ').trim();
  const verified = [...records.values()].sort((a, b) => a.number - b.number);
  // Failures are recorded too (not shown): numbered after the shown sources, to keep keys unique.
  const recorded = failures.map((f, i) => ({ ...f, number: 1000 + i, failure: `[${f.number}] ${f.failure}` }));
  return { content, sources: [...verified, ...recorded], failures: failures.length };
}
