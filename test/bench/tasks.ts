// Tasks: structured extraction throughput on a real model (documents per minute, and the share of
// the time spent outside the model: sentence ranking, checks, SQLite), tokens per second under a
// JSON grammar against free generation on the same model, and how soon a cancel stops a batch.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TaskRun } from '../../electron/contract/types.ts';
import { createEnclave, type Enclave } from '../../electron/core/app.ts';
import { documentSentences } from '../../electron/services/tasks/sentences.ts';
import { recordFieldSchema } from '../../electron/services/tasks/structured-output.ts';
import { granter, routerCaller, taskFinished } from '../support/router-call.ts';

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

export async function benchTasks(modelPath: string, documents: string[], threads: number): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'enclave-bench-tasks-'));
  const enclave = createEnclave({ dataDir: dir, mode: 'web', version: 'bench', settingsOverride: { threads, contextSize: 2048, gpu: 'off' } });
  const call = routerCaller(() => enclave);
  const grant = granter(() => enclave);
  try {
    const model = await call('models.add', { file: grant(modelPath) });
    await enclave.models.settled;
    await call('models.activate', { modelId: model.id });
    const ids: string[] = [];
    for (const path of documents) {
      const { document } = await call('documents.import', { file: grant(path) });
      await enclave.documents.whenIdle(document.id);
      ids.push(document.id);
    }

    // 1. The clause table over the documents.
    const started = performance.now();
    const run = await call('tasks.start', { packId: 'law', key: 'clause-table', scope: { documentIds: ids } });
    await taskFinished(enclave, run.id);
    const wallMs = performance.now() - started;
    const sums = enclave.db.prepare('SELECT SUM(duration_ms) AS total, SUM(model_ms) AS model FROM task_rows WHERE run_id = ?').get(run.id) as { total: number; model: number };
    const outside = (sums.total - sums.model) / sums.total;

    // 2. Tokens per second, from first token to last, on the same model and prompt: free text,
    //    JSON under a plain schema (a long string), and JSON under a clause-table field's schema
    //    (its quote an enum of the document's sentences: the grammar the tasks use).
    const sentences = documentSentences(ids.flatMap((id) => [1, 2].map((n) => ({ pageNumber: n, text: enclave.documents.page(id, n).text }))))
      .slice(0, 12)
      .map((u) => u.text);
    const generate = (prompt: string, jsonSchema?: Parameters<typeof enclave.engine.generate>[0]['jsonSchema']) =>
      enclave.engine.generate({
        conversationId: 'bench-grammar',
        systemPrompt: 'You extract facts from contracts.',
        turns: [{ role: 'user', text: prompt }],
        settings: { temperature: 0, topP: 1, maxTokens: 120 },
        signal: new AbortController().signal,
        onText: () => {},
        jsonSchema,
      });
    const story = 'Write a long account of what this kind of agreement usually covers.';
    const pick = `Sentences:\n${sentences.map((t, i) => `[${i + 1}] ${t}`).join('\n')}\n\nQuote the sentence that states the governing law, then the governing law.`;
    const rates = { free: [] as number[], plain: [] as number[], field: [] as number[], freePick: [] as number[] };
    const tokens = { free: [] as number[], plain: [] as number[], field: [] as number[], freePick: [] as number[] };
    const push = (k: keyof typeof rates, r: Awaited<ReturnType<typeof generate>>) => {
      if (r.tokensPerSecond) rates[k].push(r.tokensPerSecond);
      tokens[k].push(r.tokenCount);
    };
    for (let i = 0; i < 5; i++) {
      push('free', await generate(story));
      push('plain', await generate(story, { type: 'object', properties: { account: { type: 'string', minLength: 400, maxLength: 600 } } }));
      push('freePick', await generate(pick));
      push('field', await generate(pick, recordFieldSchema(sentences)));
    }

    // 3. Cancel: from the call to the run stopped, mid-document.
    const cancelRun = await call('tasks.start', { packId: 'law', key: 'clause-table', scope: { documentIds: ids } });
    await new Promise<void>((resolve) => {
      const off = enclave.events.subscribe((name, payload) => {
        if (name === 'tasks.changed' && (payload as TaskRun).currentDocument?.includes(' — Agreement date')) {
          off();
          resolve();
        }
      });
    });
    const stopped = taskFinished(enclave, cancelRun.id);
    const cancelAt = performance.now();
    await call('tasks.cancel', { runId: cancelRun.id });
    await stopped;
    const cancelMs = performance.now() - cancelAt;

    const name = (await call('tasks.get', { runId: run.id })).run.modelName;
    console.log(`\nTasks: clause table on ${name} (threads ${threads}, context 2048)`);
    console.log(`  ${ids.length} documents in ${(wallMs / 1000).toFixed(1)} s = ${((ids.length / wallMs) * 60_000).toFixed(2)} documents/min`);
    console.log(`  time outside the model: ${(outside * 100).toFixed(1)}% of the rows' time (target < 5%)`);
    const line = (label: string, k: keyof typeof rates, base: keyof typeof rates) =>
      console.log(`  ${label.padEnd(44)} ${median(rates[k]).toFixed(1)} tok/s (${median(tokens[k])} tokens) = ${((median(rates[k]) / median(rates[base])) * 100).toFixed(1)}% of free`);
    console.log('  tokens/s, first token to last (medians of 5; target ≥ 90% of free):');
    line('free text', 'free', 'free');
    line('JSON, plain schema (one long string)', 'plain', 'free');
    line('free answer to the field prompt', 'freePick', 'freePick');
    line('JSON, a clause field (quote: enum of 12)', 'field', 'freePick');
    console.log(`  cancel to stopped: ${cancelMs.toFixed(0)} ms`);
  } finally {
    await enclave.shutdown();
    rmSync(dir, { recursive: true, force: true });
  }
}
