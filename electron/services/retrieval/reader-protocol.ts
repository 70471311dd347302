// Messages between main and the retrieval reader thread.
import type { ChunkHit, SearchPart } from '../store/retrieval-store.ts';

export type ReaderRequest =
  | { id: number; method: 'bm25'; question: string; documentIds: string[]; limit: number; part?: SearchPart }
  | { id: number; method: 'vector'; query: Float32Array; documentIds: string[]; limit: number; part?: SearchPart };

export type ReaderResponse = { id: number; ok: true; hits: ChunkHit[] } | { id: number; ok: false; message: string };
