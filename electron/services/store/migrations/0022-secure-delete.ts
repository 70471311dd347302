import type { Database } from 'better-sqlite3';

export const version = 22;
export const name = 'secure-delete';

/**
 * FTS5 left a deleted row's words in its index blocks (only marked deleted) until it happened to
 * merge them: a document deleted by hand or by retention could still be read, word by word, from
 * the file. With secure-delete each delete removes them at once (checked on the blocks themselves).
 * Words of rows deleted before this version leave at FTS5's next merges.
 */
export function up(db: Database): void {
  db.exec(`
    INSERT INTO chunks_fts (chunks_fts, rank) VALUES ('secure-delete', 1);
    INSERT INTO document_pages_fts (document_pages_fts, rank) VALUES ('secure-delete', 1);
    INSERT INTO messages_fts (messages_fts, rank) VALUES ('secure-delete', 1);
  `);
}
