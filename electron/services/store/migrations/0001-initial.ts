import type { Database } from 'better-sqlite3';

export const version = 1;
export const name = 'initial';

export function up(db: Database): void {
  db.exec(`
    CREATE TABLE settings (
      key TEXT PRIMARY KEY,
      value TEXT NOT NULL
    ) STRICT;

    CREATE TABLE models (
      id TEXT PRIMARY KEY,
      path TEXT NOT NULL UNIQUE,
      file_name TEXT NOT NULL,
      name TEXT NOT NULL,
      architecture TEXT NOT NULL,
      parameter_count INTEGER NOT NULL,
      quantization TEXT NOT NULL,
      context_length INTEGER,
      file_size INTEGER NOT NULL,
      added_at INTEGER NOT NULL
    ) STRICT;

    CREATE TABLE conversations (
      id TEXT PRIMARY KEY,
      title TEXT NOT NULL,
      title_is_custom INTEGER NOT NULL DEFAULT 0,
      system_prompt TEXT NOT NULL DEFAULT '',
      created_at INTEGER NOT NULL,
      updated_at INTEGER NOT NULL
    ) STRICT;

    CREATE TABLE messages (
      id TEXT PRIMARY KEY,
      conversation_id TEXT NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
      position INTEGER NOT NULL,
      role TEXT NOT NULL CHECK (role IN ('user', 'assistant')),
      content TEXT NOT NULL,
      status TEXT NOT NULL CHECK (status IN ('complete', 'streaming', 'stopped', 'interrupted', 'error')),
      created_at INTEGER NOT NULL,
      token_count INTEGER,
      tokens_per_second REAL,
      duration_ms INTEGER,
      context_tokens INTEGER,
      context_size INTEGER,
      model_name TEXT,
      error TEXT,
      UNIQUE (conversation_id, position)
    ) STRICT;

    CREATE INDEX conversations_updated ON conversations(updated_at DESC);
  `);
}
