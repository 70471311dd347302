import type { Database } from 'better-sqlite3';

export const version = 9;
export const name = 'assistants';

/**
 * Domain assistants. Every conversation belongs to one; existing conversations belong to General,
 * which always exists. (conversations.assistant_id has no foreign key: SQLite cannot add one with
 * a non-null default; deleting an assistant moves its conversations to General in one transaction.)
 */
export function up(db: Database): void {
  db.exec(`
    CREATE TABLE assistants (
      id TEXT PRIMARY KEY,
      name TEXT NOT NULL,
      description TEXT NOT NULL DEFAULT '',
      color TEXT NOT NULL,
      domain TEXT NOT NULL,
      system_prompt TEXT NOT NULL DEFAULT '',
      temperature REAL,
      top_p REAL,
      max_tokens INTEGER,
      answer_only_from_documents INTEGER NOT NULL DEFAULT 0,
      summary_kinds TEXT NOT NULL DEFAULT '[]',
      -- The pack and template it was made from (JSON), if any.
      origin TEXT,
      created_at INTEGER NOT NULL,
      updated_at INTEGER NOT NULL
    ) STRICT;

    CREATE TABLE assistant_collections (
      assistant_id TEXT NOT NULL REFERENCES assistants(id) ON DELETE CASCADE,
      collection_id TEXT NOT NULL REFERENCES collections(id) ON DELETE CASCADE,
      PRIMARY KEY (assistant_id, collection_id)
    ) STRICT;

    INSERT INTO assistants (id, name, description, color, domain, created_at, updated_at)
    VALUES ('general', 'General', 'A general assistant with no domain instructions.', '#6b6a65', 'general', 0, 0);

    ALTER TABLE conversations ADD COLUMN assistant_id TEXT NOT NULL DEFAULT 'general';
    CREATE INDEX conversations_assistant ON conversations(assistant_id);
  `);
}
