import type { Database } from 'better-sqlite3';

export const version = 21;
export const name = 'keyword-postings';

/**
 * Keyword postings of Enclave's own beside FTS5's index, for searches over large scopes (see
 * keyword-postings.ts). A segment holds up to 4,096 consecutive chunks: their ids and lengths in
 * tokens, and the words found in them; a posting list is one word's chunks in one segment with
 * how often the word occurs. A chunk deleted after its segment was built is listed as deleted
 * (searches skip it); an id used again (SQLite reuses the largest id once it is deleted) makes its
 * segment and every later one stale, to be built again.
 */
export function up(db: Database): void {
  db.exec(`
    CREATE TABLE keyword_segments (
      id INTEGER PRIMARY KEY AUTOINCREMENT,
      first INTEGER NOT NULL,
      last INTEGER NOT NULL,
      chunk_ids BLOB NOT NULL,
      lengths BLOB NOT NULL,
      terms TEXT NOT NULL,
      stale INTEGER NOT NULL DEFAULT 0
    ) STRICT;
    CREATE INDEX keyword_segments_last ON keyword_segments(last);
    CREATE TABLE keyword_postings (
      term TEXT NOT NULL,
      segment INTEGER NOT NULL,
      data BLOB NOT NULL,
      PRIMARY KEY (term, segment)
    ) STRICT, WITHOUT ROWID;
    CREATE TABLE keyword_deleted (chunk_id INTEGER PRIMARY KEY) STRICT;
    CREATE TRIGGER keyword_chunk_deleted AFTER DELETE ON chunks
      WHEN old.id <= (SELECT COALESCE(MAX(last), -1) FROM keyword_segments) BEGIN
      INSERT OR IGNORE INTO keyword_deleted (chunk_id) VALUES (old.id);
    END;
    CREATE TRIGGER keyword_chunk_id_reused AFTER INSERT ON chunks
      WHEN new.id <= (SELECT COALESCE(MAX(last), -1) FROM keyword_segments) BEGIN
      UPDATE keyword_segments SET stale = 1 WHERE last >= new.id;
    END;
  `);
}
