// The document library: checks a file, stores it once (by content hash), reads it in a reader
// process page by page with progress, and can cancel, delete, unlock and resume. No transport.
import { randomBytes } from 'node:crypto';
import { mkdir, rm, stat, writeFile } from 'node:fs/promises';
import { basename, dirname, extname, join, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { UserFacingError } from '../../contract/errors.ts';
import type { DocumentImport, DocumentInfo, DocumentPage, DocumentProgress } from '../../contract/types.ts';
import type { DocumentStore, StoredDocument } from '../store/document-store.ts';
import { safeFileName } from '../files/file-names.ts';
import { encryptBytes, inspectDocument, isVaultPath, plainName, VAULT_OVERHEAD_BYTES, VAULT_SUFFIX } from '../files/vault.ts';
import { detectKind } from './detect.ts';
import { ParseQueue } from './parse-queue.ts';
import type { SpawnReader } from './reader-process.ts';
import type { ParsedPage, WorkerMessage } from './worker-protocol.ts';

/** The largest document Enclave reads. A 1,000-page text PDF is typically 5–50 MB. */
export const MAX_DOCUMENT_BYTES = 512 * 1024 * 1024;
const PROGRESS_INTERVAL_MS = 100;
/** Bytes read to tell what a file is (an Office package names its parts near its start). */
const HEAD_BYTES = 64 * 1024;
/** Pages written to the store per main-thread task while a document is read. */
const WRITE_SLICE_PAGES = 200;
/**
 * Passages (then pages) deleted per main-thread task: with FTS5's secure-delete, ~1.5 ms each in
 * a library of 200,000 passages, so a slice holds the app for a tenth of a second or less.
 */
const DELETE_SLICE = 64;

/** Why a document with no text at all failed, said for its kind. */
function noTextMessage(doc: StoredDocument): string {
  switch (doc.kind) {
    case 'pdf':
      return `No text could be read from “${doc.fileName}”, not even by OCR: its pages hold no legible text.`;
    case 'image':
      return `No text could be read from “${doc.fileName}” by OCR: the picture holds no legible text (OCR reads English typed or printed text).`;
    case 'docx':
    case 'odt':
      return `“${doc.fileName}” holds no text. If its pages are pictures or scans, export it to PDF and add that: Enclave reads scanned PDF pages by OCR.`;
    default:
      return `“${doc.fileName}” holds no text.`;
  }
}

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

function megabytes(n: number): string {
  return `${(n / 1024 / 1024).toFixed(n < 10 * 1024 * 1024 ? 1 : 0)} MB`;
}

export class DocumentLibrary {
  readonly #store: DocumentStore;
  readonly #events: DocumentEvents;
  /** Files under this folder were copied in by Enclave (browser-mode uploads): ours to delete. */
  readonly #ownedDir: string | null;
  readonly #jobs = new Map<string, Job>();
  /** Deletions under way: shutdown waits for their slice in progress. */
  readonly #deleting = new Set<Promise<boolean>>();
  #closing = false;
  readonly #queue: ParseQueue;

  /** The library's key: stored copies of documents are encrypted with it. */
  readonly #key: Buffer | null;

  constructor(deps: { store: DocumentStore; events: DocumentEvents; ownedDir?: string; spawnReader?: SpawnReader; key?: Buffer | null }) {
    this.#queue = new ParseQueue(WORKER_FILE, deps.spawnReader);
    this.#key = deps.key ?? null;
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
    try {
      return await this.#import(absolute);
    } catch (e) {
      // An upload that does not become a document is not kept in the data folder.
      if (this.#owns(absolute)) await rm(dirname(absolute), { recursive: true, force: true });
      throw e;
    }
  }

  async #import(absolute: string): Promise<DocumentImport> {
    const fileName = plainName(basename(absolute));
    let size: number;
    try {
      const s = await stat(absolute);
      if (!s.isFile()) throw new UserFacingError('document/unreadable', `“${fileName}” is a folder, not a document.`);
      size = s.size;
    } catch (e) {
      if (e instanceof UserFacingError) throw e;
      const code = (e as NodeJS.ErrnoException).code;
      throw new UserFacingError(
        'document/unreadable',
        code === 'ENOENT'
          ? `“${fileName}” was not found: it may have been moved or deleted. Add it again from where it is now.`
          : code === 'EACCES' || code === 'EPERM'
            ? `Enclave is not allowed to read “${fileName}”. Check that your account may open it (its permissions), or copy it somewhere else and add the copy.`
            : `“${fileName}” cannot be read from the disk. If it is on a network drive or a USB stick, copy it to this computer and add the copy.`,
      );
    }
    if (size === 0) throw new UserFacingError('document/empty', `“${fileName}” is empty.`);
    // A stored copy is its content plus the encryption's header and tag.
    if (size > MAX_DOCUMENT_BYTES + (isVaultPath(absolute) ? VAULT_OVERHEAD_BYTES : 0)) {
      throw new UserFacingError('document/too-large', `“${fileName}” is ${megabytes(size)}. Enclave reads documents up to ${megabytes(MAX_DOCUMENT_BYTES)}; split it into smaller files.`);
    }
    // Its plain content (a stored copy is decrypted as it is read): kind, fingerprint.
    let inspected: { head: Buffer; sha256: string; size: number };
    try {
      inspected = await inspectDocument(absolute, this.#key, HEAD_BYTES);
    } catch (e) {
      console.error(`[documents] ${fileName} could not be read:`, e);
      throw new UserFacingError(
        'document/unreadable',
        isVaultPath(absolute)
          ? `“${fileName}” could not be read from the data folder: its stored copy is damaged. Add the document again.`
          : `“${fileName}” could not be read from the disk. If it is on a network drive or a USB stick, copy it to this computer and add the copy.`,
      );
    }
    const { head, sha256 } = inspected;
    size = inspected.size;
    const { kind, notice } = detectKind(head, fileName);

    const existing = this.#store.findBySha256(sha256);
    if (existing && existing.status !== 'failed') {
      await this.#discardIfOwned(absolute, existing.sourcePath);
      return { document: publicInfo(existing), duplicate: true };
    }
    if (existing) {
      // A failed earlier try is replaced, and its copy of the file with it.
      this.#store.delete(existing.id);
      await this.#discardIfOwned(existing.sourcePath, absolute);
    }

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
    // Pages arrive in batches and are written a slice at a time, each slice its own task, so a
    // burst of thousands of pages never holds the main thread (or the database) for long.
    const pending: ParsedPage[] = [];
    let writing: ReturnType<typeof setImmediate> | null = null;
    let whenWritten: (() => void) | null = null;
    const writeSlice = () => {
      writing = null;
      if (settled || cancelled) {
        pending.length = 0;
        return;
      }
      const slice = pending.splice(0, WRITE_SLICE_PAGES);
      if (slice.length > 0) {
        this.#store.putPages(doc.id, slice);
        pagesRead = slice[slice.length - 1].pageNumber;
        progress(false);
      }
      if (pending.length > 0) writing = setImmediate(writeSlice);
      else if (whenWritten) {
        const then = whenWritten;
        whenWritten = null;
        then();
      }
    };
    /** Runs `then` once every page received so far is in the store. */
    const afterWrites = (then: () => void) => {
      if (pending.length === 0 && writing === null) then();
      else whenWritten = then;
    };
    let doneReceived = false;
    let attachmentWork: Promise<void> = Promise.resolve();
    let markSettled: () => void = () => {};
    const settledNow = new Promise<void>((r) => (markSettled = r));
    const finish = (status: 'ready' | 'failed' | 'needs-password', error: string | null) => {
      if (settled) return;
      markSettled();
      if (writing) clearImmediate(writing);
      writing = null;
      pending.length = 0;
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
        case 'pages':
          pending.push(...m.pages);
          writing ??= setImmediate(writeSlice);
          break;
        case 'done':
          doneReceived = true;
          afterWrites(() => {
            if (settled) return;
            const stats = this.#store.pageStats(doc.id);
            if (stats.withText === 0) {
              finish('failed', noTextMessage(doc));
            } else {
              this.#store.setLayout(doc.id, { pageCount: stats.stored, paginated: this.#store.get(doc.id)!.paginated });
              this.#store.setReadNotices(doc.id, m.notices);
              finish('ready', null);
              if (m.attachments.length) attachmentWork = this.#addAttachments(doc, m.attachments);
            }
            progress(true);
            this.#events.changed(doc.id);
          });
          break;
        case 'password':
          finish('needs-password', m.wrong ? 'That password is not right. Try again.' : null);
          break;
        case 'error':
          finish('failed', m.message);
          break;
      }
    };
    const parse = this.#queue.run(
      { path: doc.sourcePath, fileName: doc.fileName, kind: doc.kind, password, keyHex: this.#key?.toString('hex') },
      onMessage,
      (message) => finish('failed', message),
    );
    const entry: Job = {
      cancel: async () => {
        cancelled = true;
        if (writing) clearImmediate(writing);
        writing = null;
        markSettled();
        await parse.cancel();
      },
      // The worker's last message may leave pages still to write: the job ends when they are in.
      finished: parse.finished
        .then(() => (doneReceived && !cancelled ? settledNow : undefined))
        .then(() => attachmentWork)
        .then(() => {
        if (this.#jobs.get(doc.id) === entry) this.#jobs.delete(doc.id);
        if (!cancelled) this.#events.changed(doc.id);
      }),
    };
    this.#jobs.set(doc.id, entry);
  }

  /** An e-mail's attachments become documents of their own, linked to the message. */
  async #addAttachments(parent: StoredDocument, attachments: { fileName: string; data: Uint8Array }[]): Promise<void> {
    if (!this.#ownedDir) return;
    for (const a of attachments) {
      const dir = join(this.#ownedDir, `${Date.now().toString(36)}${randomBytes(3).toString('hex')}`);
      try {
        await mkdir(dir, { recursive: true });
        // Kept encrypted like every copy in the data folder.
        const path = join(dir, safeFileName(a.fileName) + (this.#key ? VAULT_SUFFIX : ''));
        await writeFile(path, this.#key ? encryptBytes(a.data, this.#key) : a.data);
        const added = await this.import(path);
        if (!added.duplicate) {
          this.#store.setParent(added.document.id, parent.id);
          this.#events.changed(added.document.id);
        }
      } catch (e) {
        // import() already removed the copy; the message's notice lists its attachments by name.
        if (!(e instanceof UserFacingError)) console.error('[enclave] an attachment could not be added:', e);
      }
    }
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
    // Documents that came with this one (an e-mail's attachments) go with it.
    for (const child of this.#store.children(documentId)) await this.delete(child);
    await this.#deleteInSlices(documentId);
    if (this.#owns(doc.sourcePath)) await rm(dirname(doc.sourcePath), { recursive: true, force: true });
    this.#events.changed(null);
    return { deleted: true };
  }

  /**
   * Out of every search at once, then its passages and pages a slice at a time, the app free in
   * between: with secure-delete (the words go from the index at once) a passage costs a millisecond
   * or more in a large library, and one transaction for a long document held the app for seconds.
   */
  async #deleteInSlices(documentId: string): Promise<void> {
    if (this.#closing) throw new UserFacingError('app/closing', 'Enclave is closing; delete the document after it starts again.');
    this.#store.beginDeletion(documentId);
    this.#events.changed(null);
    const run = (async () => {
      while (this.#store.deleteSlice(documentId, DELETE_SLICE) > 0) {
        await new Promise((r) => setImmediate(r));
        if (this.#closing) return false;
      }
      this.#store.delete(documentId);
      return true;
    })();
    this.#deleting.add(run);
    try {
      // Cut off by closing: out of every search and list already, finished at the next start.
      await run;
    } finally {
      this.#deleting.delete(run);
    }
  }

  /** On start: deletions cut off by a crash or quit are finished. */
  async finishDeletions(): Promise<number> {
    const unfinished = this.#store.unfinishedDeletions();
    for (const id of unfinished) {
      const doc = this.#store.get(id);
      await this.#deleteInSlices(id);
      if (doc && this.#owns(doc.sourcePath)) await rm(dirname(doc.sourcePath), { recursive: true, force: true });
    }
    if (unfinished.length) this.#events.changed(null);
    return unfinished.length;
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
    // Deletions stop after their slice; they are finished at the next start.
    this.#closing = true;
    await Promise.all(this.#deleting);
    // Jobs stop where they are; their documents stay 'reading' and are resumed on next start.
    for (const job of this.#jobs.values()) await job.cancel();
    await this.#queue.close();
  }
}
