// Tasks: structured extraction throughput on a real model (documents per minute, and the share of
// the time spent outside the model: sentence ranking, checks, SQLite), tokens per second under a
// JSON grammar against free generation on the same model, and how soon a cancel stops a batch.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TaskRun } from '../../electron/contract/types.ts';
import { createEnclave, type Enclave } from '../../electron/core/app.ts';
import { listSchema } from '../../electron/services/tasks/structured-output.ts';
import { taskDefinitions } from '../../electron/services/tasks/task-service.ts';
import { builtinPacksDir, loadPacks } from '../../electron/services/assistants/packs.ts';
import { granter, routerCaller } from '../support/router-call.ts';

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

function whenDone(enclave: Enclave, runId: string): Promise<TaskRun> {
  return new Promise((resolve) => {
    const off = enclave.events.subscribe((name, payload) => {
      const run = payload as TaskRun;
      if (name === 'tasks.changed' && run.id === runId && run.status !== 'running') {
        off();
        resolve(run);
      }
    });
  });
}

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
    await whenDone(enclave, run.id);
    const wallMs = performance.now() - started;
    const sums = enclave.db.prepare('SELECT SUM(duration_ms) AS total, SUM(model_ms) AS model FROM task_rows WHERE run_id = ?').get(run.id) as { total: number; model: number };
    const outside = (sums.total - sums.model) / sums.total;

    // 2. Tokens per second: a list under its JSON grammar, and free text, from the same prompt.
    const medication = taskDefinitions(loadPacks(builtinPacksDir())).find((t) => t.key === 'medication-list')!;
    const options = [
      'Metformin 500 mg by mouth twice daily was continued.',
      'Lisinopril 10 mg orally once daily was started on admission.',
      'Aspirin 81 mg daily; atorvastatin 40 mg at night.',
      'Amoxicillin 500 mg three times daily for five days.',
    ];
    const prompt = `Sentences:\n${options.map((o, i) => `[${i + 1}] ${o}`).join('\n')}\n\nList every medication these sentences state.`;
    const generate = (jsonSchema?: Parameters<typeof enclave.engine.generate>[0]['jsonSchema']) =>
      enclave.engine.generate({
        conversationId: 'bench-grammar',
        systemPrompt: medication.instructions,
        turns: [{ role: 'user', text: prompt }],
        settings: { temperature: 0, topP: 1, maxTokens: 160 },
        signal: new AbortController().signal,
        onText: () => {},
        jsonSchema,
      });
    const grammarRates: number[] = [];
    const freeRates: number[] = [];
    const grammarTokens: number[] = [];
    const freeTokens: number[] = [];
    for (let i = 0; i < 5; i++) {
      const g = await generate(listSchema(medication.fields, options, 6));
      const f = await generate();
      if (g.tokensPerSecond) grammarRates.push(g.tokensPerSecond);
      if (f.tokensPerSecond) freeRates.push(f.tokensPerSecond);
      grammarTokens.push(g.tokenCount);
      freeTokens.push(f.tokenCount);
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
    const stopped = whenDone(enclave, cancelRun.id);
    const cancelAt = performance.now();
    await call('tasks.cancel', { runId: cancelRun.id });
    await stopped;
    const cancelMs = performance.now() - cancelAt;

    const name = (await call('tasks.get', { runId: run.id })).run.modelName;
    console.log(`\nTasks: clause table on ${name} (threads ${threads}, context 2048)`);
    console.log(`  ${ids.length} documents in ${(wallMs / 1000).toFixed(1)} s = ${((ids.length / wallMs) * 60_000).toFixed(2)} documents/min`);
    console.log(`  time outside the model: ${(outside * 100).toFixed(1)}% of the rows' time (target < 5%)`);
    const gr = median(grammarRates);
    const fr = median(freeRates);
    console.log(`  under the JSON grammar ${gr.toFixed(1)} tok/s (${median(grammarTokens)} tokens), free ${fr.toFixed(1)} tok/s (${median(freeTokens)} tokens) = ${((gr / fr) * 100).toFixed(1)}% (target ≥ 90%; medians of 5)`);
    console.log(`  cancel to stopped: ${cancelMs.toFixed(0)} ms`);
  } finally {
    await enclave.shutdown();
    rmSync(dir, { recursive: true, force: true });
  }
}
