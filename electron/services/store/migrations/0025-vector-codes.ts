import type { Database } from 'better-sqlite3';

export const version = 25;
export const name = 'vector-codes';

/**
 * The binary codes of the vector prefilter move from sqlite-vec's vec0 table to a plain table
 * clustered by partition: the partitions near a question are read in one range scan and ranked by
 * sqlite-vec's Hamming distance in SQL. On 51,760 real contract chunks, 16 of 202 partitions took
 * 0.9 ms this way against 8.8 ms as 16 vec0 KNN queries. A code goes with its vector (a foreign
 * key), so no pass over the whole prefilter is needed to drop the codes of deleted passages.
 */
export function up(db: Database): void {
  db.exec(`
    CREATE TABLE chunk_codes (
      cluster INTEGER NOT NULL,
      chunk_id INTEGER NOT NULL REFERENCES chunk_embeddings(chunk_id) ON DELETE CASCADE,
      code BLOB NOT NULL,
      PRIMARY KEY (cluster, chunk_id)
    ) STRICT, WITHOUT ROWID;
    CREATE UNIQUE INDEX chunk_codes_chunk ON chunk_codes(chunk_id);
  `);
  if (db.prepare("SELECT 1 FROM sqlite_master WHERE name = 'chunk_bits'").get()) {
    // Each vector stays in its partition; its code is made again from the vector itself.
    db.exec(`
      INSERT INTO chunk_codes (cluster, chunk_id, code)
        SELECT b.cluster, e.chunk_id, vec_quantize_binary(e.embedding) FROM chunk_bits b JOIN chunk_embeddings e ON e.chunk_id = b.rowid;
      DROP TABLE chunk_bits;
    `);
  }
}
