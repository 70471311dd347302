import type { Database } from 'better-sqlite3';

export const version = 4;
export const name = 'summaries';

/** Summaries saved with their document; sections keep each map step's text and pages. */
export function up(db: Database): void {
  db.exec(`
    CREATE TABLE summaries (
      id TEXT PRIMARY KEY,
      document_id TEXT NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
      kind TEXT NOT NULL,
      status TEXT NOT NULL CHECK (status IN ('running', 'complete', 'stopped', 'failed', 'interrupted')),
      content TEXT NOT NULL DEFAULT '',
      sections TEXT NOT NULL DEFAULT '[]',
      model_name TEXT,
      error TEXT,
      duration_ms INTEGER,
      model_ms INTEGER,
      created_at INTEGER NOT NULL,
      updated_at INTEGER NOT NULL
    ) STRICT;
    CREATE INDEX summaries_document ON summaries(document_id, created_at DESC);
  `);
}
