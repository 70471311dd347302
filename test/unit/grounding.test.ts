import { describe, expect, it } from 'vitest';
import { checkAnswer, normalize, parseCitations, sharedRun } from '../../electron/services/retrieval/grounding.ts';
import { chunkPage } from '../../electron/services/retrieval/chunker.ts';
import type { StoredChunk } from '../../electron/services/store/retrieval-store.ts';

const chunk = (id: number, text: string, page = 3): StoredChunk => ({
  id, documentId: 'd1', documentTitle: 'Lease', paginated: true, pageNumber: page, charStart: 0, charEnd: text.length, text,
});
const sources = [
  chunk(11, 'Either party may terminate this lease by giving notice of thirty days in writing.'),
  chunk(12, 'The deposit is returned within fourteen days after the keys are handed back.', 5),
];

describe('citation check', () => {
  it('parses numbered citations with and without quoted words', () => {
    const parsed = parseCitations('Notice is thirty days [1: "notice of thirty days"]. Deposit back fast [2].');
    expect(parsed.map((p) => [p.number, p.quote])).toEqual([[1, 'notice of thirty days'], [2, null]]);
    expect(parsed[1].sentence).toBe('Deposit back fast');
  });

  it('keeps a citation whose quote is in the passage, ignoring case, quotes and spacing', () => {
    const r = checkAnswer('The notice period is thirty days [1: “Notice  of THIRTY days”].', sources);
    expect(r.content).toBe('The notice period is thirty days [1].');
    expect(r.failures).toBe(0);
    expect(r.sources).toEqual([expect.objectContaining({ number: 1, chunkId: 11, pageNumber: 3, verified: true, quote: 'Notice  of THIRTY days' })]);
  });

  it('catches a fabricated quote and a source number that does not exist; neither is shown, both are recorded', () => {
    const r = checkAnswer('Rent doubles yearly [1: "rent doubles every year"]. The tenant owns the house [7: "owns the house"]. Notice is thirty days [1: "notice of thirty days"].', sources);
    expect(r.content).toBe('Rent doubles yearly. The tenant owns the house. Notice is thirty days [1].');
    expect(r.failures).toBe(2);
    const shown = r.sources.filter((s) => s.verified);
    expect(shown.map((s) => s.number)).toEqual([1]);
    const failed = r.sources.filter((s) => !s.verified);
    expect(failed.map((s) => s.failure)).toEqual(['[1] the quoted words are not in source 1', '[7] cites source 7, but there were only 2']);
  });

  it('accepts an unquoted citation only when its sentence shares four or more words with the passage', () => {
    const ok = checkAnswer('The deposit is returned within fourteen days [2].', sources);
    expect(ok.sources[0]).toMatchObject({ verified: true, quote: 'the deposit is returned within fourteen days' });
    const bad = checkAnswer('Pets are allowed [2].', sources);
    expect(bad).toMatchObject({ content: 'Pets are allowed.', failures: 1 });
  });

  it('normalizes for comparison and finds shared runs', () => {
    expect(normalize('“Thirty–days,”  NOTICE’s')).toBe("thirty-days notice's");
    expect(sharedRun('so the keys are handed back to the landlord', sources[1].text)).toBe('the keys are handed back');
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
