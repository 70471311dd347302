import { describe, expect, it } from 'vitest';
import { bestSource, enforceCitations, parseCitations } from '../../electron/services/documents/citations.ts';
import { planSections } from '../../electron/services/documents/summarizer.ts';

describe('citations', () => {
  it('parses single pages, ranges, pp. and parts', () => {
    expect(parseCitations('a [p. 3] b [p. 4–6] c [pp. 8-9] d [part 2]')).toEqual([
      { first: 3, last: 3 },
      { first: 4, last: 6 },
      { first: 8, last: 9 },
      { first: 2, last: 2 },
    ]);
  });

  it('keeps citations inside the pages seen, drops impossible ones, and cites uncited points', () => {
    const { text, dropped } = enforceCitations(
      ['## Findings', '- Rent is due monthly [p. 4]', '- Deposit is held [p. 40]', '- Notice is 30 days', '', 'Not a point: ---'].join('\n'),
      { first: 3, last: 6 },
      () => ({ first: 3, last: 6 }),
    );
    expect(dropped).toBe(1);
    expect(text.split('\n')).toEqual([
      '## Findings',
      '- Rent is due monthly [p. 4]',
      '- Deposit is held [p. 3–6]',
      '- Notice is 30 days [p. 3–6]',
      '',
      'Not a point: --- [p. 3–6]',
    ]);
  });

  it('attributes an uncited point to the source it shares most words with', () => {
    const sources = [
      { text: 'The tenant pays rent monthly.', first: 1, last: 2 },
      { text: 'The deposit is returned within thirty days of vacating.', first: 3, last: 4 },
    ];
    expect(bestSource('Deposit returned within thirty days', sources)).toBe(sources[1]);
  });
});

describe('planSections', () => {
  const count = (s: string) => Math.ceil(s.length / 4);
  const pages = Array.from({ length: 10 }, (_, i) => ({ pageNumber: i + 1, text: `Page ${i + 1} text. `.repeat(20) }));

  it('cuts along page boundaries within the token budget, covering every page once', () => {
    const sections = planSections(pages, 250, count);
    expect(sections.length).toBeGreaterThan(2);
    let expected = 1;
    for (const s of sections) {
      expect(s.first).toBe(expected);
      expect(count(s.text)).toBeLessThanOrEqual(250);
      for (let p = s.first; p <= s.last; p++) expect(s.text).toContain(`[p. ${p}]`);
      expected = s.last + 1;
    }
    expect(expected).toBe(11);
  });

  it('splits a page longer than a section, each piece keeping its page number, and skips empty pages', () => {
    const sections = planSections([{ pageNumber: 1, text: '' }, { pageNumber: 2, text: 'line of text\n'.repeat(400) }], 200, count);
    expect(sections.length).toBeGreaterThan(1);
    for (const s of sections) expect(s).toMatchObject({ first: 2, last: 2 });
  });
});
