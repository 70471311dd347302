// npm run eval: Enclave with the real models in ../shared/models on the real documents in
// ../shared/corpora. Prints figures from one run; not a test (a fresh clone without ../shared
// prints what is missing and exits 0).
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createEnclave } from '../../electron/core/app.ts';
import { REPO_ROOT } from '../fixtures/paths.ts';
import { ask, granter, routerCaller } from '../support/router-call.ts';
import { pickQuestions, report, type Scored } from './grounded.ts';
import { evalAssistants } from './assistants.ts';
import { evalSummaries } from './summaries.ts';
import { evalTasks } from './tasks.ts';
import { evalModels } from './models.ts';
import { evalEvidence, readContracts } from './evidence.ts';
import { startLlamaServer, type RunningLlamaServer } from '../support/llama-server.ts';

const SHARED = resolve(REPO_ROOT, '..', 'shared');
const CHAT_MODEL = join(SHARED, 'models', 'SmolLM2-135M-Instruct.Q4_1.gguf');
const EMBEDDING_MODEL = join(SHARED, 'models', 'all-MiniLM-L6-v2-f16.gguf');
const CORPUS = join(SHARED, 'corpora', 'clinic_law_docs');

const args = process.argv.slice(2);
const flag = (name: string, fallback: number) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : fallback;
};
const DOCS = flag('docs', 6);
const PER_DOC = flag('per-doc', 6);
const THREADS = flag('threads', 2);
const CONTEXT = flag('context', 2048);
const verbose = args.includes('--verbose');
const only = args.includes('--only') ? args[args.indexOf('--only') + 1] : null;
/** Answers by llama-server (built from node-llama-cpp's bundled llama.cpp) with the same model, as an office server. */
const officeServer = args.includes('--office-server');

async function main(): Promise<void> {
  for (const [what, path] of [['chat model', CHAT_MODEL], ['embedding model', EMBEDDING_MODEL], ['corpus', CORPUS]]) {
    if (!existsSync(path)) {
      console.log(`npm run eval needs the ${what} at ${path}; it is not here, so there is nothing to evaluate.`);
      return;
    }
  }
  // --data-dir DIR keeps the library between runs (the evidence figures need all 55 contracts read and embedded once).
  const keep = args.includes('--data-dir') ? resolve(args[args.indexOf('--data-dir') + 1]) : null;
  const dir = keep ?? mkdtempSync(join(tmpdir(), 'enclave-eval-'));
  const enclave = createEnclave({ dataDir: join(dir, 'data'), mode: 'web', version: 'eval', settingsOverride: { threads: THREADS, contextSize: CONTEXT, gpu: 'off', temperature: 0, maxTokens: 200 } });
  const call = routerCaller(() => enclave);
  const grant = granter(() => enclave);
  let server: RunningLlamaServer | null = null;
  try {
    if (only === 'models') {
      const i = args.indexOf('--second');
      await evalModels(enclave, CORPUS, CHAT_MODEL, EMBEDDING_MODEL, i >= 0 ? resolve(args[i + 1]) : null, flag('docs', 3), flag('per-doc', 5));
      return;
    }
    if (only === 'evidence') {
      const ids = await readContracts(enclave, CORPUS, EMBEDDING_MODEL);
      console.log(await evalEvidence(enclave, CORPUS, ids, { verbose, limit: args.includes('--limit') ? flag('limit', 0) : undefined }));
      return;
    }
    const chat = await call('models.add', { file: grant(CHAT_MODEL) });
    const embedding = await call('models.add', { file: grant(EMBEDDING_MODEL) });
    await call('models.activate', { modelId: chat.id });
    if (only === 'tasks') {
      await evalTasks(enclave, CORPUS, DOCS, flag('skip', 0), verbose);
      return;
    }
    const t0 = performance.now();
    await call('models.setEmbedding', { modelId: embedding.id });

    const questions = pickQuestions(CORPUS, DOCS, PER_DOC);
    const pdfs = [...new Set(questions.map((q) => q.docPdf))];
    const collection = await call('collections.create', { name: 'Contracts' });
    const ids = new Map<string, string>();
    for (const pdf of pdfs) {
      const { document } = await call('documents.import', { file: grant(join(CORPUS, pdf)) });
      await enclave.documents.whenIdle(document.id);
      ids.set(pdf, document.id);
      await call('collections.setMembership', { collectionId: collection.id, documentId: document.id, member: true });
    }
    for (;;) {
      const s = await call('retrieval.status', {});
      if (s.state === 'idle' && s.chunks > 0 && s.embedded + s.skipped >= s.chunks) {
        console.log(`Indexed ${pdfs.length} contracts: ${s.chunks} passages, ${s.embedded} embedded with all-MiniLM-L6-v2, ${s.skipped} skipped${s.skippedReason ? ` (${s.skippedReason})` : ''}, in ${((performance.now() - t0) / 1000).toFixed(1)} s${s.error ? `; error: ${s.error}` : ''}.`);
        break;
      }
      await new Promise((r) => setTimeout(r, 200));
    }

    if (officeServer) {
      server = await startLlamaServer({ model: CHAT_MODEL, port: 18_650, args: ['--alias', 'smollm2', '-c', String(CONTEXT), '-t', String(THREADS)] });
      await call('backend.set', { kind: 'server', baseUrl: server.url, apiKey: null, model: 'smollm2', embeddingModel: null });
      console.log(`Answers by llama-server at ${server.url} (SmolLM2, context ${CONTEXT}); search by meaning stays on this computer.`);
    }
    if (!only || only === 'grounded') {
      const results: Scored[] = [];
      const started = performance.now();
      const modes = args.includes('--mode') ? [args[args.indexOf('--mode') + 1] as 'collection' | 'shared'] : (['collection', 'shared'] as const);
      for (const mode of modes) {
        for (const q of questions) {
          const documentId = ids.get(q.docPdf)!;
          const conversation = await call('conversations.create', {});
          if (mode === 'collection') await call('conversations.setCollections', { conversationId: conversation.id, collectionIds: [collection.id] });
          else await call('conversations.attachDocument', { conversationId: conversation.id, documentId });
          const scope = mode === 'collection' ? [...ids.values()] : [documentId];
          const retrieved = await enclave.retriever.searchDocuments(q.question, scope, 5);
          const recall5 = retrieved.relevant && retrieved.passages.some((p) => p.documentId === documentId && q.pages.includes(p.pageNumber));
          const message = await ask(enclave, conversation.id, q.question);
          results.push({ question: q, mode, message, recall5 });
          if (verbose || results.length <= 4 || results.length % 10 === 0) {
            const g = message.grounding;
            const marks = g
              ? g.sentences.map((s) => `    ${s.support === 'verified' ? `✓[${s.source}]` : s.support === 'refusal' ? '∅' : s.support === 'question' ? '?' : '✗'} ${message.content.slice(s.start, s.end).replace(/\s+/g, ' ').slice(0, 160)}`).join('\n')
              : `    (no grounding) ${message.content.slice(0, 200)}`;
            const sources = message.sources.map((s) => `    [${s.number}] p.${s.pageNumber}${g?.evidence.includes(s.number) ? ' (the documents say)' : ''}: “${(s.quote ?? '').replace(/\s+/g, ' ').slice(0, 140)}”`).join('\n');
            console.log(`\n[${mode}] ${q.category}: ${q.question}\n  label p.${q.pages.join(',') || '—'}: ${q.labels[0]?.replace(/\s+/g, ' ').slice(0, 120) ?? '(none)'}\n${marks}\n${sources}`);
          }
        }
      }
      const pageText = (documentId: string, page: number) => enclave.documents.page(documentId, page).text;
      console.log(`\n## Grounded answers: SmolLM2-135M-Instruct (Q4_1)${officeServer ? ' through llama-server' : ''} + all-MiniLM-L6-v2, context ${CONTEXT}, ${THREADS} threads, temperature 0 (${((performance.now() - started) / 1000).toFixed(0)} s)`);
      console.log(report(results, (pdf) => ids.get(pdf)!, pageText));
    }
    if (!only || only === 'summaries') await evalSummaries(enclave, [...ids.values()].slice(0, 3));
    if (!only || only === 'assistants') await evalAssistants(enclave, CORPUS);
    if (!only) await evalTasks(enclave, CORPUS, DOCS, 0, verbose);
  } finally {
    await enclave.shutdown();
    await server?.kill();
    if (!keep) rmSync(dir, { recursive: true, force: true });
  }
}

await main();
