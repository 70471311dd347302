import type { Database } from 'better-sqlite3';

export const version = 7;
export const name = 'search-statistics';

/**
 * Cheap statistics for search: the document frequency of each indexed term (to skip terms nearly
 * every chunk has), and a narrow index so counting vectors does not read every vector.
 */
export function up(db: Database): void {
  db.exec(`
    CREATE VIRTUAL TABLE chunks_vocab USING fts5vocab('chunks_fts', 'row');
    CREATE INDEX chunk_embeddings_count ON chunk_embeddings(chunk_id);
  `);
}
