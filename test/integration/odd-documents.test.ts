// The odd and broken files offices receive, read through the router as the app reads them: every
// part that holds text comes out (with its page), what cannot be read is named, failures say what
// to do, and pathological files are capped without stalling the app or keeping its memory.
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { appRss } from '../support/app-memory.ts';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LOW_OCR_CONFIDENCE, type DocumentInfo } from '../../electron/contract/types.ts';
import { createEnclave, documentsDir, type Enclave } from '../../electron/core/app.ts';
import { MAX_PAGES } from '../../electron/services/documents/parsers/types.ts';
import { granter, routerCaller } from '../support/router-call.ts';
import { generateDocumentFixtures } from '../fixtures/documents.ts';
import {
  CJK_PDF_TEXT, DAMAGED_PDF_SENTENCE, EMAIL, ENCODED_TEXTS, generateOddFixtures, HANDMADE_DOCX, ODT_TEXT, PHOTO_LINES, RTF_TEXT, STAMPED_SCAN_LINES, TIFF_PAGES, FAX_PAGES, TYPED_COVER, PASTED_SCAN_LINES, XFA_PLACEHOLDER, XFA_TEXT,
  type OddFixtures,
} from '../fixtures/odd-documents.ts';

let dir: string;
let enclave: Enclave;
let fx: OddFixtures;
let fadedCopy: string;

const call = routerCaller(() => enclave);
const grant = granter(() => enclave);

async function read(path: string): Promise<DocumentInfo> {
  const { document } = await call('documents.import', { file: grant(path) });
  await enclave.documents.whenIdle(document.id);
  return call('documents.get', { documentId: document.id });
}

async function pageText(documentId: string, pageNumber: number): Promise<string> {
  return (await call('documents.page', { documentId, pageNumber })).text;
}

async function allText(doc: DocumentInfo): Promise<string> {
  const pages: string[] = [];
  for (let n = 1; n <= doc.pageCount; n++) pages.push(await pageText(doc.id, n));
  return pages.join('\n\f\n');
}

/** Words as OCR reads them: lower case, letters only. */
const words = (s: string) => s.toLowerCase().replace(/[^a-z ]+/g, ' ').split(/\s+/).filter((w) => w.length > 3);

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'enclave-odd-'));
  fx = await generateOddFixtures();
  fadedCopy = (await generateDocumentFixtures()).fadedCopy;
  enclave = createEnclave({ dataDir: join(dir, 'data'), mode: 'web', version: 'test' });
}, 120_000);

afterAll(async () => {
  await enclave.shutdown();
  rmSync(dir, { recursive: true, force: true });
});

describe('Word: every part that holds text', () => {
  it('a producer’s own namespace prefix, a main part found by relationship, notes, comments, text boxes, headers and footers', async () => {
    const doc = await read(fx.handmadeDocx);
    expect(doc).toMatchObject({ status: 'ready', kind: 'docx', paginated: true, pageCount: 2 });
    const p1 = await pageText(doc.id, 1);
    const p2 = await pageText(doc.id, 2);
    expect(p1).toContain(HANDMADE_DOCX.header);
    expect(p1).toContain(HANDMADE_DOCX.body1);
    expect(p1).toContain(`[1] ${HANDMADE_DOCX.footnote}`); // on the page that cites it
    expect(p1).toContain(`[Comment by A. Partner: ${HANDMADE_DOCX.comment}]`);
    expect(p1).toContain(HANDMADE_DOCX.footer);
    // The text box once, not twice (Word writes it as a shape and again as its VML fallback).
    expect(p1.split(HANDMADE_DOCX.textBox).length - 1).toBe(1);
    expect(p2).toContain(HANDMADE_DOCX.body2);
    expect(p2).toContain(`[i] ${HANDMADE_DOCX.endnote}`);
    expect(p2).not.toContain(HANDMADE_DOCX.footnote);
    expect(doc.notices.join(' ')).toMatch(/An embedded object \(page 2\).*was not read/);
  });

  it('footnotes, headers and footers as Word writes them', async () => {
    const doc = await read(fx.wordFootnotes);
    expect(doc).toMatchObject({ status: 'ready', pageCount: 2 });
    const p1 = await pageText(doc.id, 1);
    expect(p1).toContain('Late fees are liquidated damages.');
    expect(p1).toContain('Cal. Civ. Code § 1671 governs liquidated damages.');
    expect(p1).toContain('Lease of Unit 4 — Header');
    expect(p1).toContain('Initials: ____ Footer');
    expect(await pageText(doc.id, 2)).toBe('The second page holds the signatures.');
  });

  it('a password-protected Office file and a presentation are refused with what to do', async () => {
    await expect(call('documents.import', { file: grant(fx.encryptedDocx) })).rejects.toMatchObject({ code: 'document/encrypted', message: expect.stringMatching(/password-protected Office file.*remove the password/) });
    await expect(call('documents.import', { file: grant(fx.pptx) })).rejects.toMatchObject({ code: 'document/unsupported', message: expect.stringMatching(/PowerPoint/) });
  });
});

describe('text encodings', () => {
  it.each(ENCODED_TEXTS.map((e) => [e.file, e.text] as const))('%s is decoded, not stored as mojibake', async (file, text) => {
    const doc = await read(fx.encoded[file]);
    expect(doc.status).toBe('ready');
    expect((await pageText(doc.id, 1)).replace(/\s+/g, ' ')).toBe(text.replace(/\s+/g, ' '));
    expect(doc.notices).toEqual([]);
  });

  it('HTML in the charset its meta tag names', async () => {
    const doc = await read(fx.html1251);
    expect(doc).toMatchObject({ status: 'ready', kind: 'html', title: 'Памятка пациенту' });
    expect(await pageText(doc.id, 1)).toContain('Принимайте лекарство после еды.');
  });

  it('UTF-8 with one bad byte stays UTF-8, and the bad byte is reported', async () => {
    const doc = await read(fx.utf8OneBadByte);
    const text = await pageText(doc.id, 1);
    expect(text).toContain('Zürich, Genève, Malmö');
    expect(text).toContain('São Paulo, Kraków, Øresund.');
    expect(doc.notices).toEqual([expect.stringMatching(/^1 character of “notes-bad-byte.txt” could not be decoded \(read as utf-8\)/)]);
  });
});

describe('PDF', () => {
  it('CJK text in a font named by a predefined CMap is read (CMaps from the installed package)', async () => {
    const doc = await read(fx.cjkPdf);
    expect(doc.status).toBe('ready');
    expect((await pageText(doc.id, 1)).replace(/\s+/g, '')).toBe(CJK_PDF_TEXT);
  });

  it('junk before the header, a broken cross-reference table and a missing header are recovered', async () => {
    const junk = await read(fx.junkBeforeHeader);
    expect(junk).toMatchObject({ status: 'ready', kind: 'pdf', pageCount: 2 });
    expect(await pageText(junk.id, 2)).toContain('Clause 2:');
    for (const path of [fx.brokenXref, fx.headerless]) {
      const doc = await read(path);
      expect(doc).toMatchObject({ status: 'ready', kind: 'pdf' });
      expect(await pageText(doc.id, 1)).toBe(DAMAGED_PDF_SENTENCE);
    }
  });

  it('a PDF damaged beyond recovery fails with what to do, never stored as its syntax', async () => {
    const doc = await read(fx.hopeless);
    expect(doc.status).toBe('failed');
    expect(doc.error).toMatch(/damaged beyond what Enclave can recover.*print it to a new PDF/);
    // A document that could not be read cannot be put in a collection (it would be searched for nothing).
    const collection = await call('collections.create', { name: 'Damaged files' });
    await expect(call('collections.setMembership', { collectionId: collection.id, documentId: doc.id, member: true })).rejects.toMatchObject({ code: 'document/not-ready' });
  });

  it('an XFA form: its text and filled-in values, not the “Please wait…” placeholder; one pdf.js cannot lay out says so', async () => {
    const form = await read(fx.xfaForm);
    expect(form.status).toBe('ready');
    const text = await pageText(form.id, 1);
    for (const s of Object.values(XFA_TEXT)) expect(text).toContain(s);
    expect(text).not.toContain('Please wait');
    const broken = await read(fx.xfaBroken);
    expect(broken.status).toBe('ready');
    const placeholder = await pageText(broken.id, 1);
    expect(placeholder).toMatch(/^Please wait\.\.\. If this message/);
    expect(XFA_PLACEHOLDER.startsWith(placeholder)).toBe(true);
    expect(broken.notices).toEqual([expect.stringMatching(/XFA form Enclave could not lay out/)]);
  });

  it('a typed page with a scanned note pasted in gets the note’s words too; a searchable scan is not read twice', async () => {
    const doc = await read(fx.mixedPages);
    expect(doc).toMatchObject({ status: 'ready', pageCount: 2 });
    const typed = await call('documents.page', { documentId: doc.id, pageNumber: 1 });
    expect(typed.text.startsWith(TYPED_COVER.slice(0, 40))).toBe(true);
    const found = words(typed.text);
    for (const w of words(PASTED_SCAN_LINES.join(' '))) expect(found).toContain(w);
    expect(typed.ocr).toBe(true);
    const searchable = await call('documents.page', { documentId: doc.id, pageNumber: 2 });
    expect(searchable.ocr).toBe(false);
    expect(doc.notices).toEqual([expect.stringMatching(/^Pictures on page 1 hold text of their own: it was read by OCR/)]);
  }, 60_000);

  it('a scanned page with a thin text stamp is read by OCR, not just its stamp', async () => {
    const doc = await read(fx.stampedScan);
    expect(doc.status).toBe('ready');
    const page = await call('documents.page', { documentId: doc.id, pageNumber: 1 });
    expect(page.ocr).toBe(true);
    expect(page.ocrConfidence).toBeGreaterThan(40);
    const found = words(page.text);
    for (const w of words(STAMPED_SCAN_LINES.join(' '))) expect(found).toContain(w);
  }, 60_000);
});

describe('new formats', () => {
  it('images: PNG and JPEG by OCR, one page each; a multi-page TIFF, one page per frame', async () => {
    for (const path of [fx.png, fx.jpeg]) {
      const doc = await read(path);
      expect(doc).toMatchObject({ status: 'ready', kind: 'image', pageCount: 1, ocrPages: 1 });
      const found = words(await pageText(doc.id, 1));
      for (const w of words(PHOTO_LINES.join(' '))) expect(found).toContain(w);
    }
    const tiff = await read(fx.tiff);
    expect(tiff).toMatchObject({ status: 'ready', kind: 'image', pageCount: 2, ocrPages: 2 });
    for (const [i, lines] of TIFF_PAGES.entries()) {
      const found = words(await pageText(tiff.id, i + 1));
      for (const w of words(lines.join(' '))) expect(found).toContain(w);
    }
    // A fax: CCITT Group 4 frames, as fax software and most office scanners write them.
    const fax = await read(fx.faxTiff);
    expect(fax).toMatchObject({ status: 'ready', kind: 'image', pageCount: 2, ocrPages: 2 });
    expect(fax.notices).toEqual([]);
    for (const [i, lines] of FAX_PAGES.entries()) {
      const found = words(await pageText(fax.id, i + 1));
      for (const w of words(lines.join(' '))) expect(found).toContain(w);
    }
  }, 120_000);

  it('a page OCR was unsure of keeps its confidence, and the document says which page to check', async () => {
    const doc = await read(fadedCopy);
    expect(doc).toMatchObject({ status: 'ready', kind: 'image', ocrPages: 1 });
    const page = await call('documents.page', { documentId: doc.id, pageNumber: 1 });
    expect(page.ocrConfidence).toBeGreaterThanOrEqual(40);
    expect(page.ocrConfidence).toBeLessThan(LOW_OCR_CONFIDENCE);
    expect(doc.notices).toEqual([expect.stringMatching(/^OCR was unsure of page 1: words there may be misread/)]);
  }, 60_000);

  it('RTF: code pages, Unicode escapes, footnotes and page breaks; the picture is named', async () => {
    const doc = await read(fx.rtf);
    expect(doc).toMatchObject({ status: 'ready', kind: 'rtf', paginated: true, pageCount: 2, title: RTF_TEXT.title });
    const p1 = await pageText(doc.id, 1);
    for (const s of [RTF_TEXT.body, RTF_TEXT.cyrillic, RTF_TEXT.unicode, RTF_TEXT.footnote]) expect(p1).toContain(s);
    expect(p1).not.toMatch(/Times New Roman|Clerk|Normal|89504e/);
    expect(await pageText(doc.id, 2)).toBe(RTF_TEXT.page2);
    expect(doc.notices).toEqual([expect.stringMatching(/^A picture \(page 1\) was not read/)]);
  });

  it('ODT: headings, notes, comments, tables, header; page breaks LibreOffice recorded', async () => {
    const doc = await read(fx.odt);
    expect(doc).toMatchObject({ status: 'ready', kind: 'odt', paginated: true, pageCount: 2, title: ODT_TEXT.title });
    const p1 = await pageText(doc.id, 1);
    for (const s of [ODT_TEXT.header, ODT_TEXT.page1, `[1] ${ODT_TEXT.note}`, `[Comment: ${ODT_TEXT.comment}]`, ODT_TEXT.cell]) expect(p1).toContain(s);
    expect(p1).not.toMatch(/Nurse|2024-01-01/);
    expect(await pageText(doc.id, 2)).toBe(ODT_TEXT.page2);
  });

  it('e-mail: header and body; a readable attachment becomes its own linked document, the rest is named', async () => {
    const doc = await read(fx.email);
    expect(doc).toMatchObject({ status: 'ready', kind: 'email', title: EMAIL.subject });
    const text = await pageText(doc.id, 1);
    expect(text).toContain('From: Dr. Anna Weiß <anna@clinic.example>');
    expect(text).toContain(`Subject: ${EMAIL.subject}`);
    expect(text).toContain(EMAIL.body);
    expect(text).toContain('Attachments: discharge-note.txt, tool.exe');
    expect(doc.notices.join(' ')).toMatch(/One attachment was not read \(“tool.exe”\)/);
    const attached = (await call('documents.list', {})).find((d) => d.parentId === doc.id)!;
    await enclave.documents.whenIdle(attached.id);
    const child = await call('documents.get', { documentId: attached.id });
    expect(child).toMatchObject({ status: 'ready', fileName: 'discharge-note.txt', parentTitle: EMAIL.subject });
    expect(await pageText(child.id, 1)).toBe(EMAIL.attachmentText);
    // Deleting the message deletes what came with it.
    await call('documents.delete', { documentId: doc.id });
    expect((await call('documents.list', {})).some((d) => d.id === child.id)).toBe(false);
  });

  it('XML (a statute in USLM): text without markup, sections and subsections on their own lines', async () => {
    const doc = await read(fx.statuteXml);
    expect(doc).toMatchObject({ status: 'ready', kind: 'xml', title: 'Public Law 113–44: Survivor benefits' });
    const text = await pageText(doc.id, 1);
    expect(text.replace(/\n+/g, '\n')).toContain('Sec. 101.\n(a) Such amounts as may be necessary are appropriated for H2O testing.\n(b) This section expires on Dec. 31, 2013.');
    expect(text).not.toMatch(/<|uslm\.css/);
  });

  it('XLSX: each sheet a page, as a table with dates as Excel shows them', async () => {
    const doc = await read(fx.xlsx);
    expect(doc).toMatchObject({ status: 'ready', kind: 'xlsx', paginated: true, pageCount: 2 });
    expect(await pageText(doc.id, 1)).toBe('Sheet: Medications\nDrug | Dose | Started\nMetformin | 500 mg | 2024-03-05');
    expect(await pageText(doc.id, 2)).toBe('Sheet: Allergies\nAllergen | Reaction\nPenicillin | Rash');
  });
});

const mb = (n: number) => `${Math.round(n / 1024 / 1024)} MB`;

describe('bounded resources', () => {
  it('page bombs are capped with a notice; the app keeps answering and gives its memory back', async () => {
    // The app's memory is its own process and the reader process it starts for documents.
    const baseline = appRss();
    let peak = baseline;
    const sampler = setInterval(() => (peak = Math.max(peak, appRss())), 50);
    const lag = monitorEventLoopDelay({ resolution: 10 });
    lag.enable();
    const docx = await read(fx.pageBreakBomb);
    const text = await read(fx.formFeedBomb);
    lag.disable();
    clearInterval(sampler);
    for (const doc of [docx, text]) {
      expect(doc.status).toBe('ready');
      expect(doc.pageCount).toBe(MAX_PAGES);
      expect(doc.notices.join(' ')).toMatch(/Only the first 10,000 pages.*Split it/);
    }
    expect(await pageText(text.id, MAX_PAGES)).toBe('a');
    // The main thread was never held for seconds (the unbounded reader stalled it 13–16 s).
    expect(lag.max / 1e6).toBeLessThan(1000);
    await call('documents.delete', { documentId: docx.id });
    await call('documents.delete', { documentId: text.id });
    (globalThis as { gc?: () => void }).gc?.();
    // Reading took memory (the reader held a million pages' worth), and it was given back:
    // the reader process that held it has ended.
    console.log(`app memory: baseline ${mb(baseline)}, peak ${mb(peak)}, after ${mb(appRss())}`);
    expect(peak - baseline).toBeGreaterThan(50 * 1024 * 1024);
    await expect.poll(() => appRss() - baseline).toBeLessThan(150 * 1024 * 1024);
  }, 300_000);

  it('deep nesting is read without exhausting the stack', async () => {
    const html = await read(fx.deepHtml);
    expect(html.status).toBe('ready');
    expect(await pageText(html.id, 1)).toContain('Deep text survives.');
    const rtf = await read(fx.deepRtf);
    expect(rtf.status).toBe('ready');
    expect(await pageText(rtf.id, 1)).toBe('Deep RTF text.');
  });
});

describe('leftovers', () => {
  it('an upload that does not become a document is removed from the data folder', async () => {
    const uploads = documentsDir(join(dir, 'data'));
    const before = readdirSync(uploads).length;
    const { mkdirSync, copyFileSync } = await import('node:fs');
    const target = join(uploads, 'upload-test');
    mkdirSync(target, { recursive: true });
    copyFileSync(fx.pptx, join(target, 'slides.pptx'));
    await expect(call('documents.import', { file: enclave.files.grant(join(target, 'slides.pptx')) })).rejects.toMatchObject({ code: 'document/unsupported' });
    expect(readdirSync(uploads).length).toBe(before);
  });
});
