import type { Database } from 'better-sqlite3';

export const version = 23;
export const name = 'vector-clusters';

/**
 * Vector search over large scopes by partitions (see vector-clusters.ts): the binary prefilter
 * table gains a partition key (the vector's centroid; 0 until the library is large enough to group),
 * the centroids and their generations are kept, and which generation each vector was placed by.
 */
export function up(db: Database): void {
  db.exec(`
    CREATE TABLE vector_generations (generation INTEGER PRIMARY KEY, trained_on INTEGER NOT NULL) STRICT;
    CREATE TABLE vector_centroids (
      id INTEGER PRIMARY KEY AUTOINCREMENT,
      generation INTEGER NOT NULL REFERENCES vector_generations(generation) ON DELETE CASCADE,
      centroid BLOB NOT NULL
    ) STRICT;
    CREATE TABLE chunk_clusters (
      chunk_id INTEGER PRIMARY KEY REFERENCES chunks(id) ON DELETE CASCADE,
      generation INTEGER NOT NULL
    ) STRICT;
    CREATE INDEX chunk_clusters_generation ON chunk_clusters(generation);
  `);
  const old = db.prepare("SELECT sql FROM sqlite_master WHERE name = 'chunk_bits'").pluck().get() as string | undefined;
  if (old) {
    const bits = /bit\[(\d+)\]/.exec(old)?.[1];
    db.exec('DROP TABLE chunk_bits');
    if (bits) {
      db.exec(`CREATE VIRTUAL TABLE chunk_bits USING vec0(cluster integer partition key, embedding bit[${bits}])`);
      db.exec('INSERT INTO chunk_bits (rowid, cluster, embedding) SELECT chunk_id, 0, vec_quantize_binary(embedding) FROM chunk_embeddings');
      db.exec('INSERT INTO chunk_clusters (chunk_id, generation) SELECT chunk_id, 0 FROM chunk_embeddings');
    }
  }
}
