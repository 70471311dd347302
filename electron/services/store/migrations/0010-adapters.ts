import type { Database } from 'better-sqlite3';

export const version = 10;
export const name = 'adapters';

/** LoRA adapters the user added, and the ones each assistant applies, with a scale each. */
export function up(db: Database): void {
  db.exec(`
    CREATE TABLE adapters (
      id TEXT PRIMARY KEY,
      path TEXT NOT NULL UNIQUE,
      file_name TEXT NOT NULL,
      name TEXT NOT NULL,
      architecture TEXT NOT NULL,
      file_size INTEGER NOT NULL,
      -- The file's SHA-256: exported assistants name their adapters by it, never by file name.
      sha256 TEXT NOT NULL,
      added_at INTEGER NOT NULL
    ) STRICT;

    CREATE TABLE assistant_adapters (
      assistant_id TEXT NOT NULL REFERENCES assistants(id) ON DELETE CASCADE,
      adapter_id TEXT NOT NULL REFERENCES adapters(id) ON DELETE CASCADE,
      scale REAL NOT NULL,
      position INTEGER NOT NULL,
      PRIMARY KEY (assistant_id, adapter_id)
    ) STRICT;
  `);
}
