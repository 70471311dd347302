import { describe, expect, it } from 'vitest';
import type { StoredDocument } from '../../electron/services/store/document-store.ts';
import { buildDocumentContext, DOCUMENTS_PREAMBLE } from '../../electron/services/documents/document-context.ts';

const count = (s: string) => Math.ceil(s.length / 4);
function doc(id: string, pageCount: number, status: StoredDocument['status'] = 'ready'): StoredDocument {
  return {
    id, title: `Doc ${id}`, fileName: `${id}.pdf`, kind: 'pdf', sizeBytes: 1, paginated: true, pageCount, ocrPages: 0, status,
    error: null, notice: null, createdAt: 0, updatedAt: 0, sourcePath: '', sha256: id,
  };
}
const pages = (n: number, words = 20) =>
  Array.from({ length: n }, (_, i) => ({ pageNumber: i + 1, text: `Page ${i + 1}: ${i + 1 === 7 ? 'the deposit is returned within thirty days. ' : ''}${'filler text '.repeat(words)}` }));

describe('buildDocumentContext', () => {
  it('gives a document that fits whole, every page marked', () => {
    const ctx = buildDocumentContext([doc('a', 3)], 'anything', 4000, {
      pages: () => pages(3), rankPages: () => [], latestSummary: () => null, countTokens: count,
    })!;
    expect(ctx.modes).toEqual({ a: 'whole' });
    expect(ctx.text.startsWith(DOCUMENTS_PREAMBLE)).toBe(true);
    for (const n of [1, 2, 3]) expect(ctx.text).toContain(`[p. ${n}]\nPage ${n}:`);
  });

  it('gives a long document its summary and the pages most related to the question, within budget', () => {
    const ranked: string[] = [];
    const ctx = buildDocumentContext([doc('b', 40)], 'When is the deposit returned?', 600, {
      pages: () => pages(40),
      rankPages: (_id, q) => {
        ranked.push(q);
        return [7, 3];
      },
      latestSummary: () => '- The lease runs two years [p. 1]\n- Deposit rules [p. 7]',
      countTokens: count,
    })!;
    expect(ctx.modes).toEqual({ b: 'excerpts' });
    expect(ranked).toEqual(['When is the deposit returned?']);
    expect(ctx.text).toContain('Summary of the whole document:\n- The lease runs two years [p. 1]');
    expect(ctx.text).toContain('[p. 7]\nPage 7: the deposit is returned within thirty days.');
    expect(ctx.text.indexOf('[p. 3]\nPage 3')).toBeLessThan(ctx.text.indexOf('[p. 7]\nPage 7')); // in page order
    expect(ctx.text).not.toContain('[p. 20]\n');
    expect(count(ctx.text)).toBeLessThanOrEqual(600 + 60);
  });

  it('leaves out documents that are not ready, and gives nothing when none are', () => {
    const sources = { pages: () => pages(2), rankPages: () => [], latestSummary: () => null, countTokens: count };
    expect(buildDocumentContext([doc('c', 2, 'reading')], 'q', 4000, sources)).toBeNull();
    expect(buildDocumentContext([doc('c', 2, 'reading'), doc('d', 2)], 'q', 4000, sources)!.modes).toEqual({ d: 'whole' });
  });
});
