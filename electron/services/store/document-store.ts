// Documents and their pages. All SQL about them lives here.
import { randomUUID } from 'node:crypto';
import type { Database } from 'better-sqlite3';
import type { DocumentInfo, DocumentKind, DocumentPage, DocumentStatus } from '../../contract/types.ts';

interface DocumentRow {
  id: string;
  title: string;
  file_name: string;
  kind: DocumentKind;
  source_path: string;
  size_bytes: number;
  sha256: string;
  paginated: number;
  page_count: number;
  status: DocumentStatus;
  error: string | null;
  notice: string | null;
  read_notices: string;
  parent_id: string | null;
  parent_title: string | null;
  created_at: number;
  updated_at: number;
  ocr_pages: number;
}

export interface StoredDocument extends DocumentInfo {
  sourcePath: string;
  sha256: string;
}

function parseNotices(json: string): string[] {
  try {
    const v = JSON.parse(json) as unknown;
    return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : [];
  } catch {
    return [];
  }
}

function toDocument(r: DocumentRow): StoredDocument {
  return {
    id: r.id,
    title: r.title,
    fileName: r.file_name,
    kind: r.kind,
    sizeBytes: r.size_bytes,
    paginated: r.paginated === 1,
    pageCount: r.page_count,
    ocrPages: r.ocr_pages,
    status: r.status,
    error: r.error,
    notice: r.notice,
    notices: parseNotices(r.read_notices),
    parentId: r.parent_id,
    parentTitle: r.parent_title,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
    sourcePath: r.source_path,
    sha256: r.sha256,
  };
}

const SELECT_DOCUMENT = `SELECT d.*, (SELECT COUNT(*) FROM document_pages p WHERE p.document_id = d.id AND p.ocr = 1) AS ocr_pages,
  (SELECT parent.title FROM documents parent WHERE parent.id = d.parent_id) AS parent_title FROM documents d`;

export class DocumentStore {
  readonly #db: Database;
  readonly #now: () => number;

  constructor(db: Database, now: () => number = Date.now) {
    this.#db = db;
    this.#now = now;
  }

  create(input: { title: string; fileName: string; kind: DocumentKind; sourcePath: string; sizeBytes: number; sha256: string; notice: string | null }): StoredDocument {
    const id = randomUUID();
    const now = this.#now();
    this.#db
      .prepare(
        `INSERT INTO documents (id, title, file_name, kind, source_path, size_bytes, sha256, paginated, status, notice, created_at, updated_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, 1, 'reading', ?, ?, ?)`,
      )
      .run(id, input.title, input.fileName, input.kind, input.sourcePath, input.sizeBytes, input.sha256, input.notice, now, now);
    return this.get(id)!;
  }

  get(id: string): StoredDocument | null {
    const row = this.#db.prepare(`${SELECT_DOCUMENT} WHERE d.id = ?`).get(id) as DocumentRow | undefined;
    return row ? toDocument(row) : null;
  }

  findBySha256(sha256: string): StoredDocument | null {
    const row = this.#db.prepare(`${SELECT_DOCUMENT} WHERE d.sha256 = ?`).get(sha256) as DocumentRow | undefined;
    return row ? toDocument(row) : null;
  }

  list(): StoredDocument[] {
    // A document being deleted is no longer listed.
    return (
      this.#db
        .prepare(`${SELECT_DOCUMENT} WHERE d.id NOT IN (SELECT document_id FROM document_deletions) ORDER BY d.created_at DESC, d.rowid DESC`)
        .all() as DocumentRow[]
    ).map(toDocument);
  }

  listByStatus(status: DocumentStatus): StoredDocument[] {
    return (this.#db.prepare(`${SELECT_DOCUMENT} WHERE d.status = ?`).all(status) as DocumentRow[]).map(toDocument);
  }

  setLayout(id: string, layout: { pageCount: number; paginated: boolean; title?: string | null }): void {
    this.#db
      .prepare('UPDATE documents SET page_count = ?, paginated = ?, title = COALESCE(?, title), updated_at = ? WHERE id = ?')
      .run(layout.pageCount, layout.paginated ? 1 : 0, layout.title ?? null, this.#now(), id);
  }

  setStatus(id: string, status: DocumentStatus, error: string | null = null): StoredDocument | null {
    this.#db.prepare('UPDATE documents SET status = ?, error = ?, updated_at = ? WHERE id = ?').run(status, error, this.#now(), id);
    return this.get(id);
  }

  /** Replaces a page's text (a resumed or re-read document writes its pages again). */
  putPage(documentId: string, pageNumber: number, text: string, ocr = false, ocrConfidence: number | null = null): void {
    this.#db
      .prepare(
        `INSERT INTO document_pages (document_id, page_number, text, ocr, ocr_confidence) VALUES (?, ?, ?, ?, ?)
         ON CONFLICT(document_id, page_number) DO UPDATE SET text = excluded.text, ocr = excluded.ocr, ocr_confidence = excluded.ocr_confidence`,
      )
      .run(documentId, pageNumber, text, ocr ? 1 : 0, ocr ? ocrConfidence : null);
  }

  /** Writes many pages in one transaction (one commit, not one per page). */
  putPages(documentId: string, pages: { pageNumber: number; text: string; ocr: boolean; ocrConfidence?: number | null }[]): void {
    this.#db.transaction(() => {
      for (const p of pages) this.putPage(documentId, p.pageNumber, p.text, p.ocr, p.ocrConfidence ?? null);
    })();
  }

  /** Links a document to the one it came with (an e-mail's attachment to the message). */
  setParent(id: string, parentId: string): void {
    this.#db.prepare('UPDATE documents SET parent_id = ? WHERE id = ?').run(parentId, id);
  }

  /** Documents that came with this one. */
  children(id: string): string[] {
    return this.#db.prepare('SELECT id FROM documents WHERE parent_id = ?').pluck().all(id) as string[];
  }

  /** What reading could not take in (replaces the notices of an earlier read). */
  setReadNotices(id: string, notices: string[]): void {
    this.#db.prepare('UPDATE documents SET read_notices = ? WHERE id = ?').run(JSON.stringify(notices), id);
  }

  clearPages(documentId: string): void {
    this.#db.prepare('DELETE FROM document_pages WHERE document_id = ?').run(documentId);
  }

  page(documentId: string, pageNumber: number): DocumentPage | null {
    const row = this.#db
      .prepare(
        `SELECT p.page_number, p.text, p.ocr, p.ocr_confidence, d.page_count FROM document_pages p JOIN documents d ON d.id = p.document_id
         WHERE p.document_id = ? AND p.page_number = ?`,
      )
      .get(documentId, pageNumber) as { page_number: number; text: string; ocr: number; ocr_confidence: number | null; page_count: number } | undefined;
    return row
      ? { documentId, pageNumber: row.page_number, pageCount: row.page_count, text: row.text, ocr: row.ocr === 1, ocrConfidence: row.ocr === 1 ? row.ocr_confidence : null }
      : null;
  }

  /** Every page of a document, in order (for summarizing). */
  pages(documentId: string): { pageNumber: number; text: string }[] {
    return this.#db
      .prepare('SELECT page_number AS pageNumber, text FROM document_pages WHERE document_id = ? ORDER BY page_number')
      .all(documentId) as { pageNumber: number; text: string }[];
  }

  /** Pages `from`..`to` (inclusive) of a document, in order. */
  pageRange(documentId: string, from: number, to: number): { pageNumber: number; text: string }[] {
    return this.#db
      .prepare('SELECT page_number AS pageNumber, text FROM document_pages WHERE document_id = ? AND page_number BETWEEN ? AND ? ORDER BY page_number')
      .all(documentId, from, to) as { pageNumber: number; text: string }[];
  }

  /** The highest page number stored for a document (0 when none). */
  lastPageNumber(documentId: string): number {
    return (this.#db.prepare('SELECT COALESCE(MAX(page_number), 0) FROM document_pages WHERE document_id = ?').pluck().get(documentId) as number) ?? 0;
  }

  /** Pages stored so far, and how many of them hold any text. */
  pageStats(documentId: string): { stored: number; withText: number } {
    return this.#db
      .prepare(
        `SELECT COUNT(*) AS stored, COALESCE(SUM(length(trim(text)) > 0), 0) AS withText
         FROM document_pages WHERE document_id = ?`,
      )
      .get(documentId) as { stored: number; withText: number };
  }

  attach(conversationId: string, documentId: string): void {
    this.#db
      .prepare('INSERT INTO conversation_documents (conversation_id, document_id, added_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING')
      .run(conversationId, documentId, this.#now());
  }

  detach(conversationId: string, documentId: string): void {
    this.#db.prepare('DELETE FROM conversation_documents WHERE conversation_id = ? AND document_id = ?').run(conversationId, documentId);
  }

  attachedTo(conversationId: string): StoredDocument[] {
    return (
      this.#db
        .prepare(`${SELECT_DOCUMENT} JOIN conversation_documents cd ON cd.document_id = d.id WHERE cd.conversation_id = ? ORDER BY cd.added_at`)
        .all(conversationId) as DocumentRow[]
    ).map(toDocument);
  }

  delete(id: string): boolean {
    return this.#db.prepare('DELETE FROM documents WHERE id = ?').run(id).changes > 0;
  }

  /**
   * The start of a deletion by slices: the document leaves every collection and conversation at
   * once (no search finds it from now on) and is listed as being deleted, so a deletion cut off
   * is finished at the next start.
   */
  beginDeletion(id: string): void {
    this.#db.transaction(() => {
      this.#db.prepare('INSERT OR IGNORE INTO document_deletions (document_id, started_at) VALUES (?, ?)').run(id, this.#now());
      this.#db.prepare('DELETE FROM collection_documents WHERE document_id = ?').run(id);
      this.#db.prepare('DELETE FROM conversation_documents WHERE document_id = ?').run(id);
    })();
  }

  /** Deletes up to `limit` of the document's passages, or when none is left of its pages: how many (0: none left). */
  deleteSlice(id: string, limit: number): number {
    const chunks = this.#db.prepare('DELETE FROM chunks WHERE id IN (SELECT id FROM chunks WHERE document_id = ? LIMIT ?)').run(id, limit).changes;
    if (chunks > 0) return chunks;
    return this.#db.prepare('DELETE FROM document_pages WHERE rowid IN (SELECT rowid FROM document_pages WHERE document_id = ? LIMIT ?)').run(id, limit).changes;
  }

  /** Documents whose deletion was started and not finished (a crash or quit in between). */
  unfinishedDeletions(): string[] {
    return this.#db.prepare('SELECT document_id FROM document_deletions ORDER BY started_at').pluck().all() as string[];
  }
}
