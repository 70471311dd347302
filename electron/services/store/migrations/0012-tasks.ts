import type { Database } from 'better-sqlite3';

export const version = 12;
export const name = 'tasks';

/**
 * Task runs: one row per document, one cell per field (and item, for list tasks). A row's cells
 * are written with its status in one transaction, so a run stopped by a crash resumes at the first
 * row not done. document_id has no foreign key: a result outlives the document it was read from
 * (its title is kept).
 */
export function up(db: Database): void {
  db.exec(`
    CREATE TABLE task_runs (
      id TEXT PRIMARY KEY,
      pack_id TEXT NOT NULL,
      task_key TEXT NOT NULL,
      task_name TEXT NOT NULL,
      -- The task as it was when the run started (JSON): its fields are the table's columns.
      definition TEXT NOT NULL,
      scope_label TEXT NOT NULL,
      status TEXT NOT NULL CHECK (status IN ('running', 'complete', 'cancelled', 'interrupted', 'failed')),
      model_name TEXT,
      error TEXT,
      created_at INTEGER NOT NULL,
      finished_at INTEGER
    ) STRICT;

    CREATE TABLE task_rows (
      id TEXT PRIMARY KEY,
      run_id TEXT NOT NULL REFERENCES task_runs(id) ON DELETE CASCADE,
      document_id TEXT NOT NULL,
      document_title TEXT NOT NULL,
      position INTEGER NOT NULL,
      status TEXT NOT NULL CHECK (status IN ('pending', 'running', 'done', 'failed')),
      error TEXT,
      items INTEGER NOT NULL DEFAULT 0,
      pages_read TEXT NOT NULL DEFAULT '[]',
      -- How many times reading this document was started (a resumed run does not redo a done row).
      attempts INTEGER NOT NULL DEFAULT 0,
      duration_ms INTEGER,
      model_ms INTEGER,
      finished_at INTEGER
    ) STRICT;
    CREATE INDEX task_rows_run ON task_rows(run_id, position);

    CREATE TABLE task_cells (
      id TEXT PRIMARY KEY,
      row_id TEXT NOT NULL REFERENCES task_rows(id) ON DELETE CASCADE,
      item INTEGER NOT NULL,
      field_key TEXT NOT NULL,
      value TEXT,
      status TEXT NOT NULL CHECK (status IN ('verified', 'unverified', 'not-stated', 'not-found')),
      reason TEXT,
      quote TEXT,
      page INTEGER,
      char_start INTEGER,
      char_end INTEGER,
      pages_read TEXT NOT NULL DEFAULT '[]',
      edited_value TEXT,
      edited_by TEXT,
      edited_at INTEGER,
      UNIQUE (row_id, item, field_key)
    ) STRICT;
  `);
}
