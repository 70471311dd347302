import { describe, expect, it } from 'vitest';
import { detectKind } from '../../electron/services/documents/detect.ts';
import { docxPages } from '../../electron/services/documents/parsers/docx.ts';
import { htmlToText } from '../../electron/services/documents/parsers/html.ts';
import { splitIntoParts } from '../../electron/services/documents/parsers/text.ts';

describe('detectKind', () => {
  it('trusts content over the extension, and says so when they disagree', () => {
    expect(detectKind(Buffer.from('%PDF-1.7\n...'), 'a.pdf')).toEqual({ kind: 'pdf', notice: null });
    expect(detectKind(Buffer.from('%PDF-1.4'), 'report.txt').notice).toMatch(/named like plain text but is a PDF/);
    expect(detectKind(Buffer.from('Just words'), 'notes.md')).toEqual({ kind: 'markdown', notice: null });
    expect(detectKind(Buffer.from('<!DOCTYPE html><html>'), 'page.txt').kind).toBe('html');
    expect(detectKind(Buffer.from([0x50, 0x4b, 0x03, 0x04, 1, 2]), 'letter.docx').kind).toBe('docx');
  });

  it('refuses what it cannot read, naming it', () => {
    expect(() => detectKind(Buffer.from([0xd0, 0xcf, 0x11, 0xe0, 0xa1]), 'old.doc')).toThrow(/Word 97–2003/);
    expect(() => detectKind(Buffer.from([0xff, 0xd8, 0xff, 0xe0]), 'photo.pdf')).toThrow(/an image/);
    expect(() => detectKind(Buffer.from([1, 2, 0, 4]), 'program.txt')).toThrow(/binary/);
    expect(() => detectKind(Buffer.from('PK\u0003\u0004....mimetypeapplication/vnd.oasis.opendocument.text'), 'a.odt')).toThrow(/OpenDocument/);
  });
});

describe('docxPages', () => {
  const p = (text: string, extra = '') => `<w:p><w:r>${extra}<w:t>${text}</w:t></w:r></w:p>`;

  it('counts an explicit break followed by Word’s rendered-break marker once', () => {
    const xml = p('One') + `<w:p><w:r><w:br w:type="page"/></w:r></w:p>` + p('Two', '<w:lastRenderedPageBreak/>') + p('Three', '<w:lastRenderedPageBreak/>');
    const { pages, paginated } = docxPages(xml);
    expect(paginated).toBe(true);
    expect(pages.map((t) => t.trim())).toEqual(['One', 'Two', 'Three']);
  });

  it('decodes entities, keeps tabs and line breaks, and ignores text outside w:t', () => {
    const xml = `<w:p><w:r><w:t xml:space="preserve">A &amp; B &lt;c&gt; &#233;</w:t><w:tab/><w:t>x</w:t><w:br/><w:t>y</w:t></w:r><w:instrText>PAGE</w:instrText></w:p>`;
    expect(docxPages(xml)).toEqual({ pages: ['A & B <c> é\tx\ny\n'], paginated: false });
  });
});

describe('text and HTML', () => {
  it('splits long text into parts at paragraph boundaries', () => {
    const parts = splitIntoParts(Array.from({ length: 10 }, (_, i) => `P${i} ` + 'w '.repeat(300)).join('\n\n'), 1000);
    expect(parts.length).toBeGreaterThan(3);
    for (const part of parts) expect(part.length).toBeLessThan(1600);
    expect(parts.join('\n\n').replace(/\s+/g, ' ')).toContain('P9 ');
  });

  it('turns HTML into text without scripts, styles or comments', () => {
    const { text, title } = htmlToText('<html><head><title>T &amp; C</title></head><body><p>Hi<!-- secret --></p><script>x()</script><style>.a{}</style><ul><li>one</li><li>two</li></ul></body></html>');
    expect(title).toBe('T & C');
    expect(text).toContain('Hi');
    expect(text).toContain('one');
    expect(text).not.toMatch(/secret|x\(\)|\.a\{/);
  });
});
