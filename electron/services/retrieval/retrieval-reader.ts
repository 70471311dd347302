// The searches of retrieval, run on a worker thread with its own read connection (see
// workers/retrieval-reader.ts). Should the thread fail to start or stop, searches run on main's
// connection instead: slower for the app, never wrong.
import { dirname, extname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { ChunkHit, RetrievalStore } from '../store/retrieval-store.ts';
import type { ReaderRequest, ReaderResponse } from './reader-protocol.ts';

// The worker sits beside this module's tree in source (.ts, tests) and in the build (.js).
const here = fileURLToPath(import.meta.url);
const WORKER_FILE = resolve(dirname(here), '..', '..', 'workers', `retrieval-reader${extname(here)}`);

/** What the Retriever searches with: main's store, or the reader thread. */
export interface SearchReader {
  bm25(question: string, documentIds: string[], limit: number): Promise<ChunkHit[]>;
  vector(query: Float32Array, documentIds: string[], limit: number): Promise<ChunkHit[]>;
}

/** Searches on main's connection (tests, in-memory stores, or when the thread is unavailable). */
export function mainThreadReader(store: RetrievalStore): SearchReader {
  return {
    bm25: async (question, documentIds, limit) => store.bm25(question, documentIds, limit),
    vector: async (query, documentIds, limit) => store.vector(query, documentIds, limit),
  };
}

type Pending = { resolve: (hits: ChunkHit[]) => void; reject: (e: Error) => void; request: ReaderRequest };
type Search = { method: 'bm25'; question: string; documentIds: string[]; limit: number } | { method: 'vector'; query: Float32Array; documentIds: string[]; limit: number };

export class RetrievalReader implements SearchReader {
  readonly #file: string;
  readonly #fallback: SearchReader;
  #worker: Worker | null = null;
  #broken = false;
  #next = 1;
  readonly #pending = new Map<number, Pending>();

  constructor(databaseFile: string, fallback: SearchReader) {
    this.#file = databaseFile;
    this.#fallback = fallback;
  }

  /** True while searches run on the reader thread (tests). */
  get threaded(): boolean {
    return !this.#broken;
  }

  bm25(question: string, documentIds: string[], limit: number): Promise<ChunkHit[]> {
    return this.#ask({ method: 'bm25', question, documentIds, limit });
  }

  vector(query: Float32Array, documentIds: string[], limit: number): Promise<ChunkHit[]> {
    return this.#ask({ method: 'vector', query, documentIds, limit });
  }

  #ask(search: Search): Promise<ChunkHit[]> {
    const worker = this.#ensureWorker();
    if (!worker) return search.method === 'bm25' ? this.#fallback.bm25(search.question, search.documentIds, search.limit) : this.#fallback.vector(search.query, search.documentIds, search.limit);
    const request = { id: this.#next++, ...search } as ReaderRequest;
    return new Promise((resolve, reject) => {
      this.#pending.set(request.id, { resolve, reject, request });
      // The thread keeps the process alive only while a search is waiting on it.
      if (this.#pending.size === 1) worker.ref();
      worker.postMessage(request);
    });
  }

  #ensureWorker(): Worker | null {
    if (this.#worker || this.#broken) return this.#worker;
    try {
      const worker = new Worker(WORKER_FILE, { workerData: { file: this.#file } });
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
        console.warn(`[retrieval] the search thread stopped (${why}); searching on the main thread`);
        this.#worker = null;
        this.#broken = true;
        // Searches in flight are answered on main's connection rather than lost.
        for (const [id, p] of this.#pending) {
          this.#pending.delete(id);
          const r = p.request;
          (r.method === 'bm25' ? this.#fallback.bm25(r.question, r.documentIds, r.limit) : this.#fallback.vector(r.query, r.documentIds, r.limit)).then(p.resolve, p.reject);
        }
      };
      worker.on('error', (e) => lost(e.message));
      worker.on('exit', (code) => lost(`exit ${code}`));
      worker.unref();
      this.#worker = worker;
      return worker;
    } catch (e) {
      console.warn(`[retrieval] the search thread could not start (${(e as Error).message}); searching on the main thread`);
      this.#broken = true;
      return null;
    }
  }

  async close(): Promise<void> {
    const worker = this.#worker;
    this.#worker = null;
    this.#broken = true;
    if (worker) await worker.terminate();
  }
}
