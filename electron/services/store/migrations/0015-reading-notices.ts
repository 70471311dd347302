import type { Database } from 'better-sqlite3';

export const version = 15;
export const name = 'reading-notices';

/**
 * What reading a document left out (footnotes it could not place, pictures, pages beyond the cap,
 * undecodable characters…), said per document; and how sure OCR was of each page it read.
 */
export function up(db: Database): void {
  db.exec(`
    ALTER TABLE documents ADD COLUMN read_notices TEXT NOT NULL DEFAULT '[]';
    ALTER TABLE document_pages ADD COLUMN ocr_confidence REAL;
    ALTER TABLE documents ADD COLUMN parent_id TEXT;
    CREATE INDEX documents_parent ON documents(parent_id);
  `);
}
