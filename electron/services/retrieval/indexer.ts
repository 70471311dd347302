// Keeps the search index in step with the library, in the background: new documents are cut
// into chunks, chunks get embeddings. Incremental (only what is missing) and resumable (what is
// missing after a restart is simply still missing). A new embedding model re-embeds everything.
import type { IndexStatus, ModelInfo } from '../../contract/types.ts';
import type { DocumentStore } from '../store/document-store.ts';
import type { RetrievalStore } from '../store/retrieval-store.ts';
import { chunkPage } from './chunker.ts';
import type { Embedder, RemoteEmbeddings } from './embedder.ts';

const BATCH = 32;
/** While embedding, the chunks and vectors are counted in full this often (see #progressStatus). */
const FULL_COUNT_EVERY_MS = 5_000;
/** Pages cut into chunks per main-thread task. */
const CHUNK_SLICE_PAGES = 100;

/** Which model (and dimension) the stored vectors came from, kept across restarts. */
export interface EmbeddingSpaceMemory {
  get(): { modelId: string; dimensions: number } | null;
  set(space: { modelId: string; dimensions: number } | null): void;
}

export class Indexer {
  readonly #store: RetrievalStore;
  readonly #documents: DocumentStore;
  readonly #embedder: Embedder;
  readonly #onStatus: (s: IndexStatus) => void;
  #running: Promise<void> | null = null;
  #again = false;
  #stopped = false;
  /** The app is closing: nothing more is told to the window. */
  #shutDown = false;
  #state: IndexStatus['state'] = 'idle';
  #error: string | null = null;
  #paused = false;
  /** Pace of the embedding in progress: when it started and how many it has embedded. */
  #pace: { since: number; done: number } | null = null;

  readonly #space: EmbeddingSpaceMemory;
  /** The last full count while embedding, and how many vectors the pass had written then. */
  #counted: { at: number; counts: { chunks: number; embedded: number }; written: number } | null = null;
  readonly #reranker: { readonly info: ModelInfo | null } | null;

  constructor(deps: {
    store: RetrievalStore;
    documents: DocumentStore;
    embedder: Embedder;
    onStatus: (s: IndexStatus) => void;
    space: EmbeddingSpaceMemory;
    /** The reranking model in use, named in the status. */
    reranker?: { readonly info: ModelInfo | null };
  }) {
    this.#reranker = deps.reranker ?? null;
    this.#space = deps.space;
    this.#store = deps.store;
    this.#documents = deps.documents;
    this.#embedder = deps.embedder;
    this.#onStatus = deps.onStatus;
  }

  status(): IndexStatus {
    return this.#statusOf(this.#store.chunkCounts());
  }

  /**
   * The status while embedding, every 250 ms: counting every chunk and vector costs ~20 ms on main
   * at a million chunks, so the counts are taken in full every few seconds and added to in between
   * (the vectors this pass wrote). Asked for, status() counts in full.
   */
  #progressStatus(written: number): IndexStatus {
    const now = performance.now();
    if (!this.#counted || now - this.#counted.at > FULL_COUNT_EVERY_MS) {
      this.#counted = { at: now, counts: this.#store.chunkCounts(), written };
    }
    const { counts } = this.#counted;
    return this.#statusOf({ chunks: counts.chunks, embedded: Math.min(counts.chunks, counts.embedded + written - this.#counted.written) });
  }

  #statusOf(counts: { chunks: number; embedded: number }): IndexStatus {
    const skipped = this.#store.skippedEmbeddings();
    const info = this.#embedder.info;
    // While the model loads after a restart, the vectors already stored still count.
    const space = this.#space.get();
    return {
      state: this.#state,
      chunks: counts.chunks,
      embedded: info || space ? counts.embedded : 0,
      embeddingModelId: info?.id ?? space?.modelId ?? null,
      embeddingModelName: info?.name ?? null,
      dimensions: this.#embedder.dimensions ?? space?.dimensions ?? null,
      skipped: skipped.count,
      skippedReason: skipped.reason,
      error: this.#error,
      paused: this.#paused,
      etaMs: this.#eta(counts.chunks - counts.embedded - skipped.count),
      rerankModelId: this.#reranker?.info?.id ?? null,
      rerankModelName: this.#reranker?.info?.name ?? null,
      questionCopy: this.#embedder.questionCopy,
    };
  }

  /** Tells the window the status again (after something it shows changed outside a pass). */
  announce(): void {
    this.#onStatus(this.status());
  }

  #eta(remaining: number): number | null {
    const pace = this.#pace;
    if (this.#state !== 'embedding' || !pace || pace.done === 0 || remaining <= 0) return null;
    return Math.round(((performance.now() - pace.since) / pace.done) * remaining);
  }

  /** Stops embedding after the batch in progress; keyword search goes on covering everything. */
  async pause(): Promise<IndexStatus> {
    this.#paused = true;
    await this.#running;
    this.#emit('idle');
    return this.status();
  }

  resume(): IndexStatus {
    this.#paused = false;
    void this.kick();
    return this.status();
  }

  /** True when chunks have vectors from the current model: search is hybrid (chunks still waiting for theirs are found by their words). */
  vectorsReady(): boolean {
    if (!this.#embedder.info) return false;
    return this.#store.hasEmbeddings();
  }

  #emit(state: IndexStatus['state']): void {
    this.#state = state;
    this.#onStatus(this.status());
  }

  /** Asks for a pass; passes never overlap, and one requested during a pass runs after it. */
  kick(): Promise<void> {
    if (this.#stopped) return Promise.resolve();
    if (this.#running) {
      this.#again = true;
      return this.#running;
    }
    this.#running = this.#pass().finally(() => {
      this.#running = null;
      if (this.#again && !this.#stopped) {
        this.#again = false;
        void this.kick();
      }
    });
    return this.#running;
  }

  async #pass(): Promise<void> {
    try {
      this.#error = null;
      const pending = this.#store.documentsToChunk();
      if (pending.length) this.#emit('chunking');
      for (const id of pending) {
        if (this.#stopped) return;
        await this.#chunkInSlices(id);
        await new Promise((r) => setImmediate(r)); // let the app breathe between documents
      }
      // Keyword postings for large scopes follow the chunks (until they do, FTS5 scores the rest).
      if (this.#store.postings.behind()) {
        if (this.#state === 'idle') this.#emit('chunking');
        await this.#store.postings.catchUp(() => new Promise((r) => setImmediate(r)), () => this.#stopped);
      }
      if (this.#embedder.info && !this.#paused) {
        let batch = this.#store.chunksToEmbed(BATCH);
        let lastStatus = 0;
        let written = 0;
        this.#counted = null;
        this.#pace = { since: performance.now(), done: 0 };
        if (batch.length) this.#emit('embedding');
        while (batch.length && !this.#stopped && !this.#paused) {
          const vectors = await this.#embedder.embedEach(batch.map((c) => c.text));
          // A chunk the model cannot take is recorded and skipped: it never stops the index. When
          // every chunk of a batch fails alike, the model itself is at fault: that stops the pass.
          const failed = vectors.filter((v) => v instanceof Error);
          if (batch.length > 1 && failed.length === batch.length) throw failed[0];
          batch.forEach((c, i) => {
            const v = vectors[i];
            if (v instanceof Error) this.#store.skipEmbedding(c.id, v.message);
          });
          this.#store.writeEmbeddings(batch.flatMap((c, i) => {
            const v = vectors[i];
            return v instanceof Error ? [] : [{ chunkId: c.id, embedding: v }];
          }));
          this.#pace.done += batch.length;
          written += batch.length - failed.length;
          const now = performance.now();
          if (now - lastStatus > 250) {
            lastStatus = now;
            this.#onStatus(this.#progressStatus(written));
          }
          batch = this.#store.chunksToEmbed(BATCH);
        }
        // A large library's vectors are grouped for search (the centroids learnt, the vectors moved).
        if (!this.#stopped && !this.#paused && this.#store.clusters.due()) {
          await this.#store.clusters.maintain(() => new Promise((r) => setImmediate(r)), () => this.#stopped || this.#paused);
        }
      }
      this.#pace = null;
      this.#emit('idle');
    } catch (e) {
      this.#pace = null;
      this.#error = (e as Error).message;
      this.#emit('idle');
    }
  }

  /**
   * Cuts a document into chunks CHUNK_SLICE_PAGES pages at a time, yielding between slices, so a
   * 10,000-page document never holds the main thread. A question that needs the document at once
   * (ensureChunked) chunks it whole; this pass then sees it done and stops.
   */
  async #chunkInSlices(documentId: string): Promise<void> {
    const last = this.#documents.lastPageNumber(documentId);
    for (let from = 1; ; from += CHUNK_SLICE_PAGES) {
      if (this.#stopped || !this.#store.needsChunking(documentId)) return;
      const to = from + CHUNK_SLICE_PAGES - 1;
      const chunks = this.#documents.pageRange(documentId, from, to).flatMap((p) => chunkPage(p.pageNumber, p.text));
      this.#store.writeChunkSlice(documentId, chunks, { first: from === 1, last: to >= last });
      if (to >= last) return;
      await new Promise((r) => setImmediate(r));
    }
  }

  #chunk(documentId: string): void {
    this.#store.writeChunks(documentId, this.#documents.pages(documentId).flatMap((p) => chunkPage(p.pageNumber, p.text)));
  }

  /** Cuts the given documents into passages now, if that has not been done yet (a question is waiting). */
  ensureChunked(documentIds: string[]): void {
    const pending = new Set(this.#store.documentsToChunk());
    for (const id of documentIds) if (pending.has(id)) this.#chunk(id);
  }

  /** Switches the embedding model; vectors of the old one are dropped and everything re-embeds. */
  async setEmbeddingModel(info: ModelInfo | null, threads: number, remote?: RemoteEmbeddings): Promise<IndexStatus> {
    this.#stopped = true;
    await this.#running;
    this.#stopped = false;
    if (info) {
      this.#emit('loading-model');
      try {
        const dims = await this.#embedder.load(info, threads, remote);
        // The 8-bit copy for questions is checked in the background: the window hears how it went.
        void this.#embedder.questionCopyReady.then(() => {
          if (!this.#shutDown) this.announce();
        });
        const previous = this.#space.get();
        // Vectors of two models (or dimensions) never mix: a different space starts empty.
        if (!previous || previous.modelId !== info.id || previous.dimensions !== dims) {
          this.#store.resetEmbeddings(dims);
          this.#space.set({ modelId: info.id, dimensions: dims });
        }
      } catch (e) {
        this.#error = (e as Error).message;
        this.#emit('idle');
        throw e;
      }
    } else {
      await this.#embedder.unload();
      this.#store.resetEmbeddings(null);
      this.#space.set(null);
    }
    void this.kick();
    return this.status();
  }

  async shutdown(): Promise<void> {
    this.#shutDown = true;
    this.#stopped = true;
    await this.#running;
    await this.#embedder.dispose();
  }
}
