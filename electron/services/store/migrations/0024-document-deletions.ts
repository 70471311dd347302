import type { Database } from 'better-sqlite3';

export const version = 24;
export const name = 'document-deletions';

/**
 * A document being deleted: its passages and pages go a slice at a time (with secure-delete each
 * passage costs a millisecond or more in a large library, and one transaction for a long document
 * held the app for seconds), then the document itself. Listed here from the first slice, so a
 * deletion cut off by a crash or quit is finished at the next start.
 */
export function up(db: Database): void {
  db.exec(`
    CREATE TABLE document_deletions (
      document_id TEXT PRIMARY KEY REFERENCES documents(id) ON DELETE CASCADE,
      started_at INTEGER NOT NULL
    ) WITHOUT ROWID;
  `);
}
