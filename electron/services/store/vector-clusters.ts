// An inverted-file (IVF) index over the binary vector prefilter, for vector search over large
// scopes.
//
// sqlite-vec's KNN over binary vectors reads every vector and keeps the best k of each block: at a
// million chunks it took 100 ms for k = 96 and 280 ms for k = 256, however few of them the question
// is near. Here the vectors are grouped around up to 256 centroids (spherical k-means on a sample);
// each group's binary codes are one range of the `chunk_codes` table (keyed by partition), and a
// question reads the partitions of its PROBES nearest centroids: about an eighth of the vectors in a
// large library. Like the binary prefilter it serves, this is approximate; the candidates are then
// scored exactly, and the benchmark reports how many of the exact nearest it finds.
//
// Until the library holds CLUSTER_FROM vectors, every vector sits in partition 0 (a search reads all
// of them, as before). The centroids are learnt again when the library has doubled since; the vectors
// then move to the new centroids' partitions a batch at a time (searches read both generations
// meanwhile), and the old centroids go.
import type { Database, Statement } from 'better-sqlite3';
import { seededRandom } from '../../core/seeded-random.ts';
import { statementCache } from './statements.ts';

/**
 * Vectors in the library from which they are grouped: where the prefilter starts to be used
 * (EXACT_VECTOR_LIMIT in retrieval-store.ts). Ungrouped, 300 candidates from 51,760 vectors took
 * 29.5 / 49.4 ms p50 / p95 (question included); the partitions keep that cost small.
 */
export const CLUSTER_FROM = 20_000;
/** Centroids learnt at most; fewer in a smaller library (a partition of about 256 vectors at least). */
export const CLUSTERS = 256;
const MIN_CLUSTERS = 64;
/**
 * Partitions a question searches (of each generation of centroids). On 51,760 real contract chunks
 * (202 partitions), 70 questions, 300 candidates: 16 found 76% of the exact top 30 in 3.3/4.2 ms
 * p50/p95, 32 found 83% in 3.8/4.3 ms (the codes of a partition are one range of a plain table).
 */
export const PROBES = 32;
/** Vectors the centroids are learnt from. */
const SAMPLE = 8_192;
const ITERATIONS = 8;
/** Vectors moved to the new centroids' partitions per step. */
const MOVE_BATCH = 1_000;

interface Centroids {
  key: string;
  /** By generation, newest last: ids and unit vectors (row-major). */
  generations: { generation: number; ids: number[]; vectors: Float32Array }[];
}

function normalize(v: Float32Array): Float32Array {
  let n = 0;
  for (let i = 0; i < v.length; i++) n += v[i] * v[i];
  const out = new Float32Array(v.length);
  if (n === 0) return out;
  const s = 1 / Math.sqrt(n);
  for (let i = 0; i < v.length; i++) out[i] = v[i] * s;
  return out;
}

function dot(a: Float32Array, b: Float32Array, offset: number, dims: number): number {
  let s = 0;
  for (let i = 0; i < dims; i++) s += a[i] * b[offset + i];
  return s;
}

function toVector(blob: Buffer): Float32Array {
  return new Float32Array(blob.buffer.slice(blob.byteOffset, blob.byteOffset + blob.byteLength));
}

export class VectorClusters {
  readonly #db: Database;
  #centroids: Centroids | null = null;
  /** Library size from which vectors are grouped (tests lower it). */
  clusterFrom = CLUSTER_FROM;
  /** Centroids learnt (tests lower it). */
  clusters = CLUSTERS;
  /** Partitions searched per generation (tests lower it). */
  probes = PROBES;

  readonly #sql: (sql: string) => Statement;

  constructor(db: Database) {
    this.#db = db;
    this.#sql = statementCache(db);
  }

  #load(): Centroids {
    const key = this.#sql("SELECT COUNT(*) || ':' || COALESCE(MAX(id), 0) FROM vector_centroids").pluck().get() as string;
    if (this.#centroids?.key === key) return this.#centroids;
    const rows = this.#sql('SELECT id, generation, centroid FROM vector_centroids ORDER BY generation, id').raw().all() as [number, number, Buffer][];
    const groups: { generation: number; ids: number[]; blobs: Buffer[] }[] = [];
    for (const [id, generation, blob] of rows) {
      let g = groups[groups.length - 1];
      if (!g || g.generation !== generation) groups.push((g = { generation, ids: [], blobs: [] }));
      g.ids.push(id);
      g.blobs.push(blob);
    }
    const generations = groups.map(({ generation, ids, blobs }) => ({ generation, ids, vectors: toVector(Buffer.concat(blobs)) }));
    this.#centroids = { key, generations };
    return this.#centroids;
  }

  /** The nearest `n` centroids of a generation to a unit vector. */
  #nearest(g: Centroids['generations'][number], unit: Float32Array, n: number): number[] {
    const dims = unit.length;
    const scored = g.ids.map((id, i) => ({ id, s: dot(unit, g.vectors, i * dims, dims) }));
    scored.sort((a, b) => b.s - a.s || a.id - b.id);
    return scored.slice(0, n).map((x) => x.id);
  }

  /** The partition a new vector goes to: its nearest centroid of the newest generation, or 0. */
  partitionFor(vector: Float32Array): { cluster: number; generation: number } {
    const { generations } = this.#load();
    const newest = generations[generations.length - 1];
    if (!newest) return { cluster: 0, generation: 0 };
    return { cluster: this.#nearest(newest, normalize(vector), 1)[0], generation: newest.generation };
  }

  /** The partitions a question searches: 0 while it holds vectors, and the nearest of each generation. */
  partitionsFor(query: Float32Array): number[] {
    const { generations } = this.#load();
    const unit = normalize(query);
    const out = generations.flatMap((g) => this.#nearest(g, unit, this.probes));
    if (generations.length === 0 || this.#sql('SELECT EXISTS (SELECT 1 FROM chunk_clusters WHERE generation = 0)').pluck().get() === 1) out.unshift(0);
    return out;
  }

  /** How many vectors the newest centroids were learnt on (0: not grouped): the library's size, cheaply. */
  groupedSize(): number {
    return (this.#sql('SELECT MAX(trained_on) FROM vector_generations').pluck().get() as number | null) ?? 0;
  }

  /** Whether centroids are due (learnt first, or again) or vectors wait to move to the newest ones. */
  due(): boolean {
    return this.#trainingDue() || this.#moving() !== null;
  }

  #trainingDue(): boolean {
    const vectors = this.#sql('SELECT COUNT(*) FROM chunk_clusters').pluck().get() as number;
    if (vectors < this.clusterFrom) return false;
    const last = this.#sql('SELECT MAX(trained_on) FROM vector_generations').pluck().get() as number | null;
    return last === null || vectors >= 2 * last;
  }

  /** The newest generation when some vectors are not in its partitions yet. */
  #moving(): number | null {
    const newest = this.#sql('SELECT MAX(generation) FROM vector_generations').pluck().get() as number | null;
    if (newest === null) return null;
    return this.#sql('SELECT EXISTS (SELECT 1 FROM chunk_clusters WHERE generation < ?)').pluck().get(newest) === 1 ? newest : null;
  }

  /**
   * Learns centroids when due and moves the vectors to their partitions, a step at a time
   * (`pause` between steps; `stopped` ends it early, anything half-done goes on next time).
   */
  async maintain(pause: () => Promise<void>, stopped: () => boolean): Promise<void> {
    if (this.#trainingDue()) await this.#train(pause, stopped);
    for (let generation = this.#moving(); generation !== null && !stopped(); generation = this.#moving()) {
      this.#moveBatch(generation);
      await pause();
    }
    if (!stopped()) {
      // Every vector is in the newest generation's partitions: the older centroids go.
      const newest = this.#sql('SELECT MAX(generation) FROM vector_generations').pluck().get() as number | null;
      if (newest !== null && this.#moving() === null) {
        this.#db.transaction(() => {
          this.#sql('DELETE FROM vector_centroids WHERE generation < ?').run(newest);
          this.#sql('DELETE FROM vector_generations WHERE generation < ?').run(newest);
        })();
      }
    }
  }

  async #train(pause: () => Promise<void>, stopped: () => boolean): Promise<void> {
    const total = this.#sql('SELECT COUNT(*) FROM chunk_clusters').pluck().get() as number;
    // An even sample of the library by chunk id.
    const step = Math.max(1, Math.floor(total / SAMPLE));
    const sample = (
      this.#sql('SELECT e.embedding FROM (SELECT chunk_id FROM chunk_clusters WHERE chunk_id % ? = 0 LIMIT ?) s JOIN chunk_embeddings e ON e.chunk_id = s.chunk_id')
        .pluck()
        .all(step, SAMPLE) as Buffer[]
    ).map((b) => normalize(toVector(b)));
    const k = Math.min(this.clusters, Math.max(MIN_CLUSTERS, Math.floor(total / 256)));
    if (sample.length < k) return;
    const dims = sample[0].length;
    const rand = seededRandom(total);
    // Distinct sample points to start from.
    const centroids = new Float32Array(k * dims);
    const picked = new Set<number>();
    for (let c = 0; c < k; c++) {
      let i = Math.floor(rand() * sample.length);
      while (picked.has(i)) i = (i + 1) % sample.length;
      picked.add(i);
      centroids.set(sample[i], c * dims);
    }
    const assignment = new Int32Array(sample.length);
    for (let iteration = 0; iteration < ITERATIONS; iteration++) {
      for (let i = 0; i < sample.length; i++) {
        let best = 0;
        let bestScore = -Infinity;
        for (let c = 0; c < k; c++) {
          const s = dot(sample[i], centroids, c * dims, dims);
          if (s > bestScore) {
            bestScore = s;
            best = c;
          }
        }
        assignment[i] = best;
        if (i % 512 === 511) {
          await pause();
          if (stopped()) return;
        }
      }
      const sums = new Float32Array(k * dims);
      const counts = new Int32Array(k);
      for (let i = 0; i < sample.length; i++) {
        const c = assignment[i];
        counts[c]++;
        for (let d = 0; d < dims; d++) sums[c * dims + d] += sample[i][d];
      }
      for (let c = 0; c < k; c++) {
        // An empty group starts again from a random sample point.
        const v = counts[c] > 0 ? normalize(sums.subarray(c * dims, (c + 1) * dims)) : sample[Math.floor(rand() * sample.length)];
        centroids.set(v, c * dims);
      }
    }
    this.#db.transaction(() => {
      const generation = ((this.#sql('SELECT MAX(generation) FROM vector_generations').pluck().get() as number | null) ?? 0) + 1;
      this.#sql('INSERT INTO vector_generations (generation, trained_on) VALUES (?, ?)').run(generation, total);
      const insert = this.#sql('INSERT INTO vector_centroids (generation, centroid) VALUES (?, ?)');
      for (let c = 0; c < k; c++) insert.run(generation, Buffer.from(centroids.slice(c * dims, (c + 1) * dims).buffer));
    })();
  }

  /** Moves a batch of vectors of older generations to the newest centroids' partitions. */
  #moveBatch(generation: number): void {
    const rows = this.#sql(
      `SELECT k.chunk_id, e.embedding FROM chunk_clusters k LEFT JOIN chunk_embeddings e ON e.chunk_id = k.chunk_id
       WHERE k.generation < ? LIMIT ?`,
    ).raw().all(generation, MOVE_BATCH) as [number, Buffer | null][];
    this.#db.transaction(() => {
      for (const [chunkId, blob] of rows) {
        if (blob) this.place(chunkId, blob);
        // A vector no longer there has nothing to move.
        else this.#sql('DELETE FROM chunk_clusters WHERE chunk_id = ?').run(chunkId);
      }
    })();
  }

  /** Writes a chunk's binary vector into the partition of its nearest centroid (and records which). */
  place(chunkId: number, embedding: Buffer): void {
    const { cluster, generation } = this.partitionFor(toVector(embedding));
    // One code per chunk (a unique index): one placed again replaces its old partition's.
    this.#sql('INSERT OR REPLACE INTO chunk_codes (cluster, chunk_id, code) VALUES (?, ?, vec_quantize_binary(?))').run(cluster, chunkId, embedding);
    this.#sql('INSERT OR REPLACE INTO chunk_clusters (chunk_id, generation) VALUES (?, ?)').run(chunkId, generation);
  }

  /** A new embedding space: no centroids, no groups. */
  reset(): void {
    this.#sql('DELETE FROM vector_centroids').run();
    this.#sql('DELETE FROM vector_generations').run();
    this.#sql('DELETE FROM chunk_clusters').run();
    this.#centroids = null;
  }
}
