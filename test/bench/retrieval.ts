// Retrieval figures for `npm run bench`:
//  - latency (median, p95) of BM25, vector and hybrid search at 10k and 100k chunks, over one
//    collection holding everything (the largest scope), with 384-dimension vectors as typical
//    small embedding models produce; the query's own embedding is not included (see below);
//  - embedding throughput (chunks/s) through the app's indexer against raw node-llama-cpp on
//    the same model and texts.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { getLlama, LlamaLogLevel } from 'node-llama-cpp';
import { createEnclave } from '../../electron/core/app.ts';
import { reciprocalRankFusion } from '../../electron/services/retrieval/retriever.ts';

const DIMS = 384;
// A long-tail vocabulary, as real text has: word i is drawn with probability ~ 1/(i+1) (Zipf).
const VOCABULARY = Array.from({ length: 5000 }, (_, i) => `w${i.toString(36)}${'abcdefghij'[i % 10]}`);
const ZIPF = (() => {
  const weights = VOCABULARY.map((_, i) => 1 / (i + 1));
  const total = weights.reduce((a, b) => a + b, 0);
  let acc = 0;
  return weights.map((w) => (acc += w / total));
})();
function zipfWord(r: number): string {
  let lo = 0;
  let hi = ZIPF.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (ZIPF[mid] < r) lo = mid + 1;
    else hi = mid;
  }
  return VOCABULARY[lo];
}
const WORDS = ['lease', 'tenant', 'landlord', 'notice', 'rent', 'deposit', 'clause', 'party', 'patient', 'dose', 'claim', 'policy'];

function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), a | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function percentile(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
}

async function latency(chunks: number): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'enclave-bench-rag-'));
  const enclave = createEnclave({ dataDir: dir, mode: 'web', version: 'bench' });
  const rand = seeded(chunks);
  try {
    const db = enclave.db;
    const store = enclave.retrieval;
    store.resetEmbeddings(DIMS);
    const collection = store.createCollection('Everything');
    const docs = 1000;
    db.transaction(() => {
      const insertDoc = db.prepare(
        `INSERT INTO documents (id, title, file_name, kind, source_path, size_bytes, sha256, paginated, page_count, status, created_at, updated_at, chunked)
         VALUES (?, ?, ?, 'pdf', '', 1, ?, 1, 1, 'ready', 0, 0, 1)`,
      );
      for (let d = 0; d < docs; d++) {
        insertDoc.run(`d${d}`, `Document ${d}`, `d${d}.pdf`, `s${d}`);
        store.setMembership(collection.id, `d${d}`, true);
      }
    })();
    const batch: { chunkId: number; embedding: Float32Array }[] = [];
    const insertChunk = db.prepare('INSERT INTO chunks (document_id, page_number, char_start, char_end, text) VALUES (?, ?, 0, ?, ?)');
    db.transaction(() => {
      for (let i = 0; i < chunks; i++) {
        const words = Array.from({ length: 150 }, () => zipfWord(rand())).join(' ');
        const info = insertChunk.run(`d${i % docs}`, 1 + Math.floor(i / docs), words.length, words);
        const v = new Float32Array(DIMS);
        for (let j = 0; j < DIMS; j++) v[j] = rand() - 0.5;
        batch.push({ chunkId: Number(info.lastInsertRowid), embedding: v });
      }
    })();
    for (let i = 0; i < batch.length; i += 5000) store.writeEmbeddings(batch.slice(i, i + 5000));

    const documentIds = store.documentsIn([collection.id]);
    const times = { bm25: [] as number[], vector: [] as number[], hybrid: [] as number[] };
    for (let q = 0; q < 40; q++) {
      // A question mixes common words with rarer ones, as people's questions do.
      const question = `what does the ${zipfWord(rand() * 0.5)} say about ${zipfWord(0.5 + rand() * 0.5)} and ${zipfWord(0.5 + rand() * 0.5)} ${zipfWord(rand())}`;
      const query = new Float32Array(DIMS).map(() => rand() - 0.5);
      let t = performance.now();
      const keyword = store.bm25(question, store.documentsIn([collection.id]), 50);
      times.bm25.push(performance.now() - t);
      t = performance.now();
      const vector = store.vector(query, store.documentsIn([collection.id]), 30);
      times.vector.push(performance.now() - t);
      t = performance.now();
      const ids = store.documentsIn([collection.id]);
      const fused = reciprocalRankFusion([store.bm25(question, ids, 50), store.vector(query, ids, 30)]); // as the Retriever does
      store.chunks(fused.slice(0, 6).map((h) => h.chunkId));
      times.hybrid.push(performance.now() - t);
      void keyword;
      void vector;
    }
    void documentIds;
    const fmt = (xs: number[]) => `median ${percentile(xs, 50).toFixed(1)} ms, p95 ${percentile(xs, 95).toFixed(1)} ms`;
    console.log(`  ${chunks.toLocaleString('en')} chunks   BM25 ${fmt(times.bm25)} | vector ${fmt(times.vector)} | hybrid ${fmt(times.hybrid)}${chunks > 20_000 ? ' (vector: binary prefilter + exact rescoring)' : ' (vector: exact)'}`);
  } finally {
    await enclave.shutdown();
    rmSync(dir, { recursive: true, force: true });
  }
}

async function embeddingThroughput(modelPath: string, threads: number, realTexts: string[] | null): Promise<void> {
  const texts = realTexts ?? Array.from({ length: 200 }, (_, i) => `Passage ${i}: the ${WORDS[i % WORDS.length]} clause says the ${WORDS[(i * 5) % WORDS.length]} is due within ${i % 60} days of notice.`);
  // Raw node-llama-cpp, each text cut to what the context takes (as the app must).
  const llama = await getLlama({ gpu: false, build: 'never', logLevel: LlamaLogLevel.error });
  const model = await llama.loadModel({ modelPath, gpuLayers: 0 });
  const contextSize = Math.min(model.trainContextSize || 512, 2048);
  const context = await model.createEmbeddingContext({ contextSize, threads });
  const fit = (text: string) => {
    const tokens = model.tokenize(text);
    const room = contextSize - 1 - (context.calculateInputLength(tokens.slice(0, 1)) - 1);
    return tokens.slice(0, room);
  };
  let t = performance.now();
  for (const text of texts) await context.getEmbeddingFor(fit(text));
  const raw = texts.length / ((performance.now() - t) / 1000);
  await context.dispose();
  await model.dispose();

  // The app: the indexer embeds stored chunks through the embedder and writes them to SQLite.
  const dir = mkdtempSync(join(tmpdir(), 'enclave-bench-emb-'));
  const enclave = createEnclave({ dataDir: dir, mode: 'web', version: 'bench', settingsOverride: { threads } });
  try {
    const db = enclave.db;
    db.prepare(`INSERT INTO documents (id, title, file_name, kind, source_path, size_bytes, sha256, paginated, page_count, status, created_at, updated_at, chunked)
                VALUES ('doc', 'Doc', 'doc.txt', 'text', '', 1, 'x', 1, 1, 'ready', 0, 0, 1)`).run();
    const insert = db.prepare("INSERT INTO chunks (document_id, page_number, char_start, char_end, text) VALUES ('doc', 1, 0, ?, ?)");
    db.transaction(() => texts.forEach((text) => insert.run(text.length, text)))();
    const info = await enclave.models.add(modelPath);
    t = performance.now();
    await enclave.indexer.setEmbeddingModel(info, threads);
    await enclave.indexer.kick();
    const loadAndEmbed = performance.now() - t;
    const status = enclave.indexer.status();
    if (status.embedded !== texts.length) throw new Error(`embedded ${status.embedded} of ${texts.length}`);
    // Re-run the embedding alone (model already loaded): drop the vectors and embed again.
    enclave.retrieval.resetEmbeddings(status.dimensions);
    t = performance.now();
    await enclave.indexer.kick();
    const app = texts.length / ((performance.now() - t) / 1000);
    console.log(`  embedding ${texts.length} ${realTexts ? 'real contract' : 'synthetic'} chunks with ${basename(modelPath)}: raw node-llama-cpp ${raw.toFixed(0)} chunks/s; Enclave indexer ${app.toFixed(0)} chunks/s = ${((app / raw) * 100).toFixed(0)}% of raw (target ≥ 90%); first run with model load ${loadAndEmbed.toFixed(0)} ms`);
  } finally {
    await enclave.shutdown();
    rmSync(dir, { recursive: true, force: true });
    await llama.dispose();
  }
}

export async function benchRetrieval(embeddingModelPath: string, threads: number, realTexts: string[] | null = null): Promise<void> {
  console.log('\nRetrieval (40 queries each; target p95 < 50 ms at 100k chunks)');
  await latency(10_000);
  await latency(100_000);
  await embeddingThroughput(embeddingModelPath, threads, realTexts);
}
