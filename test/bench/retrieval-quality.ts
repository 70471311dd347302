// Retrieval quality on real documents with real labels: the CUAD contracts in ../shared/corpora
// and the lawyers' clause pages. Every labelled (contract, clause) pair becomes a question, asked
// as a person would (the same words for every contract), within that contract (as when a document
// is shared with a conversation). Page-level recall@5 and nDCG@10 for keyword, vector and hybrid
// retrieval, against plain FTS5 BM25 over whole pages on the same files; p50/p95 of each.
import { readdirSync, readFileSync } from 'node:fs';
import { readGgufFileInfo } from 'node-llama-cpp';
import { modelKind } from '../../electron/services/engine/gguf-inspector.ts';
import { RERANK_CANDIDATES } from '../../electron/services/retrieval/retriever.ts';
import { dirname, join } from 'node:path';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { createEnclave, type Enclave } from '../../electron/core/app.ts';
import { contentTermsQuery, RetrievalStore } from '../../electron/services/store/retrieval-store.ts';
import { QUESTIONS, type QaRow } from '../eval/grounded.ts';
import { granter, routerCaller } from '../support/router-call.ts';

/** A reranking model among the GGUF files of a folder, if any. */
async function findReranker(folder: string): Promise<string | null> {
  for (const name of readdirSync(folder).filter((f) => f.endsWith('.gguf')).sort()) {
    try {
      if (modelKind(await readGgufFileInfo(join(folder, name))) === 'reranker') return join(folder, name);
    } catch {
      // not a model this build reads: not a reranker either
    }
  }
  return null;
}

interface Question {
  documentId: string;
  text: string;
  pages: Set<number>;
}

const percentile = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
};

/** Distinct pages in rank order. */
function pagesOf(hits: number[]): number[] {
  return [...new Set(hits)];
}

function ndcg10(ranked: number[], relevant: Set<number>): number {
  let dcg = 0;
  ranked.slice(0, 10).forEach((p, i) => {
    if (relevant.has(p)) dcg += 1 / Math.log2(i + 2);
  });
  let ideal = 0;
  for (let i = 0; i < Math.min(10, relevant.size); i++) ideal += 1 / Math.log2(i + 2);
  return ideal === 0 ? 0 : dcg / ideal;
}

export interface QualityRow {
  method: string;
  recall5: number;
  recall10: number;
  ndcg10: number;
  p50: number;
  p95: number;
}

async function measure(method: string, questions: Question[], rank: (q: Question) => Promise<number[]> | number[]): Promise<QualityRow> {
  const times: number[] = [];
  let r5 = 0;
  let r10 = 0;
  let n = 0;
  for (const q of questions) {
    const t0 = performance.now();
    const pages = pagesOf(await rank(q));
    times.push(performance.now() - t0);
    if (pages.slice(0, 5).some((p) => q.pages.has(p))) r5++;
    if (pages.slice(0, 10).some((p) => q.pages.has(p))) r10++;
    n += ndcg10(pages, q.pages);
  }
  return { method, recall5: r5 / questions.length, recall10: r10 / questions.length, ndcg10: n / questions.length, p50: percentile(times, 50), p95: percentile(times, 95) };
}

/**
 * Copies the library's real chunks (their vectors and prefilter bits with them) under new documents
 * until it holds `target` chunks: real text only, each copy in one statement per table.
 */
function grow(enclave: Enclave, target: number): void {
  const db = enclave.db;
  const originals = db.prepare("SELECT id FROM documents WHERE id NOT LIKE 'copy-%'").pluck().all() as string[];
  const span = db.prepare("SELECT MIN(id) AS first, MAX(id) AS last, COUNT(*) AS n FROM chunks WHERE document_id NOT LIKE 'copy-%'").get() as { first: number; last: number; n: number };
  if (span.last - span.first + 1 !== span.n) throw new Error('the original chunks are not contiguous');
  let copy = (db.prepare("SELECT COUNT(*) FROM documents WHERE id LIKE 'copy-%'").pluck().get() as number) / originals.length;
  while ((db.prepare('SELECT COUNT(*) FROM chunks').pluck().get() as number) < target) {
    copy++;
    const prefix = `copy-${copy}-`;
    db.transaction(() => {
      const offset = (db.prepare('SELECT MAX(id) FROM chunks').pluck().get() as number) + 1 - span.first;
      db.prepare(
        `INSERT INTO documents (id, title, file_name, kind, source_path, size_bytes, sha256, paginated, page_count, status, created_at, updated_at, chunked)
         SELECT ? || id, title, file_name, kind, source_path, size_bytes, ? || sha256, paginated, page_count, status, created_at, updated_at, chunked
         FROM documents WHERE id IN (SELECT value FROM json_each(?))`,
      ).run(prefix, prefix, JSON.stringify(originals));
      db.prepare(
        `INSERT INTO chunks (id, document_id, page_number, char_start, char_end, text)
         SELECT id + ?, ? || document_id, page_number, char_start, char_end, text FROM chunks WHERE id BETWEEN ? AND ? ORDER BY id`,
      ).run(offset, prefix, span.first, span.last);
      db.prepare('INSERT INTO chunk_embeddings (chunk_id, embedding) SELECT chunk_id + ?, embedding FROM chunk_embeddings WHERE chunk_id BETWEEN ? AND ?').run(offset, span.first, span.last);
      // Copied into partition 0, as new vectors are before the library is grouped; the indexer's
      // pass groups them (and the copies) once the library is large enough, as in the app.
      db.prepare('INSERT INTO chunk_codes (cluster, chunk_id, code) SELECT 0, chunk_id + ?, vec_quantize_binary(embedding) FROM chunk_embeddings WHERE chunk_id BETWEEN ? AND ?').run(
        offset, span.first, span.last,
      );
      db.prepare('INSERT INTO chunk_clusters (chunk_id, generation) SELECT chunk_id + ?, 0 FROM chunk_embeddings WHERE chunk_id BETWEEN ? AND ?').run(offset, span.first, span.last);
    })();
  }
}

export async function benchRetrievalQuality(corpus: string, embeddingModel: string | null, threads: number, scales: number[] = [50_000, 1_000_000]): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'enclave-bench-quality-'));
  const enclave: Enclave = createEnclave({ dataDir: dir, mode: 'web', version: 'bench', settingsOverride: { threads, gpu: 'off' } });
  const call = routerCaller(() => enclave);
  const grant = granter(() => enclave);
  try {
    const rows = readFileSync(join(corpus, 'cuad_contracts', 'cuad_clause_qa.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as QaRow);
    const pdfs = [...new Set(rows.map((r) => r.doc_pdf))].sort();
    const ids = new Map<string, string>();
    const t0 = performance.now();
    for (const pdf of pdfs) {
      const { document } = await call('documents.import', { file: grant(join(corpus, pdf)) });
      await enclave.documents.whenIdle(document.id);
      ids.set(pdf, document.id);
    }
    enclave.indexer.ensureChunked([...ids.values()]);
    const pages = enclave.db.prepare('SELECT COUNT(*) FROM document_pages').pluck().get() as number;
    const chunks = enclave.db.prepare('SELECT COUNT(*) FROM chunks').pluck().get() as number;
    console.log(`\nRetrieval quality on CUAD: ${pdfs.length} contracts, ${pages} pages, ${chunks} chunks (read in ${((performance.now() - t0) / 1000).toFixed(0)} s)`);

    const byPair = new Map<string, QaRow[]>();
    for (const r of rows) if (r.pdf_page !== null) byPair.set(`${r.doc_pdf}|${r.category}`, [...(byPair.get(`${r.doc_pdf}|${r.category}`) ?? []), r]);
    // Two phrasings of each labelled (contract, clause) pair: a person's short question, and the
    // CUAD annotators' own question (15–40 words; its templated "Highlight the parts…" ones left out).
    const short: Question[] = [];
    const long: Question[] = [];
    for (const list of byPair.values()) {
      const base = { documentId: ids.get(list[0].doc_pdf)!, pages: new Set(list.map((r) => r.pdf_page!)) };
      if (QUESTIONS[list[0].category]) short.push({ ...base, text: QUESTIONS[list[0].category] });
      if (!list[0].question.startsWith('Highlight')) long.push({ ...base, text: list[0].question });
    }
    const pageOf = enclave.db.prepare('SELECT page_number FROM chunks WHERE id = ?').pluck();
    const chunkPages = (hits: { chunkId: number }[]) => hits.map((h) => pageOf.get(h.chunkId) as number);
    // The baseline: plain FTS5 BM25 over whole pages (the pages table's own index), same terms.
    const pageBm25 = enclave.db.prepare(
      `SELECT p.page_number FROM document_pages_fts f JOIN document_pages p ON p.rowid = f.rowid
       WHERE document_pages_fts MATCH ? AND p.document_id = ? ORDER BY bm25(document_pages_fts) LIMIT 10`,
    ).pluck();
    const methods: [string, (q: Question) => Promise<number[]> | number[]][] = [
      ['FTS5 BM25 over whole pages (baseline)', (q) => {
        const query = contentTermsQuery(q.text);
        return query ? (pageBm25.all(query, q.documentId) as number[]) : [];
      }],
      ['keyword (chunks)', (q) => chunkPages(enclave.retrieval.bm25(q.text, [q.documentId], 30))],
    ];
    if (embeddingModel) {
      const model = await call('models.add', { file: grant(embeddingModel) });
      await enclave.models.settled;
      const e0 = performance.now();
      await call('models.setEmbedding', { modelId: model.id });
      for (;;) {
        const s = await call('retrieval.status', {});
        if (s.state === 'idle' && s.embedded + s.skipped >= s.chunks) break;
        await new Promise((r) => setTimeout(r, 500));
      }
      const seconds = (performance.now() - e0) / 1000;
      console.log(`  embedded ${chunks} chunks in ${seconds.toFixed(0)} s (${(chunks / seconds).toFixed(1)} chunks/s, ${threads} threads, through the app's indexer)`);
      // Questions go to the model's 8-bit copy where it agrees and is faster (embedder.ts): checked
      // in the background after the load; both ways of embedding the question are ranked here.
      await enclave.embedder.questionCopyReady;
      const copy = enclave.embedder.questionCopy;
      console.log(
        copy
          ? `  questions: ${copy.used ? '' : 'not '}by an 8-bit copy of the model (vectors agree to ${copy.agreement.toFixed(5)}; a 48-token question ${copy.modelMs.toFixed(1)} ms by the model, ${copy.copyMs.toFixed(1)} ms by the copy)`
          : '  questions: by the model itself (no 8-bit copy: its weights are 8-bit or smaller already)',
      );
      methods.push(['vector (embedding model)', async (q) => chunkPages(enclave.retrieval.vector(await enclave.embedder.embedQuestion(q.text), [q.documentId], 30))]);
      if (copy?.used) {
        methods.push(['vector, question by the model itself, not its 8-bit copy (timed on the indexing context)', async (q) => chunkPages(enclave.retrieval.vector((await enclave.embedder.embed([q.text]))[0], [q.documentId], 30))]);
      }
      methods.push(['hybrid (app: keyword + vector, RRF)', async (q) => (await enclave.retriever.searchDocuments(q.text, [q.documentId], 30, undefined, { rerank: false })).passages.map((p) => p.pageNumber)]);
      // Reranked: a reranking GGUF from the models folder when there is one (none ships there now).
      const reranker = await findReranker(dirname(embeddingModel));
      if (reranker) {
        const model = await call('models.add', { file: grant(reranker) });
        await enclave.models.settled;
        await call('models.setReranker', { modelId: model.id });
        methods.push([`hybrid, reranked by ${model.name} (best ${RERANK_CANDIDATES})`, async (q) => (await enclave.retriever.searchDocuments(q.text, [q.documentId], 30)).passages.map((p) => p.pageNumber)]);
      } else {
        console.log(`  reranked: not measured, no reranking model (a GGUF with rank pooling) in ${dirname(embeddingModel)}`);
      }
    }
    const tables: [string, QualityRow[]][] = [];
    for (const [label, set] of [[`${short.length} short questions in a person's words (${Object.keys(QUESTIONS).length} clause kinds)`, short], [`${long.length} long questions in CUAD's own words (15–40 words)`, long]] as const) {
      const results: QualityRow[] = [];
      for (const [name, rank] of methods) results.push(await measure(name, set, rank));
      tables.push([label, results]);
    }
    // Scale: the real chunks (and their vectors) copied under new documents up to `scale` chunks,
    // real text only; short and long questions over the whole library (the largest scope) and
    // within one contract.
    const scaleRows: string[] = [];
    const sample = [...short.slice(0, 100), ...long.slice(0, 100)];
    for (const target of scales) {
      const g0 = performance.now();
      grow(enclave, target);
      const n = enclave.db.prepare('SELECT COUNT(*) FROM chunks').pluck().get() as number;
      const everything = enclave.db.prepare("SELECT id FROM documents WHERE status = 'ready'").pluck().all() as string[];
      const grown = (performance.now() - g0) / 1000;
      // The indexer's pass brings the keyword postings up to the new chunks and groups the vectors
      // into partitions once the library is large enough, as it does in the app.
      const p0 = performance.now();
      await enclave.indexer.kick();
      if (enclave.retrieval.postings.behind()) throw new Error('the keyword postings did not catch up');
      if (embeddingModel && enclave.retrieval.clusters.due()) throw new Error('the vector partitions are not up to date');
      const partitions = enclave.db.prepare('SELECT COUNT(*) FROM vector_centroids').pluck().get() as number;
      console.log(
        `  grown to ${n.toLocaleString('en')} chunks in ${grown.toFixed(0)} s; the indexer's pass (keyword postings${partitions ? `, vectors grouped in ${partitions} partitions` : ''}) took ${((performance.now() - p0) / 1000).toFixed(0)} s`,
      );
      const time = async (f: (q: Question) => unknown) => {
        // Steady state: a first pass over some questions reads the pages into memory and the word counts into the caches.
        for (const q of sample.slice(0, 20)) await f(q);
        const ts: number[] = [];
        for (const q of sample) {
          const t = performance.now();
          await f(q);
          ts.push(performance.now() - t);
        }
        return `${percentile(ts, 50).toFixed(1)} / ${percentile(ts, 95).toFixed(1)}`;
      };
      // As the app searches: on the search threads (a large scope shared between them).
      const kwAll = await time((q) => enclave.searchReader.bm25(q.text, everything, 30));
      const kwOne = await time((q) => enclave.searchReader.bm25(q.text, [q.documentId], 30));
      let vecAll = '—';
      let hyAll = '—';
      let hyOne = '—';
      let vecRecall = '—';
      if (embeddingModel) {
        // How much of an exact search over every vector the app's vector search finds (its top 30
        // against the exact top 30; by similarity, as the copies of a chunk tie).
        const exact = new RetrievalStore(enclave.db);
        exact.exactVectorUpTo = Number.POSITIVE_INFINITY;
        let found = 0;
        let wanted = 0;
        for (const q of sample.filter((_, i) => i % 8 === 0)) {
          const v = await enclave.embedder.embedQuestion(q.text);
          const truth = exact.vector(v, everything, 30);
          const floor = (truth[truth.length - 1]?.score ?? 0) - 1e-6;
          found += (await enclave.searchReader.vector(v, everything, 30)).filter((h) => h.score >= floor).length;
          wanted += truth.length;
        }
        vecRecall = `${((found / wanted) * 100).toFixed(1)}%`;
        vecAll = await time(async (q) => enclave.searchReader.vector(await enclave.embedder.embedQuestion(q.text), everything, 30));
        hyAll = await time((q) => enclave.retriever.searchDocuments(q.text, everything, 6, undefined, { rerank: false }));
        hyOne = await time((q) => enclave.retriever.searchDocuments(q.text, [q.documentId], 6, undefined, { rerank: false }));
      }
      scaleRows.push(`| ${n.toLocaleString('en')} | ${kwAll} | ${kwOne} | ${vecAll} | ${vecRecall} | ${hyAll} | ${hyOne} |`);
    }
    for (const [label, results] of tables) {
      console.log(`\n  ${label}, each within its contract; page-level figures\n`);
      console.log('| method | recall@5 | recall@10 | nDCG@10 | p50 ms | p95 ms |\n|---|---|---|---|---|---|');
      for (const r of results) console.log(`| ${r.method} | ${(r.recall5 * 100).toFixed(1)}% | ${(r.recall10 * 100).toFixed(1)}% | ${r.ndcg10.toFixed(3)} | ${r.p50.toFixed(1)} | ${r.p95.toFixed(1)} |`);
    }
    if (scaleRows.length) {
      console.log(`\n  Latency at scale (real chunks repeated; ${sample.length} questions, half short, half long; p50 / p95 ms; vector and hybrid include embedding the question):\n`);
      console.log('| chunks | keyword, whole library | keyword, one contract | vector, whole library | vector: share of the exact top 30 found | hybrid, whole library | hybrid, one contract |\n|---|---|---|---|---|---|---|');
      for (const r of scaleRows) console.log(r);
    }
  } finally {
    await enclave.shutdown();
    rmSync(dir, { recursive: true, force: true });
  }
}
