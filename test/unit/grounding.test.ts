import { describe, expect, it } from 'vitest';
import { groundAnswer, locateQuote, parseCitations } from '../../electron/services/retrieval/grounding.ts';
import { fitPassages } from '../../electron/services/retrieval/grounder.ts';
import { splitSentences } from '../../electron/services/retrieval/attribution.ts';
import { chunkPage } from '../../electron/services/retrieval/chunker.ts';
import type { StoredChunk } from '../../electron/services/store/retrieval-store.ts';

const chunk = (id: number, text: string, page = 3, charStart = 0): StoredChunk => ({
  id, documentId: 'd1', documentTitle: 'Lease', paginated: true, pageNumber: page, charStart, charEnd: charStart + text.length, text,
});
const TERMINATION = 'Either party may terminate this lease by giving notice of thirty days in writing.';
const PAGE_3 = `${'x'.repeat(99)} ${TERMINATION}`;
const sources = [
  chunk(11, TERMINATION, 3, 100),
  chunk(12, 'The deposit is returned within fourteen days after the keys are handed back.', 5),
];

describe('attribution of answers', () => {
  it('parses numbered citations with and without quoted words', () => {
    const parsed = parseCitations('Notice is thirty days [1: "notice of thirty days"]. Deposit back fast [2].');
    expect(parsed.map((p) => [p.number, p.quote])).toEqual([[1, 'notice of thirty days'], [2, null]]);
  });

  it('verifies a sentence the model cited with words that are in the passage, ignoring case, quotes and spacing; the source points at those words on the page', () => {
    const r = groundAnswer('Either party may terminate by giving notice of thirty days [1: “Notice  of THIRTY days”].', sources, 'How can the lease be terminated?');
    expect(r.content).toBe('Either party may terminate by giving notice of thirty days.');
    expect(r.failures).toBe(0);
    expect(r.grounding.sentences).toEqual([{ start: 0, end: r.content.length, support: 'verified', source: 1 }]);
    const [source] = r.sources;
    expect(source).toMatchObject({ number: 1, chunkId: 11, pageNumber: 3, verified: true, quote: 'notice of thirty days' });
    // charStart–charEnd are the quoted words' own characters on the page (the chunk starts at 100).
    expect(PAGE_3.slice(source.charStart, source.charEnd)).toBe('notice of thirty days');
  });

  it('catches a fabricated quote and a source number that does not exist; both are recorded, and their sentences are marked unsupported', () => {
    const r = groundAnswer('Rent doubles yearly [1: "rent doubles every year"]. The tenant owns the house [7: "owns the house"].', sources, 'What about rent?');
    expect(r.content).toBe('Rent doubles yearly. The tenant owns the house.');
    expect(r.failures).toBe(2);
    expect(r.grounding.sentences.map((s) => s.support)).toEqual(['unsupported', 'unsupported']);
    const failed = r.sources.filter((s) => !s.verified);
    expect(failed.map((s) => s.failure)).toEqual(['[1] the quoted words are not in source 1', '[7] cites source 7, but there were only 2']);
  });

  it('attributes sentences when the model cites nothing at all, and marks the ones the passages do not support', () => {
    const r = groundAnswer('The deposit is returned within fourteen days after the keys are handed back. Pets are allowed in the flat.', sources, 'When is the deposit returned?');
    expect(r.grounding.modelCitations).toBe(0);
    expect(r.grounding.sentences.map((s) => [r.content.slice(s.start, s.end), s.support, s.source])).toEqual([
      ['The deposit is returned within fourteen days after the keys are handed back.', 'verified', 1],
      ['Pets are allowed in the flat.', 'unsupported', null],
    ]);
    expect(r.sources[0]).toMatchObject({ pageNumber: 5, quote: 'deposit is returned within fourteen days after the keys are handed back' });
  });

  it('a changed number, date or name is not supported, even when the other words match', () => {
    for (const wrong of [
      'Either party may terminate the lease by giving notice of sixty days in writing.',
      'The deposit is returned within 15 days after the keys are handed back.',
      'Either party may terminate the lease by giving notice of thirty days to Acme Holdings.',
      'Either party may not terminate the lease by giving notice of thirty days.',
    ]) {
      const r = groundAnswer(wrong, sources, 'How can the lease be terminated?');
      expect(r.grounding.sentences[0].support, wrong).toBe('unsupported');
    }
    // The same number in figures and in words is the same claim.
    const same = groundAnswer('The deposit is returned within 14 days after the keys are handed back.', sources, 'When is the deposit returned?');
    expect(same.grounding.sentences[0].support).toBe('verified');
  });

  it('checks sentences against every passage retrieved, though the model read only excerpts; its citation numbers count only what it was given', () => {
    const excerpt = chunk(11, 'notice of thirty days in writing.', 3, 160);
    const r = groundAnswer('The deposit is returned within fourteen days after the keys are handed back [2].', [excerpt], 'When is the deposit returned?', { retrieved: sources });
    expect(r.grounding.sentences[0]).toMatchObject({ support: 'verified', source: 1 });
    expect(r.sources[0]).toMatchObject({ pageNumber: 5, verified: true });
    expect(r.sources.find((s) => !s.verified)?.failure).toBe('[2] cites source 2, but there were only 1');
  });

  it('a right date found beside another subject does not support a claim about what was asked', () => {
    const passages = [chunk(21, 'The supplier warrants that its products will process dates after December 31, 1999 correctly.', 4)];
    const r = groundAnswer('The date of the agreement is December 31, 1999.', passages, 'What is the date of the agreement?');
    expect(r.grounding.sentences[0].support).toBe('unsupported');
  });

  it('an answer with nothing supported offers what the documents say, verbatim, as verified sources', () => {
    const r = groundAnswer('The lease is governed by the laws of Mars.', sources, 'When is the deposit returned after the keys are handed back?');
    expect(r.grounding.sentences.map((s) => s.support)).toEqual(['unsupported']);
    expect(r.grounding.evidence).toEqual([1]);
    expect(r.grounding.evidenceCoverage).toBe(1);
    expect(r.sources[0]).toMatchObject({ number: 1, verified: true, pageNumber: 5, quote: sources[1].text });
    // Passages that share only some of the question's words are offered as the closest, not as the answer.
    const weak = groundAnswer('Cats are fine.', sources, 'Is a deposit needed for cats and dogs?');
    expect(weak.grounding.evidence).toHaveLength(1);
    expect(weak.grounding.evidenceCoverage).toBeLessThan(0.5);
  });

  it('a question the model writes asserts nothing: neither verified (even when its words are in a passage) nor marked', () => {
    const r = groundAnswer('Question: may either party terminate this lease? Either party may terminate this lease by giving notice of thirty days in writing. Is that all? [1]', sources, 'How can the lease end?');
    expect(r.grounding.sentences.map((s) => s.support)).toEqual(['question', 'verified', 'question']);
    expect(r.grounding.sentences[0].source).toBeNull();
    // An answer of nothing but a question has no claim to support, and is offered what the documents say.
    const only = groundAnswer('Can either party terminate this lease by giving notice of thirty days?', sources, 'How can the lease end?');
    expect(only.grounding.sentences.map((s) => s.support)).toEqual(['question']);
    expect(only.grounding.evidence.length).toBeGreaterThan(0);
  });

  it('a sentence that says the documents do not answer is a refusal, not an unsupported claim', () => {
    const r = groundAnswer('The documents do not say whether pets are allowed.', sources, 'Are pets allowed?');
    expect(r.grounding.sentences.map((s) => s.support)).toEqual(['refusal']);
  });
});

describe('sentences', () => {
  it('splits at sentence ends, list items and blank lines, not at abbreviations, decimals or PDF line breaks', () => {
    const text = 'Acme Inc. pays $1.5 million to the\nlandlord. It ends on May 1.\n\n- First item\n- Second item';
    expect(splitSentences(text).map((s) => s.text)).toEqual(['Acme Inc. pays $1.5 million to the\nlandlord.', 'It ends on May 1.', 'First item', 'Second item']);
    for (const s of splitSentences(text)) expect(text.slice(s.start, s.end)).toBe(s.text);
  });

  it('finds a quote word for word whatever the typography', () => {
    const passage = 'giving   Notice of “thirty” days';
    const at = locateQuote('notice of thirty days', passage)!;
    expect(passage.slice(at.start, at.end)).toBe('Notice of “thirty” days');
    expect(locateQuote('notice of sixty days', passage)).toBeNull();
  });
});

describe('fitting passages to the context', () => {
  const count = (t: string) => Math.ceil(t.length / 4);
  it('keeps passages in rank order while they fit, and cuts the next one at a sentence end', () => {
    const long = chunk(31, 'First sentence of the long passage. '.repeat(20).trim(), 7);
    const fitted = fitPassages([sources[0], long], { tokens: 80, count });
    expect(fitted.map((c) => c.id)).toEqual([11, 31]);
    expect(fitted[1].text.length).toBeLessThan(long.text.length);
    expect(fitted[1].text.endsWith('passage.')).toBe(true);
    expect(fitted[1].charEnd - fitted[1].charStart).toBe(fitted[1].text.length);
  });
  it('a tiny budget gets fewer passages, never none when one sentence fits', () => {
    expect(fitPassages(sources, { tokens: 40, count }).length).toBe(1);
    expect(fitPassages(sources, { tokens: 5, count })).toEqual([]);
  });
});

describe('chunkPage', () => {
  it('covers the page in overlapping chunks whose offsets point at their text', () => {
    const text = Array.from({ length: 40 }, (_, i) => `Sentence number ${i} about the lease terms.`).join(' ');
    const chunks = chunkPage(4, text, 300, 60);
    expect(chunks.length).toBeGreaterThan(4);
    for (const c of chunks) {
      expect(c.pageNumber).toBe(4);
      expect(text.slice(c.charStart, c.charEnd)).toBe(c.text);
      expect(c.text.length).toBeLessThanOrEqual(300);
    }
    expect(chunks[0].charStart).toBe(0);
    expect(chunks[chunks.length - 1].charEnd).toBe(text.length);
    for (let i = 1; i < chunks.length; i++) expect(chunks[i].charStart).toBeLessThan(chunks[i - 1].charEnd); // overlap
  });
});
