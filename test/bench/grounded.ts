// Grounded conversations and the KV cache: first-token latency of turns 1–10 of a conversation
// answered from documents, against the same ten questions in plain chat, and against turn 10 on
// a sequence that must read the whole history again (what reuse saves). Real model and real
// contracts when ../shared has them.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { EventMap } from '../../electron/contract/types.ts';
import { createEnclave, type Enclave } from '../../electron/core/app.ts';
import { granter, routerCaller } from '../support/router-call.ts';

const QUESTIONS = [
  'Which law governs the agreement?',
  'Who are the parties to the agreement?',
  'When does the agreement take effect?',
  'Can a party assign the agreement?',
  'How can the agreement be terminated?',
  'What are the payment terms?',
  'Is there a cap on liability?',
  'What notice must be given to terminate?',
  'What happens after termination?',
  'Which courts have jurisdiction?',
];

async function firstToken(enclave: Enclave, conversationId: string, text: string): Promise<{ ms: number; read: number; prepareMs: number }> {
  const call = routerCaller(() => enclave);
  let first = 0;
  let reading = 0;
  const before = enclave.engine.tokenUsage(conversationId)?.input ?? 0;
  const sent = performance.now();
  const done = new Promise<void>((resolve) => {
    const off = enclave.events.subscribe((name, payload) => {
      const e = payload as EventMap['chat.done'];
      if (name === 'chat.delta' && (payload as EventMap['chat.delta']).conversationId === conversationId && first === 0) first = performance.now();
      if (name === 'chat.stage' && (payload as EventMap['chat.stage']).conversationId === conversationId && (payload as EventMap['chat.stage']).stage.kind === 'reading') reading = performance.now();
      if (name === 'chat.done' && e.conversationId === conversationId) {
        off();
        resolve();
      }
    });
  });
  await call('chat.send', { conversationId, text });
  await done;
  return { ms: first - sent, read: (enclave.engine.tokenUsage(conversationId)?.input ?? 0) - before, prepareMs: reading > 0 ? reading - sent : 0 };
}

export async function benchGrounded(chatModel: string, documents: string[], threads: number): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'enclave-bench-grounded-'));
  const enclave = createEnclave({ dataDir: dir, mode: 'web', version: 'bench', settingsOverride: { threads, contextSize: 4096, gpu: 'off', temperature: 0, maxTokens: 48 } });
  const call = routerCaller(() => enclave);
  const grant = granter(() => enclave);
  try {
    const model = await call('models.add', { file: grant(chatModel) });
    await call('models.activate', { modelId: model.id });
    const collection = await call('collections.create', { name: 'Bench' });
    for (const path of documents) {
      const { document } = await call('documents.import', { file: grant(path) });
      await enclave.documents.whenIdle(document.id);
      await call('collections.setMembership', { collectionId: collection.id, documentId: document.id, member: true });
    }
    await enclave.indexer.kick();

    const plain = (await call('conversations.create', {})).id;
    const grounded = (await call('conversations.create', {})).id;
    await call('conversations.setCollections', { conversationId: grounded, collectionIds: [collection.id] });
    const plainTurns: number[] = [];
    const groundedTurns: { ms: number; read: number; prepareMs: number }[] = [];
    // Interleaved, turn by turn, so background noise hits both alike.
    for (const q of QUESTIONS) {
      plainTurns.push((await firstToken(enclave, plain, q)).ms);
      groundedTurns.push(await firstToken(enclave, grounded, q));
    }
    // Turn 10 again on a conversation holding the same nine exchanges but no cached tokens.
    const fresh = (await call('conversations.create', {})).id;
    await call('conversations.setCollections', { conversationId: fresh, collectionIds: [collection.id] });
    for (const m of enclave.conversations.listMessages(grounded).slice(0, 18)) {
      enclave.conversations.appendMessage({ conversationId: fresh, role: m.role, content: m.content, status: 'complete' });
    }
    const noReuse = await firstToken(enclave, fresh, QUESTIONS[9]);

    const g = groundedTurns.map((t) => t.ms);
    console.log(`\nGrounded conversation, ${documents.length} documents, first-token latency (threads ${threads}, context 4096)`);
    console.log(`  grounded turns 1–10 (ms)     ${g.map((x) => x.toFixed(0)).join(', ')}`);
    console.log(`  tokens read per turn         ${groundedTurns.map((t) => t.read).join(', ')}`);
    console.log(`  plain chat turns 1–10 (ms)   ${plainTurns.map((x) => x.toFixed(0)).join(', ')}`);
    console.log(`  grounded turn 10 ÷ grounded turn 1: ${(g[9] / g[0]).toFixed(2)}×; ÷ plain turn 10: ${(g[9] / plainTurns[9]).toFixed(2)}× (the sources of the question are read each turn)`);
    console.log(`  grounded turn 10 with the history re-read (no cached tokens): ${noReuse.ms.toFixed(0)} ms, ${noReuse.read} tokens read = ${(noReuse.ms / g[9]).toFixed(2)}× the cached turn 10`);
    // What a grounded turn costs against a plain one: tokens read (the turn's sources and question)
    // and first-word latency, over the turns that asked the model (a plain refusal reads nothing).
    const asked = groundedTurns.map((t, i) => ({ ...t, plain: plainTurns[i] })).filter((t) => t.read > 0);
    const quantile = (xs: number[], q: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(q * xs.length))] ?? NaN;
    const ratios = asked.map((t) => t.ms / t.plain);
    console.log(`  tokens read per grounded turn: median ${quantile(asked.map((t) => t.read), 0.5)}, p95 ${quantile(asked.map((t) => t.read), 0.95)} (${asked.length} of 10 turns asked the model; the others were answered “the documents do not say”)`);
    console.log(`  grounded first word ÷ plain, per turn: median ${quantile(ratios, 0.5).toFixed(2)}×, max ${Math.max(...ratios).toFixed(2)}×`);
    console.log(`  of a grounded turn's wait, search and evidence before the model reads (ms): ${groundedTurns.map((t) => t.prepareMs.toFixed(0)).join(', ')}`);
  } finally {
    await enclave.shutdown();
    rmSync(dir, { recursive: true, force: true });
  }
}
