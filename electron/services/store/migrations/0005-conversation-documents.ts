import type { Database } from 'better-sqlite3';

export const version = 5;
export const name = 'conversation-documents';

/** Documents a user shared with a conversation, to talk about them. */
export function up(db: Database): void {
  db.exec(`
    CREATE TABLE conversation_documents (
      conversation_id TEXT NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
      document_id TEXT NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
      added_at INTEGER NOT NULL,
      PRIMARY KEY (conversation_id, document_id)
    ) STRICT;
  `);
}
