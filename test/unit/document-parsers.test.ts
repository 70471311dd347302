import { describe, expect, it } from 'vitest';
import iconv from 'iconv-lite';
import { detectKind } from '../../electron/services/documents/detect.ts';
import { decodeText, undecodableNotice } from '../../electron/services/documents/parsers/encoding.ts';
import { isGarbageText, linesNotInLayer } from '../../electron/services/documents/parsers/pdf.ts';
import { rtfToText } from '../../electron/services/documents/parsers/rtf.ts';
import { pageList } from '../../electron/services/documents/parsers/types.ts';
import { safeFileName } from '../../electron/services/files/file-names.ts';
import { reflow } from '../../renderer/lib/reflow.ts';
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
    expect(() => detectKind(Buffer.from([1, 2, 0, 4]), 'program.txt')).toThrow(/binary/);
    expect(() => detectKind(Buffer.from('PK\u0003\u0004....mimetypeapplication/vnd.oasis.opendocument.spreadsheetPK'), 'a.ods')).toThrow(/OpenDocument spreadsheet file, which is not supported/);
    expect(() => detectKind(Buffer.from('PK\u0003\u0004....ppt/slides/slide1.xml'), 'deck.pptx')).toThrow(/PowerPoint/);
    const protectedDocx = Buffer.concat([Buffer.from([0xd0, 0xcf, 0x11, 0xe0]), Buffer.alloc(100), Buffer.from('EncryptedPackage', 'utf16le')]);
    expect(() => detectKind(protectedDocx, 'contract.docx')).toThrow(/password-protected Office file/);
  });

  it('recognises the new kinds by content, whatever the name says', () => {
    expect(detectKind(Buffer.from([0xff, 0xd8, 0xff, 0xe0]), 'photo.pdf')).toMatchObject({ kind: 'image', notice: expect.stringMatching(/named like a PDF but is an image/) });
    expect(detectKind(Buffer.from('II*\u0000'), 'scan.tif').kind).toBe('image');
    expect(detectKind(Buffer.from('{\\rtf1\\ansi hello}'), 'letter.doc').kind).toBe('rtf');
    expect(detectKind(Buffer.from('PK\u0003\u0004....mimetypeapplication/vnd.oasis.opendocument.textPK'), 'a.odt').kind).toBe('odt');
    expect(detectKind(Buffer.from('PK\u0003\u0004....xl/workbook.xml'), 'book.docx').kind).toBe('xlsx');
    expect(detectKind(Buffer.from('From: a@b.example\r\nTo: c@d.example\r\nSubject: Hi\r\n\r\nBody'), 'message.txt').kind).toBe('email');
    // PDF syntax with its header lost is a PDF, never stored as text.
    expect(detectKind(Buffer.from('1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n'), 'broken.pdf').kind).toBe('pdf');
    // Junk before a PDF header far in counts only for a file named .pdf; a text quoting it stays text.
    expect(detectKind(Buffer.concat([Buffer.alloc(3000, 0x2a), Buffer.from('%PDF-1.7')]), 'scan.pdf').kind).toBe('pdf');
    expect(detectKind(Buffer.from(`${'Notes on file formats. '.repeat(100)}A PDF starts with %PDF-1.7 and ends with %%EOF.`), 'notes.txt').kind).toBe('text');
    // UTF-16 text is text, not "a binary file".
    expect(detectKind(Buffer.from('Notes on the case, in UTF-16.', 'utf16le'), 'notes.txt').kind).toBe('text');
  });
});

describe('decodeText', () => {
  it('uses marks, zero-byte patterns, UTF-8, declared charsets and detection, in that order', () => {
    expect(decodeText(Buffer.from([0xef, 0xbb, 0xbf, 0x41]))).toMatchObject({ text: 'A', encoding: 'utf-8' });
    expect(decodeText(Buffer.from('\ufeffHé', 'utf16le'))).toMatchObject({ text: 'Hé', encoding: 'utf-16le' });
    expect(decodeText(Buffer.from('Plain words here', 'utf16le').swap16())).toMatchObject({ text: 'Plain words here', encoding: 'utf-16be' });
    expect(decodeText(iconv.encode('<meta charset="koi8-r"><p>Привет</p>', 'koi8-r')).text).toContain('Привет');
    expect(decodeText(iconv.encode('Le présent contrat est conclu entre le bailleur et le locataire à Paris.', 'windows-1252')).text).toContain('présent');
  });

  it('reports what it could not decode, or could not recognise', () => {
    const bad = decodeText(Buffer.concat([Buffer.from('Zürich Genève Malmö São '), Buffer.from([0xff])]));
    expect(bad).toMatchObject({ encoding: 'utf-8', undecodable: 1 });
    expect(undecodableNotice(bad, 'a.txt')).toMatch(/^1 character of “a.txt” could not be decoded/);
    expect(undecodableNotice(decodeText(Buffer.from('ascii only')), 'a.txt')).toBeNull();
  });
});

describe('reading helpers', () => {
  it('isGarbageText: a layer of control and private-use characters is garbage; real text is not', () => {
    expect(isGarbageText('\u0001\u0002\u0003\ue001\ue002\ue003\ue004 \ue005\ue006\ue007\ue008\ue009\ue00a\ue00b\ue00c\ue00d\ue00e\ue00f\ue010\ue011\ue012')).toBe(true);
    expect(isGarbageText('The tenant shall give notice of thirty days before vacating.')).toBe(false);
    expect(isGarbageText('賃貸借契約書は甲と乙の間で締結される。第一条、期間は二年とする。')).toBe(false);
  });

  it('linesNotInLayer keeps a pasted picture’s new lines and drops OCR’s copy of the typed ones', () => {
    const layer = 'The tenant shall give notice of thirty days before vacating the premises.';
    const ocr = 'The tenant shall give notice of thirty doys before vacating the premises.\nHandwritten: the tenant left early\nok';
    expect(linesNotInLayer(ocr, layer)).toEqual(['Handwritten: the tenant left early']);
  });

  it('reflow joins a PDF line that runs on, keeps paragraph and sentence ends, and keeps the text’s length (citation offsets)', () => {
    const text = 'The tenant shall give\nnotice of thirty days.\nRent is due monthly:\n(a) in advance;\nHEADING\n\nNext paragraph';
    const out = reflow(text);
    expect(out).toBe('The tenant shall give notice of thirty days.\nRent is due monthly:\n(a) in advance;\nHEADING\n\nNext paragraph');
    expect(out.length).toBe(text.length);
    expect(out.indexOf('notice of thirty days')).toBe(text.indexOf('notice of thirty days'));
  });

  it('pageList names pages and ranges', () => {
    expect(pageList([3])).toBe('page 3');
    expect(pageList([5, 3, 4, 9])).toBe('pages 3–5 and 9');
  });

  it('safeFileName keeps Unicode, drops separators and reserved characters, and fits 200 bytes', () => {
    expect(safeFileName('résumé 日本語.txt')).toBe('résumé 日本語.txt');
    expect(safeFileName('..\\..\\evil/../x<y>:z?.pdf')).toBe('x_y__z_.pdf');
    expect(safeFileName('')).toBe('upload');
    const long = safeFileName(`${'日'.repeat(200)}.docx`);
    expect(Buffer.byteLength(long)).toBeLessThanOrEqual(200);
    expect(long.endsWith('.docx')).toBe(true);
  });

  it('RTF: deep nesting, escapes and destinations, without recursion', () => {
    const deep = rtfToText(`{\\rtf1 ${'{'.repeat(100_000)}deep${'}'.repeat(100_000)}}`);
    expect(deep.pages.join('').trim()).toBe('deep');
    const doc = rtfToText("{\\rtf1\\ansi\\ansicpg1252{\\fonttbl{\\f0 Arial;}}{\\*\\unknowndest hidden}caf\\'e9 \\u8364? {\\field{\\*\\fldinst HYPERLINK x}{\\fldrslt link text}}\\page two}");
    expect(doc.pages.map((p) => p.trim())).toEqual(['café € link text', 'two']);
  });

  it('HTML nested too deep for the tree parser is read flat', () => {
    const html = `${'<div>'.repeat(100_000)}<p>Deep &amp; kept</p><script>x()</script>${'</div>'.repeat(100_000)}`;
    expect(htmlToText(html).text.trim()).toBe('Deep & kept');
  });
});

describe('docxPages', () => {
  it('skips tracked deletions and reads any prefix bound to WordprocessingML', () => {
    const xml = `<x:document xmlns:x="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><x:body><x:p><x:r><x:t>kept </x:t></x:r><x:del><x:r><x:delText>removed</x:delText></x:r></x:del><x:ins><x:r><x:t>inserted</x:t></x:r></x:ins></x:p></x:body></x:document>`;
    expect(docxPages(xml).pages.join('').trim()).toBe('kept inserted');
  });

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
