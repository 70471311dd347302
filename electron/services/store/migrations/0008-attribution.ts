import type { Database } from 'better-sqlite3';

export const version = 8;
export const name = 'attribution';

/**
 * What supports each sentence of a grounded answer (JSON, written once when the answer is
 * checked), and chunks the embedding model could not embed: recorded, so one bad chunk is
 * skipped and shown instead of stopping the index.
 */
export function up(db: Database): void {
  db.exec(`
    CREATE TABLE message_groundings (
      message_id TEXT PRIMARY KEY REFERENCES messages(id) ON DELETE CASCADE,
      sentences TEXT NOT NULL,
      evidence TEXT NOT NULL, -- { numbers: source numbers, coverage: share of the question's words }
      model_citations INTEGER NOT NULL
    ) STRICT;

    CREATE TABLE chunk_embedding_skips (
      chunk_id INTEGER PRIMARY KEY REFERENCES chunks(id) ON DELETE CASCADE,
      reason TEXT NOT NULL
    ) STRICT;
  `);
}
