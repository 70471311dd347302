import { describe, expect, it } from 'vitest';
import { parseCitations, verifyPoints } from '../../electron/services/documents/citations.ts';
import { findLoop } from '../../electron/services/engine/repetition.ts';
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

  const PAGES: Record<number, string> = {
    3: 'The Tenant shall pay rent of $900 on the first day of each month.',
    4: 'The landlord keeps the deposit until the keys are returned.',
    5: 'Either party may end this lease by giving notice of thirty days in writing.',
  };
  const pageText = (n: number) => PAGES[n] ?? '';

  it('keeps a citation only of a page whose text supports the point; moves it to the page that does; marks the rest', () => {
    const { text, verified, unverified, dropped } = verifyPoints(
      [
        '## Findings',
        '- The tenant pays rent of $900 each month [p. 3]',
        '- Notice of thirty days in writing ends the lease [p. 4]',
        '- The deposit is kept until the keys are returned [p. 40]',
        '- Rent is $1,200 a month [p. 3]',
        '- Pets are welcome',
      ].join('\n'),
      { first: 3, last: 6 },
      pageText,
    );
    expect(text.split('\n')).toEqual([
      '## Findings',
      '- The tenant pays rent of $900 each month [p. 3]',
      '- Notice of thirty days in writing ends the lease [p. 5]',
      '- The deposit is kept until the keys are returned [p. 4]',
      '- Rent is $1,200 a month [no source]',
      '- Pets are welcome [no source]',
    ]);
    expect({ verified, unverified, dropped }).toEqual({ verified: 3, unverified: 2, dropped: 1 });
  });

  it('drops empty and repeated points, and gives "Not stated." no page', () => {
    const { text, verified, unverified } = verifyPoints(
      ['## Parties', '- [p. 3–8]', '-  ', '- Not stated. [p. 3]', '## Parties', '- The tenant pays rent of $900 each month [p. 3]', '- The tenant pays rent of $900 each month [p. 3]'].join('\n'),
      { first: 1, last: 8 },
      pageText,
    );
    expect(text.split('\n')).toEqual(['## Parties', '- Not stated.', '## Parties', '- The tenant pays rent of $900 each month [p. 3]']);
    expect({ verified, unverified }).toEqual({ verified: 1, unverified: 0 });
  });
});

describe('repetition', () => {
  it('finds where a looping text starts repeating: a line, or a run of words', () => {
    const heading = '## Preliminaries\n- \n';
    const looped = `Intro line.\n${heading.repeat(6)}`;
    expect(looped.slice(0, findLoop(looped)!)).toBe(`Intro line.\n${heading}`);
    const prose = 'The parties are PSS and the Supplier of goods in the area and ';
    const text = `Summary: ${prose.repeat(5)}`;
    expect(text.slice(0, findLoop(text)!)).toBe(`Summary: ${prose}`);
    expect(findLoop('- Rent is $900 [p. 3]\n- Deposit kept [p. 4]\n- Notice is thirty days [p. 5]')).toBeNull();
    // "Not stated." under each heading of a legal summary is not a loop.
    expect(findLoop(['## Parties', '- Not stated.', '## Dates', '- Not stated.', '## Obligations', '- Not stated.', '## Risks', '- Not stated.'].join('\n'))).toBeNull();
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
