import type { Database } from 'better-sqlite3';

export const version = 17;
export const name = 'model-kinds';

/**
 * What a model is for, read from its GGUF (a chat model, or an embedding model for search), and a
 * quick fingerprint of its file (size, first and last megabytes) that finds the same model added
 * twice at once, without waiting for the full SHA-256 of gigabytes.
 */
export function up(db: Database): void {
  db.exec(`
    ALTER TABLE models ADD COLUMN kind TEXT;
    ALTER TABLE models ADD COLUMN fingerprint TEXT;
    CREATE INDEX models_fingerprint ON models(fingerprint);
  `);
}
