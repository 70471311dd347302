// The document library: checks a file, stores it once (by content hash), reads it in a worker
// thread page by page with progress, and can cancel, delete, unlock and resume. No transport.
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { open, rm, stat } from 'node:fs/promises';
import { basename, dirname, extname, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { UserFacingError } from '../../contract/errors.ts';
import type { DocumentImport, DocumentInfo, DocumentPage, DocumentProgress } from '../../contract/types.ts';
import type { DocumentStore, StoredDocument } from '../store/document-store.ts';
import { detectKind } from './detect.ts';
import { ParseQueue } from './parse-queue.ts';
import type { WorkerMessage } from './worker-protocol.ts';

/** The largest document Enclave reads. A 1,000-page text PDF is typically 5–50 MB. */
export const MAX_DOCUMENT_BYTES = 512 * 1024 * 1024;
const PROGRESS_INTERVAL_MS = 100;

// The worker sits beside this module's tree in source (.ts, tests) and in the build (.js).
const here = fileURLToPath(import.meta.url);
const WORKER_FILE = resolve(dirname(here), '..', '..', 'workers', `parse-document${extname(here)}`);

export interface DocumentEvents {
  progress(p: DocumentProgress): void;
  changed(documentId: string | null): void;
}

interface Job {
  cancel(): Promise<void>;
  finished: Promise<void>;
}

function publicInfo(d: StoredDocument): DocumentInfo {
  const { sourcePath: _s, sha256: _h, ...info } = d;
  return info;
}

async function sha256Of(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

function megabytes(n: number): string {
  return `${(n / 1024 / 1024).toFixed(n < 10 * 1024 * 1024 ? 1 : 0)} MB`;
}

export class DocumentLibrary {
  readonly #store: DocumentStore;
  readonly #events: DocumentEvents;
  /** Files under this folder were copied in by Enclave (browser-mode uploads): ours to delete. */
  readonly #ownedDir: string | null;
  readonly #jobs = new Map<string, Job>();
  readonly #queue = new ParseQueue(WORKER_FILE);

  constructor(deps: { store: DocumentStore; events: DocumentEvents; ownedDir?: string }) {
    this.#store = deps.store;
    this.#events = deps.events;
    this.#ownedDir = deps.ownedDir ? resolve(deps.ownedDir) : null;
  }

  list(): DocumentInfo[] {
    return this.#store.list().map(publicInfo);
  }

  #require(documentId: string): StoredDocument {
    const doc = this.#store.get(documentId);
    if (!doc) throw new UserFacingError('document/not-found', 'That document is no longer in the library.');
    return doc;
  }

  attachedTo(conversationId: string): DocumentInfo[] {
    return this.#store.attachedTo(conversationId).map(publicInfo);
  }

  get(documentId: string): DocumentInfo {
    return publicInfo(this.#require(documentId));
  }

  page(documentId: string, pageNumber: number): DocumentPage {
    const doc = this.#require(documentId);
    const page = this.#store.page(documentId, pageNumber);
    if (!page) {
      throw new UserFacingError('document/not-found', `“${doc.title}” has no ${doc.paginated ? 'page' : 'part'} ${pageNumber}.`);
    }
    return page;
  }

  /** Resolves when the document's reading job (if any) has ended. */
  whenIdle(documentId: string): Promise<void> {
    return this.#jobs.get(documentId)?.finished ?? Promise.resolve();
  }

  async import(path: string): Promise<DocumentImport> {
    const absolute = resolve(path);
    const fileName = basename(absolute);
    let size: number;
    try {
      const s = await stat(absolute);
      if (!s.isFile()) throw new UserFacingError('document/unreadable', `“${fileName}” is a folder, not a document.`);
      size = s.size;
    } catch (e) {
      if (e instanceof UserFacingError) throw e;
      const code = (e as NodeJS.ErrnoException).code;
      throw new UserFacingError('document/unreadable', code === 'ENOENT' ? `“${fileName}” was not found.` : `“${fileName}” cannot be read (${code ?? 'error'}).`);
    }
    if (size === 0) throw new UserFacingError('document/empty', `“${fileName}” is empty.`);
    if (size > MAX_DOCUMENT_BYTES) {
      throw new UserFacingError('document/too-large', `“${fileName}” is ${megabytes(size)}. Enclave reads documents up to ${megabytes(MAX_DOCUMENT_BYTES)}.`);
    }
    const head = Buffer.alloc(8192);
    const handle = await open(absolute, 'r');
    try {
      await handle.read(head, 0, head.length, 0);
    } finally {
      await handle.close();
    }
    const { kind, notice } = detectKind(head.subarray(0, Math.min(size, head.length)), fileName);

    const sha256 = await sha256Of(absolute);
    const existing = this.#store.findBySha256(sha256);
    if (existing && existing.status !== 'failed') {
      await this.#discardIfOwned(absolute, existing.sourcePath);
      return { document: publicInfo(existing), duplicate: true };
    }
    if (existing) this.#store.delete(existing.id); // a failed earlier try is replaced

    const title = fileName.replace(/\.[^.]+$/, '') || fileName;
    const doc = this.#store.create({ title, fileName, kind, sourcePath: absolute, sizeBytes: size, sha256, notice });
    this.#events.changed(doc.id);
    this.#start(doc);
    return { document: publicInfo(doc), duplicate: false };
  }

  /** A browser-mode upload of a document already in the library is not kept. */
  async #discardIfOwned(path: string, keep: string): Promise<void> {
    if (path !== keep && this.#owns(path)) await rm(dirname(path), { recursive: true, force: true });
  }

  #owns(path: string): boolean {
    return this.#ownedDir !== null && resolve(path).startsWith(this.#ownedDir + sep);
  }

  #start(doc: StoredDocument, password?: string): void {
    this.#store.clearPages(doc.id);
    this.#store.setStatus(doc.id, 'reading');
    let pageCount: number | null = null;
    let pagesRead = 0;
    let lastProgress = 0;
    let settled = false;
    let cancelled = false;
    const progress = (force: boolean) => {
      const now = performance.now();
      if (!force && now - lastProgress < PROGRESS_INTERVAL_MS) return;
      lastProgress = now;
      this.#events.progress({ documentId: doc.id, pagesRead, pageCount });
    };
    // Pages are written in batches: one transaction per burst instead of one per page.
    let pending: { pageNumber: number; text: string; ocr: boolean }[] = [];
    let flushTimer: ReturnType<typeof setTimeout> | null = null;
    const flush = () => {
      if (flushTimer) clearTimeout(flushTimer);
      flushTimer = null;
      if (pending.length > 0 && !settled && !cancelled) {
        this.#store.putPages(doc.id, pending);
        pagesRead = pending[pending.length - 1].pageNumber;
        progress(false);
      }
      pending = [];
    };
    const finish = (status: 'ready' | 'failed' | 'needs-password', error: string | null) => {
      if (settled) return;
      flush();
      settled = true;
      if (status !== 'ready') this.#store.clearPages(doc.id);
      this.#store.setStatus(doc.id, status, error);
    };

    const onMessage = (m: WorkerMessage) => {
      switch (m.type) {
        case 'meta':
          pageCount = m.pageCount;
          this.#store.setLayout(doc.id, { pageCount: m.pageCount ?? 0, paginated: m.paginated, title: m.title });
          // The library can now show the document's own title and page count while it reads.
          this.#events.changed(doc.id);
          progress(true);
          break;
        case 'page':
          pending.push({ pageNumber: m.pageNumber, text: m.text, ocr: m.ocr });
          if (pending.length >= 64) flush();
          else flushTimer ??= setTimeout(flush, 50);
          break;
        case 'done': {
          flush();
          const stats = this.#store.pageStats(doc.id);
          if (stats.withText === 0) {
            finish('failed', `No text could be read from “${doc.fileName}”, not even by OCR: its pages hold no legible text.`);
          } else {
            this.#store.setLayout(doc.id, { pageCount: stats.stored, paginated: this.#store.get(doc.id)!.paginated });
            finish('ready', null);
          }
          progress(true);
          break;
        }
        case 'password':
          finish('needs-password', m.wrong ? 'That password is not right. Try again.' : null);
          break;
        case 'error':
          finish('failed', m.message);
          break;
      }
    };
    const parse = this.#queue.run(
      { path: doc.sourcePath, fileName: doc.fileName, kind: doc.kind, password },
      onMessage,
      (message) => finish('failed', `Reading “${doc.fileName}” stopped: ${message}.`),
    );
    const entry: Job = {
      cancel: async () => {
        cancelled = true;
        if (flushTimer) clearTimeout(flushTimer);
        await parse.cancel();
      },
      finished: parse.finished.then(() => {
        if (this.#jobs.get(doc.id) === entry) this.#jobs.delete(doc.id);
        if (!cancelled) this.#events.changed(doc.id);
      }),
    };
    this.#jobs.set(doc.id, entry);
  }

  /** Stops reading a document; what was read of it is removed (a cancelled import leaves nothing). */
  async cancel(documentId: string): Promise<{ cancelled: boolean }> {
    const job = this.#jobs.get(documentId);
    if (!job) return { cancelled: false };
    await job.cancel();
    await job.finished;
    await this.delete(documentId);
    return { cancelled: true };
  }

  async delete(documentId: string): Promise<{ deleted: true }> {
    const doc = this.#require(documentId);
    const job = this.#jobs.get(documentId);
    if (job) {
      await job.cancel();
      await job.finished;
    }
    this.#store.delete(documentId);
    if (this.#owns(doc.sourcePath)) await rm(dirname(doc.sourcePath), { recursive: true, force: true });
    this.#events.changed(null);
    return { deleted: true };
  }

  async unlock(documentId: string, password: string): Promise<DocumentInfo> {
    const doc = this.#require(documentId);
    if (doc.status !== 'needs-password') throw new UserFacingError('document/not-encrypted', `“${doc.title}” is not waiting for a password.`);
    this.#start(doc, password);
    await this.whenIdle(documentId);
    const after = this.#require(documentId);
    if (after.status === 'needs-password') throw new UserFacingError('document/wrong-password', after.error ?? 'That password is not right.');
    return publicInfo(after);
  }

  /**
   * On start: a document still 'reading' was cut off by a crash or quit. It is read again from
   * its file; if the file is gone, it is marked failed with the reason. Nothing stays half-done.
   */
  resumeInterrupted(): number {
    let resumed = 0;
    for (const doc of this.#store.listByStatus('reading')) {
      stat(doc.sourcePath).then(
        () => this.#start(doc),
        () => {
          this.#store.clearPages(doc.id);
          this.#store.setStatus(doc.id, 'failed', `Reading “${doc.fileName}” was interrupted, and the file is no longer at ${doc.sourcePath}. Add it again.`);
          this.#events.changed(doc.id);
        },
      );
      resumed++;
    }
    return resumed;
  }

  async shutdown(): Promise<void> {
    // Jobs stop where they are; their documents stay 'reading' and are resumed on next start.
    for (const job of this.#jobs.values()) await job.cancel();
    await this.#queue.close();
  }
}
