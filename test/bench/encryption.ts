// What encryption at rest costs (not a test): the same real documents read and searched with the
// library encrypted (the product) and plain, in one run. Reports pages/s of reading and p50/p95
// of keyword retrieval over the whole library, chat tokens/s with the real SmolLM2 (when
// ../shared has it), and their ratios (goal ≥ 0.95).
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { extname, join } from 'node:path';
import { createEnclave } from '../../electron/core/app.ts';
import { REAL_CORPUS, SMOLLM_MODEL } from '../fixtures/paths.ts';
import { ask } from '../support/router-call.ts';

function files(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const path = join(dir, e.name);
    if (e.isDirectory()) return files(path);
    return ['.pdf', '.xml', '.txt'].includes(extname(e.name)) ? [path] : [];
  });
}

const percentile = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * p))];

interface Figures {
  pagesPerSecond: number;
  p50: number;
  p95: number;
  chunks: number;
  /** Mean of the replies' tokens/s; null without the real chat model. */
  tokensPerSecond: number | null;
}

const CHAT_QUESTIONS = ['What should a tenant do before ending a lease?', 'Explain what a warranty is in two sentences.', 'List three things a clinic must keep confidential.', 'What is an indemnity clause?'];

async function measure(paths: string[], questions: string[] | null, key: Buffer | null): Promise<{ figures: Figures; questions: string[] }> {
  const dir = mkdtempSync(join(tmpdir(), 'enclave-bench-encryption-'));
  const enclave = createEnclave({ dataDir: join(dir, 'data'), mode: 'web', version: 'bench', key, settingsOverride: { threads: 1, maxTokens: 96 } });
  try {
    let pages = 0;
    const ids: string[] = [];
    const start = performance.now();
    for (const path of paths) {
      const { document } = await enclave.documents.import(path);
      await enclave.documents.whenIdle(document.id);
      const doc = enclave.documents.get(document.id);
      if (doc.status === 'ready') {
        pages += doc.pageCount;
        ids.push(doc.id);
      }
    }
    const seconds = (performance.now() - start) / 1000;
    // The keyword index is built as documents become ready; wait for the last of it.
    for (let i = 0; i < 6000 && enclave.indexer.status().state !== 'idle'; i++) await new Promise((r) => setTimeout(r, 50));
    const chunks = enclave.indexer.status().chunks;
    // Questions: five-word runs of the documents' own text (the same for both libraries).
    const asked =
      questions ??
      Array.from({ length: 300 }, (_, i) => {
        const id = ids[(i * 7919) % ids.length];
        const doc = enclave.documents.get(id);
        const text = enclave.documents.page(id, 1 + ((i * 31) % doc.pageCount)).text;
        const words = text.split(/\s+/).filter((w) => /^\p{L}{3,}$/u.test(w));
        const at = words.length > 5 ? (i * 131) % (words.length - 5) : 0;
        return words.slice(at, at + 5).join(' ') || 'agreement';
      });
    for (const q of asked.slice(0, 30)) await enclave.retriever.searchDocuments(q, ids, 6); // warm-up
    const times: number[] = [];
    for (const q of asked) {
      const t = performance.now();
      await enclave.retriever.searchDocuments(q, ids, 6);
      times.push(performance.now() - t);
    }
    // Chat: the same questions to the same model; every reply and its tokens are written to the library.
    let tokensPerSecond: number | null = null;
    if (existsSync(SMOLLM_MODEL)) {
      const model = await enclave.models.add(SMOLLM_MODEL);
      // The first model added becomes active by itself.
      await enclave.models.settled;
      if (enclave.engine.loadedModelId !== model.id) await enclave.models.activate(model.id);
      const speeds: number[] = [];
      const conversation = enclave.conversations.createConversation({ title: 'Bench' });
      for (const q of CHAT_QUESTIONS) {
        const reply = await ask(enclave, conversation.id, q);
        if (reply.tokensPerSecond) speeds.push(reply.tokensPerSecond);
      }
      tokensPerSecond = speeds.reduce((a, b) => a + b, 0) / Math.max(1, speeds.length);
    }
    return { figures: { pagesPerSecond: pages / seconds, p50: percentile(times, 0.5), p95: percentile(times, 0.95), chunks, tokensPerSecond }, questions: asked };
  } finally {
    await enclave.shutdown();
    rmSync(dir, { recursive: true, force: true });
  }
}

export async function benchEncryption(): Promise<void> {
  console.log('\nEncryption at rest: its cost');
  if (!existsSync(REAL_CORPUS)) {
    console.log('  (../shared/corpora not present: skipped)');
    return;
  }
  const paths = files(REAL_CORPUS);
  const plain = await measure(paths, null, null);
  const encrypted = await measure(paths, plain.questions, randomBytes(32));
  const row = (label: string, f: Figures) =>
    console.log(
      `  ${label.padEnd(10)} reading ${f.pagesPerSecond.toFixed(0)} pages/s; keyword retrieval over ${f.chunks.toLocaleString('en-US')} chunks p50 ${f.p50.toFixed(1)} ms, p95 ${f.p95.toFixed(1)} ms` +
        (f.tokensPerSecond === null ? '; chat: no real model in ../shared' : `; chat ${f.tokensPerSecond.toFixed(1)} tokens/s (SmolLM2-135M, 1 thread)`),
    );
  row('plain', plain.figures);
  row('encrypted', encrypted.figures);
  console.log(
    `  encrypted ÷ plain: reading speed ${(encrypted.figures.pagesPerSecond / plain.figures.pagesPerSecond).toFixed(2)}, ` +
      `retrieval speed at p50 ${(plain.figures.p50 / encrypted.figures.p50).toFixed(2)}, at p95 ${(plain.figures.p95 / encrypted.figures.p95).toFixed(2)}` +
      (plain.figures.tokensPerSecond && encrypted.figures.tokensPerSecond ? `, chat tokens/s ${(encrypted.figures.tokensPerSecond / plain.figures.tokensPerSecond).toFixed(2)}` : '') +
      ' (goal ≥ 0.95)',
  );
}
