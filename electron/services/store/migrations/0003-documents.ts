import type { Database } from 'better-sqlite3';

export const version = 3;
export const name = 'documents';

/**
 * Documents and their pages, searchable with FTS5. A document's status says where ingestion is;
 * 'reading' after a crash means "resume or fail on next start", never a silent half-document.
 */
export function up(db: Database): void {
  db.exec(`
    CREATE TABLE documents (
      id TEXT PRIMARY KEY,
      title TEXT NOT NULL,
      file_name TEXT NOT NULL,
      kind TEXT NOT NULL,
      source_path TEXT NOT NULL,
      size_bytes INTEGER NOT NULL,
      sha256 TEXT NOT NULL UNIQUE,
      paginated INTEGER NOT NULL,
      page_count INTEGER NOT NULL DEFAULT 0,
      status TEXT NOT NULL CHECK (status IN ('reading', 'needs-password', 'ready', 'failed')),
      error TEXT,
      notice TEXT,
      created_at INTEGER NOT NULL,
      updated_at INTEGER NOT NULL
    ) STRICT;

    CREATE TABLE document_pages (
      document_id TEXT NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
      page_number INTEGER NOT NULL,
      text TEXT NOT NULL,
      ocr INTEGER NOT NULL DEFAULT 0,
      UNIQUE (document_id, page_number)
    ) STRICT;

    CREATE VIRTUAL TABLE document_pages_fts USING fts5(
      text,
      content = 'document_pages',
      content_rowid = 'rowid',
      tokenize = 'unicode61 remove_diacritics 2'
    );
    CREATE TRIGGER document_pages_fts_insert AFTER INSERT ON document_pages BEGIN
      INSERT INTO document_pages_fts(rowid, text) VALUES (new.rowid, new.text);
    END;
    CREATE TRIGGER document_pages_fts_delete AFTER DELETE ON document_pages BEGIN
      INSERT INTO document_pages_fts(document_pages_fts, rowid, text) VALUES ('delete', old.rowid, old.text);
    END;
    CREATE TRIGGER document_pages_fts_update AFTER UPDATE OF text ON document_pages BEGIN
      INSERT INTO document_pages_fts(document_pages_fts, rowid, text) VALUES ('delete', old.rowid, old.text);
      INSERT INTO document_pages_fts(rowid, text) VALUES (new.rowid, new.text);
    END;

    CREATE INDEX documents_created ON documents(created_at DESC);
  `);
}
