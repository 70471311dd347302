import type { Database } from 'better-sqlite3';

export const version = 26;
export const name = 'answer-search';

/**
 * How each grounded answer's passages were found (JSON: words only or words and meaning, which
 * reranking model ordered them, or that reranking failed), kept with the answer so that it shows
 * what happened then, not today's settings. Null for answers from before.
 */
export function up(db: Database): void {
  db.exec(`ALTER TABLE message_groundings ADD COLUMN search TEXT;`);
}
