// Comparing models on an assistant's own questions, through the router, with real GGUF models
// (the seeded fixtures: one that answers with citations, one that never stops talking), a real
// SQLite file and the chat's real answer path (retrieval, citation check).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Sqlite as BetterSqlite3 } from '../../electron/services/store/db.ts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EvalRun } from '../../electron/contract/types.ts';
import { createEnclave, type Enclave } from '../../electron/core/app.ts';
import { CORPUS } from '../fixtures/corpus.ts';
import { writeContracts, writeCorpus } from '../fixtures/documents.ts';
import { ENDLESS_MODEL, GROUNDED_MODEL, TASK_MODEL } from '../fixtures/paths.ts';
import { granter, routerCaller, taskFinished } from '../support/router-call.ts';

let dir: string;
let enclave: Enclave;
const call = routerCaller(() => enclave);
const grant = granter(() => enclave);
let assistantId: string;
let grounded: string;
let endless: string;

const open = () => createEnclave({ dataDir: join(dir, 'data'), mode: 'web', version: 'test', settingsOverride: { threads: 1, contextSize: 2048, gpu: 'off', maxTokens: 40 } });

function finished(runId: string): Promise<EvalRun> {
  return new Promise((resolve) => {
    const off = enclave.events.subscribe((name, payload) => {
      const run = payload as EvalRun;
      if (name === 'evals.changed' && run.id === runId && run.status !== 'running') {
        off();
        resolve(run);
      }
    });
  });
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'enclave-evals-'));
  enclave = open();
  const paths = await writeCorpus(join(dir, 'corpus'));
  const lease = CORPUS.find((d) => d.key === 'lease')!;
  const { document } = await call('documents.import', { file: grant(paths[lease.key]) });
  await enclave.documents.whenIdle(document.id);
  const collection = await call('collections.create', { name: 'Leases' });
  await call('collections.setMembership', { collectionId: collection.id, documentId: document.id, member: true });
  grounded = (await call('models.add', { file: grant(GROUNDED_MODEL) })).id;
  endless = (await call('models.add', { file: grant(ENDLESS_MODEL) })).id;
  await enclave.models.settled;
  // The model in use before any run (a run ends on another, and must give this one back).
  await call('models.activate', { modelId: grounded });
  const assistant = await call('assistants.create', {
    fields: {
      name: 'Lease desk', description: '', color: '#2f7d6d', domain: 'law', systemPrompt: 'Answer from the lease.', temperature: null, topP: null, maxTokens: null,
      answerOnlyFromDocuments: true, collectionIds: [collection.id], summaryKinds: [],
    },
  });
  assistantId = assistant.id;
}, 120_000);

afterAll(async () => {
  await enclave.shutdown();
  rmSync(dir, { recursive: true, force: true });
});

describe('an evaluation set', () => {
  it('is typed in or imported from CSV; bad files are refused and add nothing', async () => {
    await call('evals.addQuestion', { assistantId, fields: { question: 'What is the notice period for terminating the lease?', expected: 'thirty days', pages: [3], shouldRefuse: false } });
    await expect(call('evals.importCsv', { assistantId, text: 'expected\nDelaware\n' })).rejects.toMatchObject({ code: 'eval/bad-csv' });
    const { added, questions } = await call('evals.importCsv', {
      assistantId,
      text: 'question,expected,pages,should_refuse\nHow much is the monthly rent?,1450,2,no\nXylophone quantum zebra?,,,yes\n',
    });
    expect(added).toBe(2);
    expect(questions.map((q) => [q.question, q.expected, q.pages, q.shouldRefuse])).toEqual([
      ['What is the notice period for terminating the lease?', 'thirty days', [3], false],
      ['How much is the monthly rent?', '1450', [2], false],
      ['Xylophone quantum zebra?', '', [], true],
    ]);
    await expect(call('evals.addQuestion', { assistantId, fields: { question: '   ', expected: '', pages: [], shouldRefuse: false } })).rejects.toMatchObject({ code: 'ipc/invalid-input' });
  });
});

describe('comparing models', () => {
  it('refuses the same model twice, and a model not in the library', async () => {
    await expect(call('evals.start', { assistantId, modelIds: [grounded, grounded], withAdapters: true })).rejects.toMatchObject({ code: 'eval/bad-models' });
    await expect(call('evals.start', { assistantId, modelIds: ['no-such-model'], withAdapters: true })).rejects.toMatchObject({ code: 'eval/bad-models' });
  });

  it('asks every question of each model through the assistant, scores the answers, and gives the model in use back', async () => {
    const conversationsBefore = (await call('conversations.list', {})).length;
    const run = await call('evals.start', { assistantId, modelIds: [grounded, endless], withAdapters: true });
    expect(run).toMatchObject({ status: 'running', total: 6, answered: 0 });
    // The chat waits while the model under test is loaded.
    const conversationId = (await call('conversations.create', { assistantId })).id;
    await expect(call('chat.send', { conversationId, text: 'Hello' })).rejects.toMatchObject({ code: 'chat/busy', message: expect.stringContaining('An evaluation is running') });
    // So do summaries: the model under test is not the one the person chose.
    const leaseId = (await call('documents.list', {}))[0].id;
    await expect(call('summaries.start', { documentId: leaseId, kind: 'brief' })).rejects.toMatchObject({ code: 'chat/busy', message: expect.stringContaining('An evaluation is running') });
    const done = await finished(run.id);
    expect(done).toMatchObject({ status: 'complete', answered: 6, etaMs: null });

    const detail = await call('evals.get', { runId: run.id });
    const [g, e] = detail.scores;
    expect(g.model).toMatchObject({ modelId: grounded, name: expect.any(String) });
    expect(g.model.sha256).toMatch(/^[0-9a-f]{64}$/);
    // The citing model: right on the notice period (its words, a checked source on page 3); wrong
    // on the rent (no "1450"), though a checked source of its answer is on the rent's page 2, and
    // its unsupported sentences are marked (not confident); the nonsense question is refused by
    // Enclave (nothing found) for both.
    expect(g).toMatchObject({
      answered: 3, failed: 0,
      expected: { met: 1, of: 2 },
      onExpectedPage: { met: 2, of: 2 },
      correctRefusals: { met: 1, of: 1 },
      confidentWrong: 0,
    });
    expect(g.citationsVerified.of).toBe(2);
    expect(g.tokensPerSecond).toBeGreaterThan(0);
    expect(g.firstTokenMs).toBeGreaterThan(0);
    expect(g.peakMemoryBytes).toBeGreaterThan(0);
    expect(e).toMatchObject({ answered: 3, failed: 0, expected: { met: 0, of: 2 }, correctRefusals: { met: 1, of: 1 } });
    const notice = detail.answers.find((a) => a.modelIndex === 0 && a.questionId === detail.questions[0].id)!;
    expect(notice.answer).toContain('thirty days');
    expect(notice.sources.some((s) => s.pageNumber === 3)).toBe(true);
    expect(notice.verdict).toMatchObject({ expected: true, onExpectedPage: true, refused: false, confidentWrong: false });

    // Its questions were asked in conversations nobody sees, and removed.
    expect((await call('conversations.list', {})).length).toBe(conversationsBefore + 1);
    expect((await call('conversations.search', { query: 'notice period terminating', limit: 10 })).length).toBe(0);
    // The model loaded before the run is loaded again; the chat answers.
    await enclave.evals.settled;
    expect((await call('engine.status', {})).modelId).toBe(grounded);
    await call('chat.send', { conversationId, text: 'Hello' });
    await enclave.chat.idle;

    // The library shows each model's speed as measured here: its two answers written by the model
    // (Enclave's own "nothing found" is not the model's).
    const measured = await call('models.measured', {});
    expect(measured[grounded]).toMatchObject({ evaluated: 2, replies: 2 });
    expect(measured[grounded].tokensPerSecond).toBeCloseTo(g.tokensPerSecond!, 6);
    expect(measured[grounded].firstTokenMs).toBeCloseTo(g.firstTokenMs!, 6);

    // Files to keep: every answer as CSV, and a report.
    const csv = Buffer.from((await call('evals.export', { runId: run.id, format: 'csv' })).base64, 'base64').toString('utf8');
    expect(csv.split('\n')[0]).toContain('model,model_sha256,question,expected');
    expect(csv).toContain('What is the notice period for terminating the lease?');
    const report = await call('evals.export', { runId: run.id, format: 'markdown' });
    const md = Buffer.from(report.base64, 'base64').toString('utf8');
    expect(report.fileName).toMatch(/^Evaluation Lease desk \d{4}-\d\d-\d\d\.md$/);
    expect(md).toContain('| Answers with the expected words | 1 of 2 (50%) | 0 of 2 (0%) |');
    expect(md).toContain(`SHA-256 ${g.model.sha256}`);
    expect(md).toContain('- Settings: temperature 0.7, top-p 0.9, at most 40 tokens per answer, context 2048 tokens.');
  }, 180_000);

  it('a cancelled run keeps its answers and resumes at the first question not answered', async () => {
    const run = await call('evals.start', { assistantId, modelIds: [endless, grounded], withAdapters: false });
    // Cancelled as soon as the first answer is saved.
    await new Promise<void>((resolve) => {
      const off = enclave.events.subscribe((name, payload) => {
        if (name === 'evals.changed' && (payload as EvalRun).id === run.id && (payload as EvalRun).answered >= 1) {
          off();
          void call('evals.cancel', { runId: run.id }).then(() => resolve());
        }
      });
    });
    await enclave.evals.settled;
    const cancelled = (await call('evals.runs', { assistantId })).find((r) => r.id === run.id)!;
    expect(cancelled.status).toBe('cancelled');
    expect(cancelled.answered).toBeGreaterThanOrEqual(1);
    expect(cancelled.answered).toBeLessThan(6);
    const kept = (await call('evals.get', { runId: run.id })).answers.map((a) => `${a.modelIndex}|${a.questionId}|${a.answer}`);
    await call('evals.resume', { runId: run.id });
    const done = await finished(run.id);
    expect(done).toMatchObject({ status: 'complete', answered: 6 });
    const after = (await call('evals.get', { runId: run.id })).answers.map((a) => `${a.modelIndex}|${a.questionId}|${a.answer}`);
    for (const k of kept) expect(after).toContain(k);
    await call('evals.delete', { runId: run.id });
    await expect(call('evals.get', { runId: run.id })).rejects.toMatchObject({ code: 'eval/not-found' });
  }, 180_000);
});

describe('comparing models on a task table a person corrected', () => {
  it('each model runs the task on the same documents; its cells are scored against the corrected ones, field by field', async () => {
    const taskModel = (await call('models.add', { file: grant(TASK_MODEL) })).id;
    await enclave.models.settled;
    await call('models.activate', { modelId: taskModel });
    const documentIds: string[] = [];
    for (const path of (await writeContracts(join(dir, 'contracts'))).slice(0, 2)) {
      const { document } = await call('documents.import', { file: grant(path) });
      await enclave.documents.whenIdle(document.id);
      documentIds.push(document.id);
    }
    const reference = await call('tasks.start', { packId: 'law', key: 'clause-table', scope: { documentIds } });
    expect((await taskFinished(enclave, reference.id)).status).toBe('complete');
    // A person corrects one cell of the table.
    const table = await call('tasks.get', { runId: reference.id });
    const cell = table.rows[0].cells.find((c) => c.fieldKey === 'governing-law')!;
    await call('tasks.editCell', { cellId: cell.id, value: 'The laws of Atlantis' });

    // While an evaluation runs, a task cannot be started by hand (the model is not the person's).
    const run = await call('evals.startTask', { assistantId, referenceRunId: reference.id, modelIds: [taskModel, endless] });
    expect(run).toMatchObject({ kind: 'task', taskName: 'Clause table', total: 2 });
    await expect(call('tasks.start', { packId: 'law', key: 'clause-table', scope: { documentIds } })).rejects.toMatchObject({ code: 'task/busy' });
    const done = await finished(run.id);
    expect(done).toMatchObject({ status: 'complete', answered: 2 });

    const detail = await call('evals.get', { runId: run.id });
    const [same, other] = detail.taskScores!;
    const cells = 2 * table.run.fields.length;
    // The model that made the reference makes the same table again: every cell matches but the corrected one.
    expect(same.accuracy).toEqual({ met: cells - 1, of: cells });
    expect(same.fields.find((f) => f.key === 'governing-law')).toMatchObject({ met: 1, of: 2 });
    expect(same.taskRunId).not.toBe(reference.id);
    expect(other.accuracy.of).toBe(cells);
    expect(other.accuracy.met).toBeLessThan(cells);
    // Each model's own table stays in Tasks.
    expect((await call('tasks.get', { runId: same.taskRunId! })).rows.length).toBe(2);

    const csv = Buffer.from((await call('evals.export', { runId: run.id, format: 'csv' })).base64, 'base64').toString('utf8');
    expect(csv).toContain('model,document,field,corrected_table,model_value,match,source_checked');
    expect(csv).toMatch(/Governing law,The laws of Atlantis,[^\n]*,no,/);
    const md = Buffer.from((await call('evals.export', { runId: run.id, format: 'markdown' })).base64, 'base64').toString('utf8');
    expect(md).toContain(`| All fields | ${cells - 1} of ${cells} (${Math.round(((cells - 1) / cells) * 100)}%) |`);
  }, 180_000);
});

describe('a run started while a reply is being written', () => {
  it('waits for the reply before loading the model under test, and answers every question', async () => {
    await call('models.activate', { modelId: endless });
    // An assistant whose replies run long (the fixture model never stops by itself).
    const storyteller = await call('assistants.create', {
      fields: {
        name: 'Storyteller', description: '', color: '#2f7d6d', domain: 'general', systemPrompt: '', temperature: null, topP: null, maxTokens: 1500,
        answerOnlyFromDocuments: false, collectionIds: [], summaryKinds: [],
      },
    });
    const conversationId = (await call('conversations.create', { assistantId: storyteller.id })).id;
    const streaming = new Promise<void>((resolve) => {
      const off = enclave.events.subscribe((name, payload) => {
        if (name === 'chat.delta' && (payload as { conversationId: string }).conversationId === conversationId) {
          off();
          resolve();
        }
      });
    });
    await call('chat.send', { conversationId, text: 'Tell me a story' });
    await streaming;
    expect((await call('engine.status', {})).state).toBe('generating');
    const run = await call('evals.start', { assistantId, modelIds: [grounded], withAdapters: true });
    expect(await finished(run.id)).toMatchObject({ status: 'complete', answered: 3 });
    expect((await call('evals.get', { runId: run.id })).scores[0].failed).toBe(0);
    const story = (await call('conversations.get', { conversationId })).messages.at(-1)!;
    expect(story.status).toBe('complete');
  }, 60_000);
});

describe('a run cut off by a quit or a crash', () => {
  it('is kept as interrupted, and after a restart resumes at the first question not answered', async () => {
    await call('models.activate', { modelId: grounded });
    const run = await call('evals.start', { assistantId, modelIds: [endless, grounded], withAdapters: true });
    await new Promise<void>((resolve) => {
      const off = enclave.events.subscribe((name, payload) => {
        if (name === 'evals.changed' && (payload as EvalRun).id === run.id && (payload as EvalRun).answered >= 2) {
          off();
          resolve();
        }
      });
    });
    // The app quits mid-run: the run stops as interrupted, its answers kept.
    await enclave.shutdown();
    // A crash would have left it marked running: the next start finds it interrupted all the same.
    const file = new BetterSqlite3(join(dir, 'data', 'enclave.db'));
    expect(file.prepare('SELECT status FROM eval_runs WHERE id = ?').pluck().get(run.id)).toBe('interrupted');
    const saved = file.prepare('SELECT COUNT(*) FROM eval_answers WHERE run_id = ?').pluck().get(run.id) as number;
    file.prepare("UPDATE eval_runs SET status = 'running' WHERE id = ?").run(run.id);
    // and the hidden conversation of the question it was asking.
    file.prepare("INSERT INTO conversations (id, assistant_id, title, title_is_custom, system_prompt, created_at, updated_at, hidden) VALUES ('left-behind', ?, 'Evaluation question', 0, '', 0, 0, 1)").run(assistantId);
    file.close();
    expect(saved).toBeGreaterThanOrEqual(2);
    expect(saved).toBeLessThan(6);

    enclave = open();
    expect(enclave.db.prepare("SELECT COUNT(*) FROM conversations WHERE id = 'left-behind'").pluck().get()).toBe(0);
    await enclave.restoreActiveModel();
    const after = (await call('evals.runs', { assistantId })).find((r) => r.id === run.id)!;
    expect(after).toMatchObject({ status: 'interrupted', answered: saved, total: 6 });
    const kept = (await call('evals.get', { runId: run.id })).answers.map((a) => `${a.modelIndex}|${a.questionId}|${a.answer}`);
    await call('evals.resume', { runId: run.id });
    expect(await finished(run.id)).toMatchObject({ status: 'complete', answered: 6 });
    const all = (await call('evals.get', { runId: run.id })).answers.map((a) => `${a.modelIndex}|${a.questionId}|${a.answer}`);
    expect(all).toHaveLength(6);
    for (const k of kept) expect(all).toContain(k);
  }, 180_000);
});
