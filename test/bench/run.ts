// npm run bench: figures from one run, on the same model and settings, as ratios.
//  1. Tokens/s of a reply streamed through the whole stack (service → router → WebSocket →
//     client) next to raw node-llama-cpp (LlamaChat in this process), each from request to last token.
//  2. Time to first token of turn 1 versus turn 10 of one conversation (KV-cache reuse).
// Uses a real model from ../shared/models when present, and the seeded fixture model always.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { getLlama, LlamaChat, LlamaLogLevel, type ChatHistoryItem } from 'node-llama-cpp';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { chunkPage } from '../../electron/services/retrieval/chunker.ts';
import { writeContracts, writeCorpus } from '../fixtures/documents.ts';
import { EMBEDDING_MODEL, ENDLESS_MODEL, generateFixtures, GROUNDED_MODEL, TASK_MODEL, MINILM_MODEL, REAL_CORPUS, SMOLLM_MODEL, STORIES_MODEL, storiesModelPresent } from '../fixtures/paths.ts';
import { benchGrounded } from './grounded.ts';
import { startWebServer, until } from '../support/web-server.ts';
import { WireClient } from '../support/ws-client.ts';
import { benchDocuments } from './documents.ts';
import { benchReading } from './reading.ts';
import { benchEncryption } from './encryption.ts';
import { benchRetrieval } from './retrieval.ts';
import { benchRetrievalQuality } from './retrieval-quality.ts';
import { benchTasks } from './tasks.ts';
import { benchOfficeServer } from './office-server.ts';

const THREADS = 1;
const CONTEXT = 2048;
const REPLY_TOKENS = 400;
const ROUNDS = 9;
const PROMPT = 'Once upon a time';

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

/** Raw node-llama-cpp: the same call the engine makes, with nothing around it. */
async function openRaw(modelPath: string) {
  const llama = await getLlama({ gpu: false, build: 'never', logLevel: LlamaLogLevel.error });
  const model = await llama.loadModel({ modelPath, gpuLayers: 0 });
  const context = await model.createContext({ contextSize: CONTEXT, threads: THREADS, sequences: 2 });
  return {
    async round(): Promise<number> {
      const sequence = context.getSequence();
      const chat = new LlamaChat({ contextSequence: sequence });
      const history: ChatHistoryItem[] = [{ type: 'user', text: PROMPT }, { type: 'model', response: [] }];
      let tokens = 0;
      const start = performance.now();
      await chat.generateResponse(history, {
        maxTokens: REPLY_TOKENS,
        temperature: 0.7,
        topP: 0.9,
        onToken: (t) => {
          tokens += t.length;
        },
        onTextChunk: () => {},
      });
      // Request to last token, as the stack is measured: prompt reading included on both sides.
      const rate = tokens / ((performance.now() - start) / 1000);
      chat.dispose();
      sequence.dispose();
      return rate;
    },
    async close() {
      await context.dispose();
      await model.dispose();
      await llama.dispose();
    },
  };
}

const turnText = (i: number) => `Question ${i}: and what happened next?`;

/**
 * Raw first-token latency over ten turns: with the KV cache reused (as the app does), and turn 10
 * on a fresh sequence that must read the whole history again (what reuse saves).
 */
async function rawTurns(modelPath: string): Promise<{ reuse: number[]; turn10Fresh: number }> {
  const llama = await getLlama({ gpu: false, build: 'never', logLevel: LlamaLogLevel.error });
  const model = await llama.loadModel({ modelPath, gpuLayers: 0 });
  const context = await model.createContext({ contextSize: CONTEXT, threads: THREADS, sequences: 2 });
  const sequence = context.getSequence();
  const chat = new LlamaChat({ contextSequence: sequence });
  let clean: ChatHistoryItem[] = [];
  let contextWindow: ChatHistoryItem[] | null = null;
  const reuse: number[] = [];
  for (let i = 1; i <= 10; i++) {
    const turn: ChatHistoryItem[] = [{ type: 'user', text: turnText(i) }, { type: 'model', response: [] }];
    const start = performance.now();
    let first = 0;
    const r: { lastEvaluation: { cleanHistory: ChatHistoryItem[]; contextWindow: ChatHistoryItem[] } } = await chat.generateResponse([...clean, ...turn], {
      maxTokens: 48,
      temperature: 0.7,
      topP: 0.9,
      lastEvaluationContextWindow: contextWindow ? { history: [...contextWindow, ...turn] } : undefined,
      onTextChunk: () => {
        if (!first) first = performance.now();
      },
    });
    reuse.push(first - start);
    clean = r.lastEvaluation.cleanHistory;
    contextWindow = r.lastEvaluation.contextWindow;
  }
  // The same tenth turn on an empty sequence: the whole history is evaluated before the first token.
  const freshSequence = context.getSequence();
  const freshChat = new LlamaChat({ contextSequence: freshSequence });
  const history = [...clean.slice(0, -2)];
  const start = performance.now();
  let first = 0;
  await freshChat.generateResponse([...history, { type: 'user', text: turnText(10) }, { type: 'model', response: [] }], {
    maxTokens: 48,
    onTextChunk: () => {
      if (!first) first = performance.now();
    },
  });
  const turn10Fresh = first - start;
  await context.dispose();
  await model.dispose();
  await llama.dispose();
  return { reuse, turn10Fresh };
}

interface StackFigures {
  rates: number[];
  rawRates: number[];
  /** The same replies timed inside the engine (generate() start to end), for where any gap lies. */
  engineRates: number[];
  ttft: number[];
}

/** The whole stack: the browser-mode server process, measured at a WebSocket client. */
async function stackFigures(modelPath: string, raw: { round(): Promise<number> }): Promise<StackFigures> {
  const dataDir = mkdtempSync(join(tmpdir(), 'enclave-bench-'));
  const server = await startWebServer(['--data-dir', dataDir, '--threads', String(THREADS), '--context-size', String(CONTEXT), '--model', modelPath]);
  try {
    const client = await WireClient.connect(server.origin, server.token);
    await until(async () => (await client.call('engine.status', {})).state === 'ready', 60_000, 'model ready');
    await client.call('settings.update', { maxTokens: REPLY_TOKENS, temperature: 0.7, topP: 0.9, gpu: 'off' });
    await until(async () => (await client.call('engine.status', {})).state === 'ready', 60_000, 'model ready');

    const turn = async (conversationId: string, text: string) => {
      let firstDelta = 0;
      const sent = performance.now();
      const offDelta = client.on('chat.delta', () => {
        if (firstDelta === 0) firstDelta = performance.now();
      });
      const done = new Promise<{ tokenCount: number; durationMs: number }>((resolve) => {
        const off = client.on('chat.done', (e) => {
          if (e.conversationId !== conversationId) return;
          off();
          resolve({ tokenCount: e.message.tokenCount ?? 0, durationMs: e.message.durationMs ?? 0 });
        });
      });
      await client.call('chat.send', { conversationId, text });
      const { tokenCount, durationMs } = await done;
      const end = performance.now();
      offDelta();
      return { ttftMs: firstDelta - sent, rate: tokenCount / ((end - sent) / 1000), engineRate: tokenCount / (durationMs / 1000) };
    };

    const rates: number[] = [];
    const engineRates: number[] = [];
    const rawRates: number[] = [];
    // Raw and stack take turns, reply by reply, so background noise hits both alike.
    for (let i = 0; i < ROUNDS; i++) {
      rawRates.push(await raw.round());
      const c = await client.call('conversations.create', {});
      const t = await turn(c.id, PROMPT);
      rates.push(t.rate);
      engineRates.push(t.engineRate);
    }
    // Ten turns of one conversation with short replies: the first-token latency of each.
    await client.call('settings.update', { maxTokens: 48 });
    const c = await client.call('conversations.create', {});
    const ttft: number[] = [];
    for (let i = 1; i <= 10; i++) ttft.push((await turn(c.id, turnText(i))).ttftMs);
    client.close();
    return { rates, rawRates, engineRates, ttft };
  } finally {
    await server.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

async function benchModel(label: string, path: string): Promise<void> {
  const raw = await openRaw(path);
  const stack = await stackFigures(path, raw);
  await raw.close();
  const turns = await rawTurns(path);
  const rawMedian = median(stack.rawRates);
  const stackMedian = median(stack.rates);
  const ms = (xs: number[]) => xs.map((t) => t.toFixed(1)).join(', ');
  console.log(`\n${label}  (threads ${THREADS}, context ${CONTEXT}, ${REPLY_TOKENS}-token replies, medians of ${ROUNDS} rounds)`);
  console.log(`  raw node-llama-cpp        ${rawMedian.toFixed(1)} tok/s`);
  console.log(`  whole stack (WebSocket)   ${stackMedian.toFixed(1)} tok/s   = ${((stackMedian / rawMedian) * 100).toFixed(1)}% of raw (target ≥ 95%)`);
  console.log(`    of which inside engine  ${median(stack.engineRates).toFixed(1)} tok/s   = ${((median(stack.engineRates) / rawMedian) * 100).toFixed(1)}% of raw`);
  const [t1, t10] = [stack.ttft[0], stack.ttft[9]];
  const [r1, r10] = [turns.reuse[0], turns.reuse[9]];
  console.log(`  first token, whole stack  turn 1 ${t1.toFixed(1)} ms, turn 10 ${t10.toFixed(1)} ms = ${(t10 / t1).toFixed(2)}× (target ≤ 1.5×)`);
  console.log(`  first token, raw          turn 1 ${r1.toFixed(1)} ms, turn 10 ${r10.toFixed(1)} ms = ${(r10 / r1).toFixed(2)}×`);
  console.log(`  raw turn 10 without KV reuse (whole history re-read): ${turns.turn10Fresh.toFixed(1)} ms`);
  console.log(`  stack turns 1–10 (ms)     ${ms(stack.ttft)}`);
  console.log(`  raw turns 1–10 (ms)       ${ms(turns.reuse)}`);
}

generateFixtures();
await benchModel('Seeded fixture model (endless-chat.gguf)', ENDLESS_MODEL);
if (storiesModelPresent()) await benchModel('stories260K.gguf (../shared/models)', STORIES_MODEL);
else console.log('\n(stories260K.gguf not found beside the repo: only the fixture model was measured)');
await benchDocuments(storiesModelPresent() ? STORIES_MODEL : ENDLESS_MODEL, THREADS);
await benchReading();
await benchEncryption();
await benchOfficeServer();
// Real embedding model on real contract text when ../shared has them.
const realShared = existsSync(MINILM_MODEL) && existsSync(SMOLLM_MODEL) && existsSync(REAL_CORPUS);
const contractTexts = realShared
  ? readdirSync(join(REAL_CORPUS, 'cuad_contracts', 'txt'))
      .sort()
      .slice(0, 6)
      .flatMap((f) => chunkPage(1, readFileSync(join(REAL_CORPUS, 'cuad_contracts', 'txt', f), 'utf8')).map((c) => c.text))
      .slice(0, 200)
  : null;
await benchRetrieval(realShared ? MINILM_MODEL : storiesModelPresent() ? STORIES_MODEL : EMBEDDING_MODEL, THREADS, contractTexts);
// Ranking on real contracts with lawyers' page labels, and latency at 50k real chunks.
if (realShared) await benchRetrievalQuality(REAL_CORPUS, MINILM_MODEL, 2);
else console.log('\n(retrieval quality needs ../shared/corpora and all-MiniLM-L6-v2: not measured)');
if (realShared) {
  const pdfs = readdirSync(join(REAL_CORPUS, 'cuad_contracts', 'pdf')).sort().slice(0, 2).map((f) => join(REAL_CORPUS, 'cuad_contracts', 'pdf', f));
  await benchGrounded(SMOLLM_MODEL, pdfs, THREADS);
} else {
  const corpus = await writeCorpus(mkdtempSync(join(tmpdir(), 'enclave-bench-corpus-')));
  await benchGrounded(GROUNDED_MODEL, Object.values(corpus), THREADS);
}
if (realShared) {
  const pdfs = readdirSync(join(REAL_CORPUS, 'cuad_contracts', 'pdf')).sort().slice(0, 3).map((f) => join(REAL_CORPUS, 'cuad_contracts', 'pdf', f));
  await benchTasks(SMOLLM_MODEL, pdfs, THREADS);
} else {
  await benchTasks(TASK_MODEL, await writeContracts(mkdtempSync(join(tmpdir(), 'enclave-bench-contracts-')), 6), THREADS);
}
