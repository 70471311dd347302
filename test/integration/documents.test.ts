// Document ingestion through the router, as a transport calls it: real files, the real worker
// thread, a real SQLite file.
import { copyFileSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DocumentInfo } from '../../electron/contract/types.ts';
import { createEnclave, type Enclave } from '../../electron/core/app.ts';
import { granter, routerCaller } from '../support/router-call.ts';
import { DocumentStore } from '../../electron/services/store/document-store.ts';
import { openDatabase } from '../../electron/services/store/db.ts';
import { generateDocumentFixtures, makePdf, pageSentence, type DocumentFixtures } from '../fixtures/documents.ts';

let dir: string;
let enclave: Enclave;
let fx: DocumentFixtures;

const call = routerCaller(() => enclave);
const grant = granter(() => enclave);

async function importAndWait(path: string): Promise<DocumentInfo> {
  const { document } = await call('documents.import', { file: grant(path) });
  await enclave.documents.whenIdle(document.id);
  return call('documents.get', { documentId: document.id });
}

async function pageText(documentId: string, pageNumber: number): Promise<string> {
  return (await call('documents.page', { documentId, pageNumber })).text;
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'enclave-docs-'));
  fx = await generateDocumentFixtures();
  enclave = createEnclave({ dataDir: join(dir, 'data'), mode: 'web', version: 'test' });
});

afterAll(async () => {
  await enclave.shutdown();
  rmSync(dir, { recursive: true, force: true });
});

describe('reading documents with their pages', () => {
  it('PDF: every page keeps its number, with progress events', async () => {
    const progress: number[] = [];
    const off = enclave.events.subscribe((name, p) => {
      if (name === 'documents.progress') progress.push((p as { pagesRead: number }).pagesRead);
    });
    const doc = await importAndWait(fx.pdf12);
    off();
    expect(doc).toMatchObject({ status: 'ready', kind: 'pdf', pageCount: 12, paginated: true, title: 'Lease of 12 pages' });
    for (const n of [1, 7, 12]) expect(await pageText(doc.id, n)).toContain(pageSentence(n));
    expect(await pageText(doc.id, 7)).not.toContain(pageSentence(8));
    expect(progress[progress.length - 1]).toBe(12);
    await expect(call('documents.page', { documentId: doc.id, pageNumber: 13 })).rejects.toMatchObject({ code: 'document/not-found' });
  });

  it('DOCX: page breaks become page numbers', async () => {
    const doc = await importAndWait(fx.docx3);
    expect(doc).toMatchObject({ status: 'ready', kind: 'docx', pageCount: 3, paginated: true });
    expect(await pageText(doc.id, 1)).toContain('Patient admitted with chest pain.');
    expect(await pageText(doc.id, 2)).toContain('troponin normal');
    expect(await pageText(doc.id, 3)).toBe('Plan: follow-up with the GP in two weeks.');
  });

  it('DOCX with no page breaks is one part, said to have no page numbers', async () => {
    const doc = await importAndWait(fx.docxNoBreaks);
    expect(doc).toMatchObject({ status: 'ready', pageCount: 1, paginated: false });
  });

  it('plain text: form feeds are pages; a long text without them is cut into parts', async () => {
    const paged = await importAndWait(fx.textWithFormFeeds);
    expect(paged).toMatchObject({ status: 'ready', kind: 'text', pageCount: 3, paginated: true });
    expect(await pageText(paged.id, 3)).toBe('Third page, with café and naïve.');
    const long = await importAndWait(fx.longText);
    expect(long.paginated).toBe(false);
    expect(long.pageCount).toBeGreaterThan(3);
    expect(await pageText(long.id, 1)).toMatch(/^Paragraph 1\./);
  });

  it('Markdown and HTML: HTML scripts and styles are dropped as text, never run', async () => {
    const md = await importAndWait(fx.markdown);
    expect(md).toMatchObject({ status: 'ready', kind: 'markdown' });
    expect(await pageText(md.id, 1)).toContain('Decided: **approve** the budget.');
    const html = await importAndWait(fx.html);
    expect(html).toMatchObject({ status: 'ready', kind: 'html', title: 'Clinic leaflet' });
    const text = await pageText(html.id, 1);
    expect(text).toContain('Keep the wound dry.');
    expect(text).toContain('fever');
    expect(text).not.toMatch(/alert|window\.ran|document\.write|pwned/);
  });

  it('recognises the same content dropped twice and stores it once', async () => {
    const copy = join(dir, 'same-lease-renamed.pdf');
    copyFileSync(fx.pdf12, copy);
    const before = (await call('documents.list', {})).length;
    const again = await call('documents.import', { file: grant(copy) });
    expect(again.duplicate).toBe(true);
    expect(again.document.title).toBe('Lease of 12 pages');
    expect((await call('documents.list', {})).length).toBe(before);
  });

  it('a 1,000-page PDF is read whole (under the size limit)', async () => {
    const path = join(dir, 'thousand.pdf');
    const { writeFileSync } = await import('node:fs');
    writeFileSync(path, await makePdf(1000, { title: 'Thousand' }));
    expect(statSync(path).size).toBeLessThan(512 * 1024 * 1024);
    const doc = await importAndWait(path);
    expect(doc).toMatchObject({ status: 'ready', pageCount: 1000 });
    expect(await pageText(doc.id, 1000)).toContain(pageSentence(1000));
    expect(await pageText(doc.id, 500)).toContain(pageSentence(500));
  }, 120_000);
});

describe('bad input gets a clear message and loses nothing', () => {
  let countBefore: number;
  beforeAll(async () => {
    countBefore = (await call('documents.list', {})).length;
  });

  it('refuses unsupported, empty, missing and oversized files up front, storing nothing', async () => {
    await expect(call('documents.import', { file: grant(fx.unsupported) })).rejects.toMatchObject({ code: 'document/unsupported', message: expect.stringMatching(/PowerPoint presentation; export it to PDF/) });
    await expect(call('documents.import', { file: grant(fx.emptyText) })).rejects.toMatchObject({ code: 'document/empty' });
    await expect(call('documents.import', { file: grant(join(dir, 'nope.pdf')) })).rejects.toMatchObject({ code: 'document/unreadable' });
    const big = join(dir, 'huge.txt');
    const { openSync, ftruncateSync, closeSync } = await import('node:fs');
    const fd = openSync(big, 'w');
    ftruncateSync(fd, 600 * 1024 * 1024); // sparse: 600 MB without using the disk
    closeSync(fd);
    await expect(call('documents.import', { file: grant(big) })).rejects.toMatchObject({ code: 'document/too-large', message: expect.stringMatching(/up to 512 MB/) });
    expect((await call('documents.list', {})).length).toBe(countBefore);
  });

  it('a damaged or truncated PDF fails with a reason; its failure is kept visible', async () => {
    const corrupt = await importAndWait(fx.corruptPdf);
    expect(corrupt.status).toBe('failed');
    expect(corrupt.error).toMatch(/not a readable PDF|could not be read/);
    const truncated = await importAndWait(fx.truncatedPdf);
    expect(['failed', 'ready']).toContain(truncated.status);
    if (truncated.status === 'ready') expect(truncated.pageCount).toBeLessThanOrEqual(12);
    else expect(truncated.error).toBeTruthy();
  });

  it('a scanned page is read by OCR, offline, keeping its page number, and marked as such', async () => {
    const doc = await importAndWait(fx.mixedScanPdf);
    expect(doc).toMatchObject({ status: 'ready', pageCount: 3, ocrPages: 1 });
    const scanned = await call('documents.page', { documentId: doc.id, pageNumber: 2 });
    expect(scanned.ocr).toBe(true);
    expect(scanned.text).toContain('discharged on Monday');
    expect(scanned.text).toContain('amoxicillin');
    const typed = await call('documents.page', { documentId: doc.id, pageNumber: 3 });
    expect(typed).toMatchObject({ ocr: false, text: 'Typed last page: signed by the attending physician.' });
  });

  it('a PDF with no legible text says so, even after OCR', async () => {
    const blank = await importAndWait(fx.blankPdf);
    expect(blank.status).toBe('failed');
    expect(blank.error).toMatch(/No text could be read/);
  });

  it('a zip bomb posing as .docx is refused without inflating it', async () => {
    const bomb = await importAndWait(fx.zipBomb);
    expect(bomb.status).toBe('failed');
    expect(bomb.error).toMatch(/zip bomb/);
    const notWord = await importAndWait(fx.notDocxZip);
    expect(notWord.status).toBe('failed');
    expect(notWord.error).toMatch(/not a Word document/);
  });

  it('a file whose extension lies is read for what it is, and the user is told', async () => {
    const doc = await importAndWait(fx.lyingPdf);
    expect(doc).toMatchObject({ status: 'ready', kind: 'text' });
    expect(doc.notice).toMatch(/named like a PDF but is plain text/);
  });

  it('an encrypted PDF asks for its password; a wrong one is an error, the right one opens it', async () => {
    const doc = await importAndWait(fx.encryptedPdf);
    expect(doc.status).toBe('needs-password');
    await expect(call('documents.unlock', { documentId: doc.id, password: 'wrong' })).rejects.toMatchObject({ code: 'document/wrong-password' });
    expect((await call('documents.get', { documentId: doc.id })).status).toBe('needs-password');
    const opened = await call('documents.unlock', { documentId: doc.id, password: 'open sesame' });
    expect(opened).toMatchObject({ status: 'ready', pageCount: 2 });
    expect(await pageText(doc.id, 2)).toContain(pageSentence(2));
  });
});

describe('talking about a document in a conversation', () => {
  it('attaches a document to a conversation, and detaches it; deleting the document detaches it', async () => {
    const conversation = await call('conversations.create', {});
    const doc = await importAndWait(fx.markdown);
    expect((await call('conversations.attachDocument', { conversationId: conversation.id, documentId: doc.id })).map((d) => d.id)).toEqual([doc.id]);
    // Attaching twice keeps one.
    expect(await call('conversations.attachDocument', { conversationId: conversation.id, documentId: doc.id })).toHaveLength(1);
    expect((await call('conversations.get', { conversationId: conversation.id })).documents.map((d) => d.title)).toEqual(['minutes']);
    expect(await call('conversations.detachDocument', { conversationId: conversation.id, documentId: doc.id })).toEqual([]);
    await call('conversations.attachDocument', { conversationId: conversation.id, documentId: doc.id });
    await call('documents.delete', { documentId: doc.id });
    expect((await call('conversations.get', { conversationId: conversation.id })).documents).toEqual([]);
    await expect(call('conversations.attachDocument', { conversationId: conversation.id, documentId: doc.id })).rejects.toMatchObject({ code: 'document/not-found' });
  });
});

describe('cancel, delete and resume', () => {
  it('cancelling a long read removes the document and everything it had read', async () => {
    const path = join(dir, 'long-to-cancel.pdf');
    const { writeFileSync } = await import('node:fs');
    writeFileSync(path, await makePdf(600, { title: 'To cancel' }));
    const { document } = await call('documents.import', { file: grant(path) });
    await new Promise<void>((resolve) => {
      const off = enclave.events.subscribe((name, p) => {
        if (name === 'documents.progress' && (p as { pagesRead: number }).pagesRead > 0) {
          off();
          resolve();
        }
      });
    });
    expect(await call('documents.cancel', { documentId: document.id })).toEqual({ cancelled: true });
    await expect(call('documents.get', { documentId: document.id })).rejects.toMatchObject({ code: 'document/not-found' });
    const count = enclave.db.prepare('SELECT COUNT(*) FROM document_pages WHERE document_id = ?').pluck().get(document.id);
    expect(count).toBe(0);
  }, 60_000);

  it('files added together are read one after another; cancelling a queued one removes only it', async () => {
    const { writeFileSync } = await import('node:fs');
    const paths = await Promise.all(
      [400, 5, 6].map(async (n, i) => {
        const path = join(dir, `queued-${i}.pdf`);
        writeFileSync(path, await makePdf(n, { title: `Queued ${i}` }));
        return path;
      }),
    );
    const imported = [];
    for (const path of paths) imported.push((await call('documents.import', { file: grant(path) })).document);
    expect(await call('documents.cancel', { documentId: imported[1].id })).toEqual({ cancelled: true });
    await enclave.documents.whenIdle(imported[0].id);
    await enclave.documents.whenIdle(imported[2].id);
    expect((await call('documents.get', { documentId: imported[0].id })).status).toBe('ready');
    expect(await call('documents.get', { documentId: imported[2].id })).toMatchObject({ status: 'ready', pageCount: 6 });
    await expect(call('documents.get', { documentId: imported[1].id })).rejects.toMatchObject({ code: 'document/not-found' });
  });

  it('deleting a document removes its pages and its search entries', async () => {
    const doc = (await call('documents.list', {})).find((d) => d.fileName === 'discharge-letter.docx')!;
    expect(enclave.db.prepare("SELECT COUNT(*) FROM document_pages_fts WHERE document_pages_fts MATCH 'troponin'").pluck().get()).toBe(1);
    await call('documents.delete', { documentId: doc.id });
    expect(enclave.db.prepare('SELECT COUNT(*) FROM document_pages WHERE document_id = ?').pluck().get(doc.id)).toBe(0);
    const hits = enclave.db.prepare("SELECT COUNT(*) FROM document_pages_fts WHERE document_pages_fts MATCH 'troponin'").pluck().get();
    expect(hits).toBe(0);
  });

  it('a long document is deleted a slice at a time: out of every search at once, the app free in between, nothing left after', async () => {
    const { writeFileSync } = await import('node:fs');
    const path = join(dir, 'long-to-delete.pdf');
    writeFileSync(path, await makePdf(300, { title: 'To delete' }));
    const doc = await importAndWait(path);
    enclave.indexer.ensureChunked([doc.id]);
    const collection = await call('collections.create', { name: 'Deleted soon' });
    await call('collections.setMembership', { collectionId: collection.id, documentId: doc.id, member: true });
    const chunks = () => enclave.db.prepare('SELECT COUNT(*) FROM chunks WHERE document_id = ?').pluck().get(doc.id) as number;
    const pages = () => enclave.db.prepare('SELECT COUNT(*) FROM document_pages WHERE document_id = ?').pluck().get(doc.id) as number;
    expect(chunks()).toBeGreaterThan(64);
    expect((await enclave.retriever.search(pageSentence(150), [collection.id], 5)).passages.length).toBeGreaterThan(0);

    // Other work runs while it is deleted: the deletion gives the event loop back between slices.
    let ticks = 0;
    let done = false;
    const tick = () => {
      ticks++;
      if (!done) setImmediate(tick);
    };
    setImmediate(tick);
    const deleting = call('documents.delete', { documentId: doc.id });
    await new Promise((r) => setImmediate(r));
    // Part of it is still in the file, yet no search and no list finds it any more.
    expect(chunks() + pages()).toBeGreaterThan(0);
    expect(enclave.retrieval.documentsIn([collection.id])).toEqual([]);
    expect((await call('documents.list', {})).some((d) => d.id === doc.id)).toBe(false);
    await deleting;
    done = true;
    // About 600 passages and pages in slices of 64.
    expect(ticks).toBeGreaterThan(5);
    expect([chunks(), pages()]).toEqual([0, 0]);
    expect(enclave.db.prepare('SELECT COUNT(*) FROM document_deletions').pluck().get()).toBe(0);
  }, 60_000);

  it('a deletion cut off by a crash is finished at the next start', async () => {
    const doc = await importAndWait(fx.docx3);
    enclave.indexer.ensureChunked([doc.id]);
    // As a crash would leave it: the deletion started, one slice done.
    const store = new DocumentStore(enclave.db);
    store.beginDeletion(doc.id);
    store.deleteSlice(doc.id, 1);
    await enclave.shutdown();
    enclave = createEnclave({ dataDir: join(dir, 'data'), mode: 'web', version: 'test' });
    await expect.poll(() => enclave.db.prepare('SELECT COUNT(*) FROM documents WHERE id = ?').pluck().get(doc.id), { timeout: 10_000 }).toBe(0);
    expect(enclave.db.prepare('SELECT COUNT(*) FROM document_pages WHERE document_id = ?').pluck().get(doc.id)).toBe(0);
    expect(enclave.db.prepare('SELECT COUNT(*) FROM document_deletions').pluck().get()).toBe(0);
  });

  it('a document left half-read by a crash is read again on the next start; one whose file is gone is marked failed', async () => {
    const dataDir = join(dir, 'crashed');
    const db = openDatabase(join(dataDir, 'enclave.db'));
    const store = new DocumentStore(db);
    const half = store.create({ title: 'Half', fileName: 'lease.pdf', kind: 'pdf', sourcePath: fx.pdf12, sizeBytes: 1, sha256: 'a', notice: null });
    store.putPage(half.id, 1, 'partial page');
    const gone = store.create({ title: 'Gone', fileName: 'gone.pdf', kind: 'pdf', sourcePath: join(dir, 'gone.pdf'), sizeBytes: 1, sha256: 'b', notice: null });
    db.close();

    const restarted = createEnclave({ dataDir, mode: 'web', version: 'test' });
    try {
      await new Promise((r) => setTimeout(r, 50));
      await restarted.documents.whenIdle(half.id);
      expect(restarted.documents.get(half.id)).toMatchObject({ status: 'ready', pageCount: 12 });
      expect(restarted.documents.page(half.id, 12).text).toContain(pageSentence(12));
      expect(restarted.documents.get(gone.id)).toMatchObject({ status: 'failed', error: expect.stringMatching(/no longer at/) });
    } finally {
      await restarted.shutdown();
    }
  });
});
