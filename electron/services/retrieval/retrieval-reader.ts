// The searches of retrieval, run on worker threads, each with its own read connection (see
// workers/retrieval-reader.ts). Should a thread fail to start or stop, searches run on main's
// connection instead: slower for the app, never wrong.
import { dirname, extname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import type { ChunkHit, RetrievalStore, SearchPart } from '../store/retrieval-store.ts';
import type { ReaderRequest, ReaderResponse } from './reader-protocol.ts';

// The worker sits beside this module's tree in source (.ts, tests) and in the build (.js).
const here = fileURLToPath(import.meta.url);
const WORKER_FILE = resolve(dirname(here), '..', '..', 'workers', `retrieval-reader${extname(here)}`);

/** What the Retriever searches with: main's store, or the reader thread. */
export interface SearchReader {
  /** With `part`, only that share of a large scope (the search threads split it). */
  bm25(question: string, documentIds: string[], limit: number, part?: SearchPart): Promise<ChunkHit[]>;
  /** With `part`, only that share of the vector partitions probed (the search threads split them). */
  vector(query: Float32Array, documentIds: string[], limit: number, part?: SearchPart): Promise<ChunkHit[]>;
}

/** Searches on main's connection (tests, in-memory stores, or when the thread is unavailable). */
export function mainThreadReader(store: RetrievalStore): SearchReader {
  return {
    bm25: async (question, documentIds, limit, part) => store.bm25(question, documentIds, limit, part),
    vector: async (query, documentIds, limit, part) => store.vector(query, documentIds, limit, part),
  };
}

type Pending = { resolve: (hits: ChunkHit[]) => void; reject: (e: Error) => void; request: ReaderRequest };
type Search =
  | { method: 'bm25'; question: string; documentIds: string[]; limit: number; part?: SearchPart }
  | { method: 'vector'; query: Float32Array; documentIds: string[]; limit: number; part?: SearchPart };

const byScore = (a: ChunkHit, b: ChunkHit) => b.score - a.score || a.chunkId - b.chunkId;

/** One search thread and the searches waiting on it. */
class ReaderThread {
  readonly #file: string;
  readonly #onLost: (why: string, pending: Pending[]) => void;
  #worker: Worker | null = null;
  #next = 1;
  readonly #pending = new Map<number, Pending>();

  constructor(file: string, keyHex: string | null, onLost: (why: string, pending: Pending[]) => void) {
    this.#file = file;
    this.#onLost = onLost;
    const worker = new Worker(WORKER_FILE, { workerData: { file, keyHex } });
    worker.on('message', (r: ReaderResponse) => {
      const pending = this.#pending.get(r.id);
      if (!pending) return;
      this.#pending.delete(r.id);
      if (this.#pending.size === 0) worker.unref();
      if (r.ok) pending.resolve(r.hits);
      else pending.reject(new Error(r.message));
    });
    const lost = (why: string) => {
      if (this.#worker !== worker) return;
      this.#worker = null;
      const pending = [...this.#pending.values()];
      this.#pending.clear();
      this.#onLost(why, pending);
    };
    worker.on('error', (e) => lost(e.message));
    worker.on('exit', (code) => lost(`exit ${code}`));
    worker.unref();
    this.#worker = worker;
  }

  get alive(): boolean {
    return this.#worker !== null;
  }

  ask(search: Search): Promise<ChunkHit[]> {
    const worker = this.#worker;
    if (!worker) return Promise.reject(new Error(`the search thread for ${this.#file} is gone`));
    const request = { id: this.#next++, ...search } as ReaderRequest;
    return new Promise((resolve, reject) => {
      this.#pending.set(request.id, { resolve, reject, request });
      // The thread keeps the process alive only while a search is waiting on it.
      if (this.#pending.size === 1) worker.ref();
      worker.postMessage(request);
    });
  }

  /** Stops the thread; the searches that were waiting on it are handed back. */
  drain(): Pending[] {
    const worker = this.#worker;
    this.#worker = null;
    const pending = [...this.#pending.values()];
    this.#pending.clear();
    if (worker) void worker.terminate();
    return pending;
  }

  async close(): Promise<void> {
    const worker = this.#worker;
    this.#worker = null;
    if (worker) await worker.terminate();
  }
}

/**
 * Searches on threads of their own (two where the machine has two cores or more): a keyword
 * search over a large scope is shared between them, each scoring half of the scope's chunk ids
 * (on 51,760 real contract chunks, whole-library p50 18 → 12 ms, p95 42 → 26 ms on two cores);
 * so is a vector search over a library of VECTOR_SHARE_ABOVE vectors or more, each probing half of
 * the partitions near the question (below that, one thread reads them in a few ms).
 */
export class RetrievalReader implements SearchReader {
  readonly #file: string;
  readonly #fallback: SearchReader;
  readonly #size: number;
  #threads: ReaderThread[] | null = null;
  #broken = false;

  readonly #keyHex: string | null;

  /** `key`: the store's encryption key (the threads open the same encrypted file). */
  constructor(databaseFile: string, fallback: SearchReader, key: Buffer | null = null, threads = Math.min(2, availableParallelism())) {
    this.#file = databaseFile;
    this.#keyHex = key ? key.toString('hex') : null;
    this.#fallback = fallback;
    this.#size = Math.max(1, threads);
  }

  /** True while searches run on the reader threads (tests). */
  get threaded(): boolean {
    return !this.#broken;
  }

  async bm25(question: string, documentIds: string[], limit: number): Promise<ChunkHit[]> {
    const threads = this.#ensureThreads();
    if (!threads) return this.#fallback.bm25(question, documentIds, limit);
    if (threads.length === 1) return this.#ask(threads[0], { method: 'bm25', question, documentIds, limit });
    const parts = await Promise.all(threads.map((t, index) => this.#ask(t, { method: 'bm25', question, documentIds, limit, part: { index, of: threads.length } })));
    return parts.flat().sort(byScore).slice(0, limit);
  }

  async vector(query: Float32Array, documentIds: string[], limit: number): Promise<ChunkHit[]> {
    const threads = this.#ensureThreads();
    if (!threads) return this.#fallback.vector(query, documentIds, limit);
    if (threads.length === 1) return this.#ask(threads[0], { method: 'vector', query, documentIds, limit });
    const parts = await Promise.all(threads.map((t, index) => this.#ask(t, { method: 'vector', query, documentIds, limit, part: { index, of: threads.length } })));
    // A share that found too few in scope answers exactly over the whole scope: the same chunk
    // with the same score may come from both.
    const best = new Map<number, ChunkHit>();
    for (const hit of parts.flat()) if (!best.has(hit.chunkId)) best.set(hit.chunkId, hit);
    return [...best.values()].sort(byScore).slice(0, limit);
  }

  #ask(thread: ReaderThread, search: Search): Promise<ChunkHit[]> {
    if (!thread.alive) return this.#onMain(search);
    return thread.ask(search);
  }

  /** A search answered on main's connection (a share of a split search stays that share). */
  #onMain(search: Search): Promise<ChunkHit[]> {
    if (search.method === 'vector') return this.#fallback.vector(search.query, search.documentIds, search.limit, search.part);
    return this.#fallback.bm25(search.question, search.documentIds, search.limit, search.part);
  }

  #ensureThreads(): ReaderThread[] | null {
    if (this.#threads || this.#broken) return this.#threads;
    try {
      const threads: ReaderThread[] = [];
      const lost = (why: string, pending: Pending[]) => {
        if (this.#threads !== threads) return;
        console.warn(`[retrieval] a search thread stopped (${why}); searching on the main thread`);
        this.#broken = true;
        this.#threads = null;
        for (const t of threads) pending.push(...t.drain());
        // Searches in flight are answered on main's connection rather than lost, each its own share.
        for (const p of pending) this.#onMain(p.request as Search).then(p.resolve, p.reject);
      };
      for (let i = 0; i < this.#size; i++) threads.push(new ReaderThread(this.#file, this.#keyHex, lost));
      this.#threads = threads;
      return threads;
    } catch (e) {
      console.warn(`[retrieval] the search threads could not start (${(e as Error).message}); searching on the main thread`);
      this.#broken = true;
      return null;
    }
  }

  async close(): Promise<void> {
    const threads = this.#threads;
    this.#threads = null;
    this.#broken = true;
    if (threads) await Promise.all(threads.map((t) => t.close()));
  }
}
