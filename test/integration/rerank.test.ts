// Reranking with a reranking model the user adds: node-llama-cpp's ranking context reads the
// question with each of the best candidates and search puts them in its order. The model here is
// a real GGUF cross-encoder (qwen3 layout, rank pooling) with seeded weights: its scores are real,
// their quality is not the point.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { getLlama, LlamaLogLevel } from 'node-llama-cpp';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { EventMap } from '../../electron/contract/types.ts';
import { createEnclave, type Enclave } from '../../electron/core/app.ts';
import { RERANK_CANDIDATES } from '../../electron/services/retrieval/retriever.ts';
import { CORPUS, CORPUS_QUESTIONS } from '../fixtures/corpus.ts';
import { writeCorpus } from '../fixtures/documents.ts';
import { EMBEDDING_MODEL, ENDLESS_MODEL, GROUNDED_MODEL, RERANK_MODEL } from '../fixtures/paths.ts';
import { ask, granter, routerCaller } from '../support/router-call.ts';
import { until } from '../support/web-server.ts';

let dir: string;
let enclave: Enclave;
let allId: string;
let rerankerId: string;
let conversationId: string;
let rerankedAnswerId: string;
const call = routerCaller(() => enclave);
const grant = granter(() => enclave);

function open(): Enclave {
  return createEnclave({ dataDir: join(dir, 'data'), mode: 'web', version: 'test', settingsOverride: { threads: 1, contextSize: 2048, gpu: 'off' } });
}

async function indexed(): Promise<void> {
  await until(async () => {
    const s = await call('retrieval.status', {});
    return s.state === 'idle' && s.chunks > 0 && (!s.embeddingModelId || s.embedded === s.chunks);
  }, 60_000, 'the index');
}

/** The reranking model's own scores for these texts, from a ranking context of its own. */
async function ownScores(question: string, texts: string[]): Promise<number[]> {
  const llama = await getLlama({ gpu: false, build: 'never', logLevel: LlamaLogLevel.error });
  const model = await llama.loadModel({ modelPath: RERANK_MODEL, gpuLayers: 0 });
  try {
    const context = await model.createRankingContext({ threads: 1, contextSize: 1024 });
    return await context.rankAll(question, texts);
  } finally {
    await model.dispose();
  }
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'enclave-rerank-'));
  enclave = open();
  const paths = await writeCorpus(join(dir, 'corpus'));
  allId = (await call('collections.create', { name: 'Everything' })).id;
  for (const doc of CORPUS) {
    const { document } = await call('documents.import', { file: grant(paths[doc.key]) });
    await enclave.documents.whenIdle(document.id);
    await call('collections.setMembership', { collectionId: allId, documentId: document.id, member: true });
  }
  const embedding = await call('models.add', { file: grant(EMBEDDING_MODEL) });
  await call('models.setEmbedding', { modelId: embedding.id });
  await indexed();
});

afterAll(async () => {
  await enclave.shutdown();
  rmSync(dir, { recursive: true, force: true });
});

describe('reranking', () => {
  it('a reranking GGUF is recognised as one, and only such a model can be used for reranking', async () => {
    const model = await call('models.add', { file: grant(RERANK_MODEL) });
    await enclave.models.settled;
    rerankerId = model.id;
    expect(model.kind).toBe('reranker');
    const chat = await call('models.add', { file: grant(ENDLESS_MODEL) });
    await expect(call('models.setReranker', { modelId: chat.id })).rejects.toThrow(/not a reranking model/);
    const library = await call('models.list', {});
    const embedding = library.models.find((m) => m.kind === 'embedding')!;
    await expect(call('models.setReranker', { modelId: embedding.id })).rejects.toThrow(/not a reranking model/);
    expect((await call('retrieval.status', {})).rerankModelId).toBeNull();
    // Nothing was reranked before a reranking model was chosen.
    const plain = await enclave.retriever.search(CORPUS_QUESTIONS[0].question, [allId], 6);
    expect(plain.reranked).toBe(false);
  });

  it('with a reranking model, the best candidates come in the order of its scores', async () => {
    const status = await call('models.setReranker', { modelId: rerankerId });
    expect(status).toMatchObject({ rerankModelId: rerankerId, rerankModelName: 'Tiny Reranker' });
    let changed = 0;
    for (const q of CORPUS_QUESTIONS.slice(0, 6)) {
      // The candidates the reranker reads: the fused ranking's best RERANK_CANDIDATES.
      const fused = await enclave.retriever.search(q.question, [allId], RERANK_CANDIDATES, undefined, { rerank: false });
      const reranked = await enclave.retriever.search(q.question, [allId], 6);
      expect(fused).toMatchObject({ reranked: false, rerankedBy: null, rerankFailed: false });
      expect(reranked).toMatchObject({ reranked: true, rerankedBy: 'Tiny Reranker', rerankFailed: false });
      expect(reranked.passages.length).toBe(Math.min(6, fused.passages.length));
      // Exactly the top of the candidates by the model's own scores, best first.
      const scores = await ownScores(q.question, fused.passages.map((p) => p.text));
      const byScore = fused.passages.map((p, i) => ({ id: p.id, score: scores[i] })).sort((a, b) => b.score - a.score);
      expect(reranked.passages.map((p) => p.id)).toEqual(byScore.slice(0, 6).map((p) => p.id));
      if (reranked.passages.map((p) => p.id).join() !== fused.passages.slice(0, 6).map((p) => p.id).join()) changed++;
    }
    // The model's order is not the fused one: reranking did something.
    expect(changed).toBeGreaterThan(0);
  });

  it('stopped while reranking: the fused order, not marked as reranked', async () => {
    const q = CORPUS_QUESTIONS[2].question;
    const fused = await enclave.retriever.search(q, [allId], 6, undefined, { rerank: false });
    const stop = new AbortController();
    stop.abort();
    const stopped = await enclave.retriever.search(q, [allId], 6, undefined, { signal: stop.signal });
    expect(stopped).toMatchObject({ reranked: false, rerankedBy: null, rerankFailed: false });
    expect(stopped.passages.map((p) => p.id)).toEqual(fused.passages.map((p) => p.id));
  });

  it('an answer from documents keeps how its passages were found: by keywords and meaning, reranked by the model', async () => {
    await call('models.activate', { modelId: (await call('models.add', { file: grant(GROUNDED_MODEL) })).id });
    conversationId = (await call('conversations.create', {})).id;
    await call('conversations.setCollections', { conversationId, collectionIds: [allId] });
    // Before its first words, the reply says what it is doing: searching, reranking, reading.
    const seen: string[] = [];
    const off = enclave.events.subscribe((name, payload) => {
      if (name === 'chat.stage') seen.push(JSON.stringify((payload as EventMap['chat.stage']).stage));
      if (name === 'chat.delta' && seen.at(-1) !== 'words') seen.push('words');
    });
    // (Not "… the lease?": a question that names a document is searched in that document alone.)
    const reply = await ask(enclave, conversationId, 'What is the notice period for terminating?');
    off();
    expect(reply.grounding).not.toBeNull();
    const candidates = JSON.parse(seen[1]).passages as number;
    expect(candidates).toBeGreaterThan(6);
    expect(candidates).toBeLessThanOrEqual(RERANK_CANDIDATES);
    expect(reply.grounding!.search).toEqual({ mode: 'hybrid', rerankedBy: 'Tiny Reranker', rerankFailed: false });
    const [, retrieved] = (await call('audit.list', { limit: 2 })).entries;
    expect(retrieved.action).toBe('passages.retrieved');
    const given = (retrieved.details.passages as unknown[]).length;
    expect(given).toBeGreaterThan(0);
    expect(seen).toEqual([
      JSON.stringify({ kind: 'searching' }),
      JSON.stringify({ kind: 'reranking', model: 'Tiny Reranker', passages: candidates }),
      // The passages given to the model, as the audit trail lists them.
      JSON.stringify({ kind: 'reading', passages: given }),
      'words',
    ]);
    expect(retrieved.details.search).toEqual({ mode: 'hybrid', rerankedBy: 'Tiny Reranker', rerankFailed: false });
    rerankedAnswerId = reply.id;
    // The reranking model fails on one search: that answer says so, in the fused order.
    const failing = vi.spyOn(enclave.reranker, 'score').mockRejectedValueOnce(new Error('the model crashed'));
    try {
      const unranked = await ask(enclave, conversationId, 'Who are the parties, the landlord and the tenant?');
      expect(failing).toHaveBeenCalledTimes(1);
      expect(unranked.grounding!.search).toEqual({ mode: 'hybrid', rerankedBy: null, rerankFailed: true });
    } finally {
      failing.mockRestore();
    }
  });

  it('the choice survives a restart; removing the model stops reranking', async () => {
    await enclave.shutdown();
    enclave = open();
    // As the app does at start: the models last used are loaded again.
    const restored = enclave.restoreActiveModel();
    await until(async () => (await call('retrieval.status', {})).rerankModelId === rerankerId, 30_000, 'the reranker after restart');
    await indexed();
    expect((await enclave.retriever.search(CORPUS_QUESTIONS[1].question, [allId], 6)).reranked).toBe(true);
    await call('models.remove', { modelId: rerankerId });
    expect((await call('retrieval.status', {})).rerankModelId).toBeNull();
    expect((await enclave.retriever.search(CORPUS_QUESTIONS[1].question, [allId], 6)).reranked).toBe(false);
    await restored;
    // A new answer says it was not reranked; the earlier one still says it was (it was, then).
    const reply = await ask(enclave, conversationId, 'Who are the parties, the landlord and the tenant?');
    expect(reply.grounding!.search).toEqual({ mode: 'hybrid', rerankedBy: null, rerankFailed: false });
    const earlier = (await call('conversations.get', { conversationId })).messages.find((m) => m.id === rerankedAnswerId)!;
    expect(earlier.grounding!.search).toEqual({ mode: 'hybrid', rerankedBy: 'Tiny Reranker', rerankFailed: false });
  });
});
