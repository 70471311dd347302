// Records: personal identifiers found by pattern in clinic and law-office text (and what is not
// one), redaction of whole words only, and Markdown that never turns a document's words into markup.
import { describe, expect, it } from 'vitest';
import { findIdentifiers, redactor } from '../../electron/services/records/redact.ts';
import { toMarkdown } from '../../electron/services/records/render.ts';

const NOTE = `Patient: John A. Carver, DOB: 03/14/1962, MRN: 00482913.
Seen by Dr. Helen Okafor. Phone (555) 201-3344; e-mail j.carver@example.org. SSN 123-45-6789.
Lives at 12 Oak Street, Apt 4B, Springfield, IL 62704. Born on 14 March 1962.
Dear Sir, the annual review is due. Claim No. CLM-2024-0091.`;

describe('personal identifiers', () => {
  it('finds names after a title or label, dates of birth, record and identity numbers, phones, e-mail and addresses', () => {
    const found = findIdentifiers([NOTE]).map((f) => [f.kind, f.text]);
    expect(found).toEqual(
      expect.arrayContaining([
        ['name', 'John A. Carver'],
        ['name', 'Helen Okafor'],
        ['date-of-birth', '03/14/1962'],
        ['date-of-birth', '14 March 1962'],
        ['record-number', '00482913'],
        ['record-number', 'CLM-2024-0091'],
        ['id-number', '123-45-6789'],
        ['phone', '(555) 201-3344'],
        ['email', 'j.carver@example.org'],
        ['address', '12 Oak Street, Apt 4B'],
        ['address', 'IL 62704'],
      ]),
    );
    // "Dear Sir" is not a name; a SHA-256 is not a phone number.
    expect(found.some(([, t]) => t === 'Sir')).toBe(false);
    expect(findIdentifiers(['SHA-256 5a1b80e24ffbcf336f47034179f9c0c3d9b5afbe0135eae3a6b5051280894355'])).toEqual([]);
  });

  it('counts each identifier wherever it appears, with the words around it', () => {
    const [carver] = findIdentifiers(['Mr. Carver called.', 'Carver asked about the lease.']).filter((f) => f.kind === 'name');
    expect(carver).toMatchObject({ text: 'Carver', count: 2, context: 'Mr. Carver called.' });
  });
});

describe('redaction', () => {
  it('replaces whole words, in any case, longest first, and counts them', () => {
    const r = redactor(['Ann', 'Ann Lee', '555-0100']);
    expect(r.apply('ANN LEE and Ann met Annual Leeds at 555-0100.')).toBe('[REDACTED] and [REDACTED] met Annual Leeds at [REDACTED].');
    expect(r.count()).toBe(3);
  });
});

describe('Markdown records', () => {
  it('a document’s words never become markup: links, HTML, emphasis and headings are escaped', () => {
    const text = toMarkdown({
      title: 't',
      fileStem: 't',
      blocks: [
        { type: 'paragraph', runs: [{ text: '# not a heading <img src=x onerror=alert(1)> [click](http://example.com) *bold*' }] },
        { type: 'list', items: [[{ text: '[1] Lease, page 3' }]] },
        { type: 'table', header: ['a|b'], rows: [['c|d']], widths: [1] },
      ],
    });
    expect(text).toContain('\\# not a heading \\<img src=x onerror=alert(1)\\> [click]\\(http://example.com) \\*bold\\*');
    expect(text).toContain('- [1] Lease, page 3');
    expect(text).toContain('| a\\|b |');
  });
});
