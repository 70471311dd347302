// Hybrid retrieval: BM25 (FTS5) and vector search, fused by reciprocal rank (k = 60, as
// GPT4All's LocalDocs does), always within the conversation's collections.
import type { ChunkHit, RetrievalStore, StoredChunk } from '../store/retrieval-store.ts';
import type { Embedder } from './embedder.ts';
import { mainThreadReader, type SearchReader } from './retrieval-reader.ts';

export const RRF_K = 60;
/** A vector match this similar counts as relevant even with no shared words. */
export const VECTOR_RELEVANCE = 0.6;

export function reciprocalRankFusion(lists: ChunkHit[][], k = RRF_K): ChunkHit[] {
  const scores = new Map<number, number>();
  for (const list of lists) list.forEach((hit, rank) => scores.set(hit.chunkId, (scores.get(hit.chunkId) ?? 0) + 1 / (k + rank + 1)));
  return [...scores.entries()].map(([chunkId, score]) => ({ chunkId, score })).sort((a, b) => b.score - a.score || a.chunkId - b.chunkId);
}

export interface RetrievalResult {
  passages: StoredChunk[];
  /** False when nothing matched well enough to answer from. */
  relevant: boolean;
  mode: 'hybrid' | 'keyword';
}

export class Retriever {
  readonly #store: RetrievalStore;
  readonly #embedder: Embedder;
  readonly #vectorsReady: () => boolean;
  readonly #reader: SearchReader;

  constructor(deps: { store: RetrievalStore; embedder: Embedder; vectorsReady: () => boolean; reader?: SearchReader }) {
    this.#store = deps.store;
    this.#embedder = deps.embedder;
    this.#vectorsReady = deps.vectorsReady;
    this.#reader = deps.reader ?? mainThreadReader(deps.store);
  }

  search(question: string, collectionIds: string[], k = 6, depth = 50): Promise<RetrievalResult> {
    return this.searchDocuments(question, this.#store.documentsIn(collectionIds), k, depth);
  }

  /** The `k` best passages within the given documents (a collection's, or one shared document). */
  async searchDocuments(question: string, documentIds: string[], k = 6, depth = 50): Promise<RetrievalResult> {
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
    return { passages: this.#store.chunks(fused.slice(0, k).map((h) => h.chunkId)), relevant, mode: useVectors ? 'hybrid' : 'keyword' };
  }
}
