import type { Database } from 'better-sqlite3';

export const version = 11;
export const name = 'preferred-models';

/**
 * A model's SHA-256 (computed in the background after it is added: models are gigabytes), and
 * each assistant's preferred model, remembered by that hash and its name, and context size.
 */
export function up(db: Database): void {
  db.exec(`
    ALTER TABLE models ADD COLUMN sha256 TEXT;
    CREATE INDEX models_sha256 ON models(sha256);
    ALTER TABLE assistants ADD COLUMN preferred_model_sha256 TEXT;
    ALTER TABLE assistants ADD COLUMN preferred_model_name TEXT;
    ALTER TABLE assistants ADD COLUMN context_size INTEGER;
  `);
}
