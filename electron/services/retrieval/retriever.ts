// Hybrid retrieval: BM25 (FTS5) and vector search, fused by reciprocal rank (k = 60, as
// GPT4All's LocalDocs does), always within the conversation's collections.
import type { ChunkHit, RetrievalStore, StoredChunk } from '../store/retrieval-store.ts';
import type { Embedder } from './embedder.ts';
import type { Reranker } from './reranker.ts';
import { mainThreadReader, type SearchReader } from './retrieval-reader.ts';

export const RRF_K = 60;
/** A vector match this similar counts as relevant even with no shared words. */
export const VECTOR_RELEVANCE = 0.6;

export function reciprocalRankFusion(lists: ChunkHit[][], k = RRF_K): ChunkHit[] {
  const scores = new Map<number, number>();
  for (const list of lists) list.forEach((hit, rank) => scores.set(hit.chunkId, (scores.get(hit.chunkId) ?? 0) + 1 / (k + rank + 1)));
  return [...scores.entries()].map(([chunkId, score]) => ({ chunkId, score })).sort((a, b) => b.score - a.score || a.chunkId - b.chunkId);
}

/** Candidates a reranking model reads, at least: the fused ranking's best. */
export const RERANK_CANDIDATES = 20;

export interface RetrievalResult {
  passages: StoredChunk[];
  /** False when nothing matched well enough to answer from. */
  relevant: boolean;
  mode: 'hybrid' | 'keyword';
  /** True when a reranking model put the passages in its order. */
  reranked: boolean;
  /** The reranking model that ordered them (its name), when reranked. */
  rerankedBy: string | null;
  /** A reranking model was in use but failed on this search: the fused order, said so. */
  rerankFailed: boolean;
}

export interface SearchOptions {
  /** False: the fused ranking as it is, even with a reranking model (benchmarks, tests). */
  rerank?: boolean;
  /** Stops reranking between passages: the fused order is returned, not reranked (and not failed). */
  signal?: AbortSignal;
  /** Told when the reranking model starts reading the candidates (it can take a while on a CPU). */
  onRerank?: (model: string, passages: number) => void;
}

export class Retriever {
  readonly #store: RetrievalStore;
  readonly #embedder: Embedder;
  readonly #vectorsReady: () => boolean;
  readonly #reader: SearchReader;
  readonly #reranker: Reranker | null;

  constructor(deps: { store: RetrievalStore; embedder: Embedder; vectorsReady: () => boolean; reader?: SearchReader; reranker?: Reranker }) {
    this.#reranker = deps.reranker ?? null;
    this.#store = deps.store;
    this.#embedder = deps.embedder;
    this.#vectorsReady = deps.vectorsReady;
    this.#reader = deps.reader ?? mainThreadReader(deps.store);
  }

  search(question: string, collectionIds: string[], k = 6, depth = 50, options: SearchOptions = {}): Promise<RetrievalResult> {
    return this.searchDocuments(question, this.#store.documentsIn(collectionIds), k, depth, options);
  }

  /** The `k` best passages within the given documents (a collection's, or one shared document). */
  async searchDocuments(question: string, documentIds: string[], k = 6, depth = 50, options: SearchOptions = {}): Promise<RetrievalResult> {
    const useVectors = this.#vectorsReady() && this.#embedder.dimensions !== null && documentIds.length > 0;
    // The keyword search runs on the reader thread while the question is embedded.
    const keywordSearch = this.#reader.bm25(question, documentIds, depth);
    let vector: ChunkHit[] = [];
    if (useVectors) {
      const q = await this.#embedder.embedQuestion(question);
      // Fewer vector candidates than keyword ones: the binary prefilter's cost grows with them.
      vector = await this.#reader.vector(q, documentIds, Math.min(depth, 30));
    }
    const keyword = await keywordSearch;
    const fused = useVectors ? reciprocalRankFusion([keyword, vector]) : keyword;
    const relevant = keyword.length > 0 || (vector[0]?.score ?? 0) >= VECTOR_RELEVANCE;
    const mode = useVectors ? 'hybrid' : 'keyword';
    const rerankWith = options.rerank !== false && fused.length > 1 ? this.#reranker?.info : null;
    let rerankFailed = false;
    if (rerankWith) {
      const candidates = this.#store.chunks(fused.slice(0, Math.max(k, RERANK_CANDIDATES)).map((h) => h.chunkId));
      options.onRerank?.(rerankWith.name, candidates.length);
      try {
        const { scores, model } = await this.#reranker!.score(question, candidates.map((c) => c.text), options.signal);
        // Best score first; a tie keeps the fused order.
        const order = candidates.map((c, i) => ({ c, i, s: scores[i] })).sort((a, b) => b.s - a.s || a.i - b.i);
        // Named after the model that gave the scores (another may have been chosen meanwhile).
        return { passages: order.slice(0, k).map((o) => o.c), relevant, mode, reranked: true, rerankedBy: model.name, rerankFailed: false };
      } catch (e) {
        // The reranking model went away or failed: the fused order, said so. Stopped: the answer
        // is stopped too, and its passages were simply not reranked.
        if (!options.signal?.aborted) {
          console.warn(`[search] reranking failed: ${(e as Error).message}`);
          rerankFailed = true;
        }
      }
    }
    const passages = this.#store.chunks(fused.slice(0, k).map((h) => h.chunkId));
    return { passages, relevant, mode, reranked: false, rerankedBy: null, rerankFailed };
  }
}
