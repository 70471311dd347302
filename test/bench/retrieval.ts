// Indexing figures for `npm run bench` (retrieval latency and quality are measured on real
// contracts, at 50k and 1M real chunks, in retrieval-quality.ts):
//  - embedding throughput (chunks/s) through the app's indexer against raw node-llama-cpp on
//    the same model and texts.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { getLlama, LlamaLogLevel } from 'node-llama-cpp';
import { createEnclave } from '../../electron/core/app.ts';

const WORDS = ['lease', 'tenant', 'landlord', 'notice', 'rent', 'deposit', 'clause', 'party', 'patient', 'dose', 'claim', 'policy'];

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
  console.log('\nIndexing throughput');
  await embeddingThroughput(embeddingModelPath, threads, realTexts);
}
