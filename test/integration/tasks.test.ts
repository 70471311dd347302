// Tasks on real GGUF models and real PDFs: every built-in task's schema compiles to a grammar,
// constrained output is JSON under its schema, a batch fills a table whose cells are checked
// against their pages (a value its quote does not state is caught), a locked or removed document
// becomes a failed row while the batch goes on, cancel and resume keep finished rows, a kill -9
// mid-batch resumes without redoing them, and the CSV and XLSX read back with the same cells.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'csv-parse/sync';
import ExcelJS from 'exceljs';
import { getLlama } from 'node-llama-cpp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TaskRun, TaskRunDetail } from '../../electron/contract/types.ts';
import { createEnclave, type Enclave } from '../../electron/core/app.ts';
import { builtinPacksDir, loadPacks } from '../../electron/services/assistants/packs.ts';
import { locateQuote } from '../../electron/services/retrieval/grounding.ts';
import { listSchema, NOT_STATED, recordFieldSchema } from '../../electron/services/tasks/structured-output.ts';
import { taskDefinitions } from '../../electron/services/tasks/task-service.ts';
import { tableRows } from '../../electron/services/tasks/table-export.ts';
import { valueInQuote } from '../../electron/services/tasks/verify-field.ts';
import { CONTRACTS, generateDocumentFixtures, governingLawSentence, writeContracts } from '../fixtures/documents.ts';
import { ENDLESS_MODEL, SUMMARY_MODEL, TASK_MODEL } from '../fixtures/paths.ts';
import { ask, granter, routerCaller, taskFinished } from '../support/router-call.ts';
import { openServerDatabase, startWebServer, until } from '../support/web-server.ts';
import { WireClient } from '../support/ws-client.ts';

let dir: string;
let enclave: Enclave;
const call = routerCaller(() => enclave);
const grant = granter(() => enclave);
let contractIds: string[];
let lockedId: string;
let leaseId: string;
let letterId: string;
let taskModelId: string;
let endlessModelId: string;

const finished = (runId: string) => taskFinished(enclave, runId);

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'enclave-tasks-'));
  const fx = await generateDocumentFixtures();
  enclave = createEnclave({ dataDir: join(dir, 'data'), mode: 'web', version: 'test', settingsOverride: { threads: 1, contextSize: 2048, gpu: 'off' } });
  endlessModelId = (await call('models.add', { file: grant(ENDLESS_MODEL) })).id;
  taskModelId = (await call('models.add', { file: grant(TASK_MODEL) })).id;
  await enclave.models.settled;
  await call('models.activate', { modelId: taskModelId });
  contractIds = [];
  for (const path of await writeContracts(join(dir, 'contracts'))) {
    const { document } = await call('documents.import', { file: grant(path) });
    await enclave.documents.whenIdle(document.id);
    contractIds.push(document.id);
  }
  const locked = await call('documents.import', { file: grant(fx.encryptedPdf) });
  await enclave.documents.whenIdle(locked.document.id);
  lockedId = locked.document.id;
  const lease = await call('documents.import', { file: grant(fx.pdf12) });
  await enclave.documents.whenIdle(lease.document.id);
  leaseId = lease.document.id;
  const letter = await call('documents.import', { file: grant(fx.docx3) });
  await enclave.documents.whenIdle(letter.document.id);
  letterId = letter.document.id;
});

afterAll(async () => {
  await enclave?.shutdown();
  rmSync(dir, { recursive: true, force: true });
});

describe('task definitions', () => {
  it('the built-in packs offer the law and clinic tasks, and every schema they make compiles to a grammar', async () => {
    const definitions = taskDefinitions(loadPacks(builtinPacksDir()));
    const keys = definitions.map((d) => `${d.packId}/${d.key}`);
    expect(keys).toEqual(
      expect.arrayContaining(['law/clause-table', 'law/key-dates', 'law/obligations', 'law/risk-review', 'clinic/medication-list', 'clinic/problem-list', 'clinic/follow-up', 'clinic/handover']),
    );
    const clause = definitions.find((d) => d.key === 'clause-table')!;
    expect(clause.fields.map((f) => f.label)).toEqual([
      'Parties', 'Agreement date', 'Effective date', 'Expiration', 'Renewal term', 'Notice to stop renewal', 'Governing law', 'Assignment', 'Liability cap', 'Termination for convenience',
    ]);
    const llama = await getLlama({ gpu: false, build: 'never' });
    // Options as the extractor makes them: sentences of a document, quotes and all.
    const options = ['The “Supplier” shall deliver 5 units.', 'Governed by the laws of "Delaware" \\ USA.', governingLawSentence('Texas')];
    for (const d of definitions.filter((t) => t.output !== 'prose')) {
      const schema = d.output === 'record' ? recordFieldSchema(options) : listSchema(d.fields, options, 5);
      const grammar = await llama.createGrammarForJsonSchema(schema as Parameters<typeof llama.createGrammarForJsonSchema>[0]);
      expect(grammar.grammar.length, `${d.packId}/${d.key}`).toBeGreaterThan(0);
    }
  });

  it('generation under a task schema is JSON under that schema, whatever the model would rather write', async () => {
    const options = [governingLawSentence('Delaware'), 'The Supplier shall provide the services described in Schedule A.'];
    for (const modelId of [endlessModelId, taskModelId]) {
      await call('models.activate', { modelId });
      const result = await enclave.engine.generate({
        conversationId: 'schema-check',
        systemPrompt: 'Extract.',
        turns: [{ role: 'user', text: 'Which sentence states the governing law?' }],
        settings: { temperature: 0, topP: 1, maxTokens: 400 },
        signal: new AbortController().signal,
        onText: () => {},
        jsonSchema: recordFieldSchema(options),
      });
      const parsed = JSON.parse(result.text) as { quote: string; value: string };
      expect(Object.keys(parsed)).toEqual(['quote', 'value']);
      expect([...options, NOT_STATED]).toContain(parsed.quote);
      expect(typeof parsed.value).toBe('string');
      expect(parsed.value.length).toBeLessThanOrEqual(200);
    }
    await call('models.activate', { modelId: taskModelId });
  });
});

describe('a clause table over contracts', () => {
  let detail: TaskRunDetail;

  it('fills one row per document; each value is checked against its page, a locked document fails with its reason and the batch goes on', async () => {
    const progress: TaskRun[] = [];
    const off = enclave.events.subscribe((name, payload) => {
      if (name === 'tasks.changed') progress.push(payload as TaskRun);
    });
    const run = await call('tasks.start', { packId: 'law', key: 'clause-table', scope: { documentIds: [lockedId, ...contractIds] } });
    expect(run.status).toBe('running');
    expect(run.total).toBe(4);
    const end = await finished(run.id);
    off();
    expect(end.status).toBe('complete');
    expect(end).toMatchObject({ total: 4, finished: 4, failed: 1, modelName: 'Task Test Model' });
    // The audit trail records the run once, when it ends.
    const runs = (await call('audit.list', { action: 'task' })).entries.filter((e) => e.details.runId === run.id);
    expect(runs).toHaveLength(1);
    expect(runs[0]).toMatchObject({
      summary: `Clause table on ${end.scopeLabel}: complete (3 of 4 documents read, 1 failed)`,
      details: { status: 'complete', model: 'Task Test Model', documents: 4, read: 3, failed: 1 },
    });
    // Progress came as documents finished, with the time left once one had.
    expect(progress.some((p) => p.status === 'running' && p.etaMs !== null && p.finished > 0 && p.finished < 4)).toBe(true);
    expect(progress.some((p) => p.currentDocument?.startsWith(CONTRACTS[0].title))).toBe(true);

    detail = await call('tasks.get', { runId: run.id });
    const [locked, first, second] = detail.rows;
    expect(locked.status).toBe('failed');
    expect(locked.error).toMatch(/locked with a password/);
    expect(first.status).toBe('done');
    expect(first.cells).toHaveLength(10);

    // The first contract's governing law: quoted from page 2, the value in the quote, the words located.
    const law = first.cells.find((c) => c.fieldKey === 'governing-law')!;
    expect(law).toMatchObject({ status: 'verified', value: 'the State of Delaware', quote: governingLawSentence('Delaware'), page: 2 });
    const page2 = enclave.documents.page(contractIds[0], 2).text;
    // The highlight runs from the first word of the quote to its last.
    expect(page2.slice(law.charStart!, law.charEnd!).replace(/\s+/g, ' ')).toBe(governingLawSentence('Delaware').replace(/\.$/, ''));
    expect(law.pagesRead).toContain(2);

    // The same value given for the other fields is caught: the sentence offered for the parties
    // does not hold it.
    const parties = first.cells.find((c) => c.fieldKey === 'parties')!;
    expect(parties).toMatchObject({ status: 'unverified', reason: 'The value is not in the quoted words.', page: 1 });
    expect(parties.quote).toContain(`by and between ${CONTRACTS[0].parties}`);
    // No sentence has a renewal's words: not stated, without asking the model, and no page read for it.
    expect(first.cells.find((c) => c.fieldKey === 'renewal-term')).toMatchObject({ status: 'not-stated', reason: 'No sentence of the document has the words that state it.', pagesRead: [], page: null });
    // In the second contract the model's value is not in the sentence it had to quote.
    const secondLaw = second.cells.find((c) => c.fieldKey === 'governing-law')!;
    expect(secondLaw.status).toBe('unverified');
    expect(secondLaw.value).toBe('the State of Delaware');
    expect(locateQuote(secondLaw.quote!, enclave.documents.page(contractIds[1], secondLaw.page!).text)).not.toBeNull();
    // Nothing is shown as verified unless its quote is on its page and holds its value.
    for (const row of detail.rows) {
      for (const cell of row.cells.filter((c) => c.status === 'verified')) {
        const text = enclave.documents.page(row.documentId, cell.page!).text;
        expect(locateQuote(cell.quote!, text)).not.toBeNull();
      }
    }
  });

  it('after the locked document is unlocked, the run tries it again and keeps the rows already done', async () => {
    const doneBefore = detail.rows.filter((r) => r.status === 'done').map((r) => ({ id: r.id, cells: r.cells.map((c) => c.id) }));
    await call('documents.unlock', { documentId: lockedId, password: 'open sesame' });
    await enclave.documents.whenIdle(lockedId);
    await call('tasks.resume', { runId: detail.run.id });
    const again = await finished(detail.run.id);
    expect(again).toMatchObject({ status: 'complete', failed: 0, finished: 4 });
    const after = await call('tasks.get', { runId: detail.run.id });
    expect(after.rows[0].status).toBe('done');
    // The three contracts were not read again: the same cells.
    for (const row of doneBefore) expect(after.rows.find((r) => r.id === row.id)!.cells.map((c) => c.id)).toEqual(row.cells);
    detail = after;
  });

  it('a correction is kept beside the model’s value, with who made it and when, and can be taken back', async () => {
    const cell = detail.rows[2].cells.find((c) => c.fieldKey === 'governing-law')!;
    const edited = await call('tasks.editCell', { cellId: cell.id, value: 'New York' });
    expect(edited.value).toBe('the State of Delaware');
    expect(edited.edited).toMatchObject({ value: 'New York' });
    expect(edited.edited!.by.length).toBeGreaterThan(0);
    expect(edited.edited!.at).toBeGreaterThan(Date.now() - 60_000);
    const other = detail.rows[2].cells.find((c) => c.fieldKey === 'parties')!;
    await call('tasks.editCell', { cellId: other.id, value: '=HYPERLINK("http://evil.example","click")' });
    const back = await call('tasks.editCell', { cellId: other.id, value: '' });
    expect(back.edited).toBeNull();
    await call('tasks.editCell', { cellId: other.id, value: '=cmd|calc' });
    detail = await call('tasks.get', { runId: detail.run.id });
    expect(detail.rows[2].cells.find((c) => c.fieldKey === 'governing-law')!.edited!.value).toBe('New York');
  });

  it('exports CSV and XLSX that read back with the same cells, a source and a check column per field', async () => {
    const expected = tableRows(detail);
    expect(expected[0]).toEqual(expect.arrayContaining(['Document', 'Governing law', 'Governing law — source', 'Governing law — check']));

    const csv = await call('tasks.export', { runId: detail.run.id, format: 'csv' });
    expect(csv.fileName).toMatch(/^Clause table \d{4}-\d{2}-\d{2}\.csv$/);
    const records = parse(Buffer.from(csv.base64, 'base64').toString('utf8'), { bom: true }) as string[][];
    // A spreadsheet would run a cell starting with "="; the CSV writes it as text.
    const inert = expected.map((r) => r.map((v) => (/^[=+\-@\t\r]/.test(v) ? `'${v}` : v)));
    expect(records).toEqual(inert);
    const header = records[0];
    const secondRow = records.find((r) => r[0] === CONTRACTS[1].title)!;
    expect(secondRow[header.indexOf('Governing law')]).toBe('New York');
    expect(secondRow[header.indexOf('Governing law — check')]).toMatch(/^edited by .+ \(model: unverified: The value is not in the quoted words\.\)$/);
    expect(secondRow[header.indexOf('Parties')]).toBe("'=cmd|calc");
    const firstRow = records.find((r) => r[0] === CONTRACTS[0].title)!;
    expect(firstRow[header.indexOf('Governing law — source')]).toBe(`p. 2: “${governingLawSentence('Delaware')}”`);
    expect(firstRow[header.indexOf('Governing law — check')]).toBe('verified');
    expect(records.find((r) => r[0] === detail.rows[0].documentTitle)?.[1]).toBe('done');

    const xlsx = await call('tasks.export', { runId: detail.run.id, format: 'xlsx' });
    const workbook = new ExcelJS.Workbook();
    await workbook.xlsx.load(Buffer.from(xlsx.base64, 'base64') as unknown as ArrayBuffer);
    const sheet = workbook.worksheets[0];
    const cells: string[][] = [];
    sheet.eachRow((row) => cells.push((row.values as unknown[]).slice(1).map((v) => (v === null || v === undefined ? '' : String(v)))));
    // Trailing empty cells are not stored in a sheet; compare what is there.
    expect(cells.map((r) => r.join('\u0001').replace(/\u0001+$/, ''))).toEqual(expected.map((r) => r.join('\u0001').replace(/\u0001+$/, '')));
    // A value that looks like a formula stays a string in the workbook.
    const formulaLike = sheet.getRow(cells.findIndex((r) => r[0] === CONTRACTS[1].title) + 1).getCell(header.indexOf('Parties') + 1);
    expect(formulaLike.type).toBe(ExcelJS.ValueType.String);
    expect(formulaLike.value).toBe('=cmd|calc');
  });

  it('a list task reads only sentences that could state an item: a contract has no medication to list', async () => {
    const run = await call('tasks.start', { packId: 'clinic', key: 'medication-list', scope: { documentIds: [contractIds[0]] } });
    await finished(run.id);
    const { rows } = await call('tasks.get', { runId: run.id });
    expect(rows[0]).toMatchObject({ status: 'done', items: 0, pagesRead: [], cells: [] });
  });

  it('a list task gives items whose every field is checked against the item’s sentence', async () => {
    const run = await call('tasks.start', { packId: 'clinic', key: 'follow-up', scope: { documentIds: [letterId] } });
    await finished(run.id);
    const { rows } = await call('tasks.get', { runId: run.id });
    expect(rows[0].status).toBe('done');
    // The letter's one follow-up sentence is the only one offered; the model's item quotes it.
    expect(rows[0].items).toBe(1);
    expect(rows[0].pagesRead).toEqual([3]);
    const page3 = enclave.documents.page(letterId, 3).text;
    expect(rows[0].cells.map((c) => c.fieldKey)).toEqual(['action', 'when', 'who']);
    for (const cell of rows[0].cells) {
      expect(cell.quote).toBe('Plan: follow-up with the GP in two weeks.');
      expect(page3.slice(cell.charStart!, cell.charEnd!)).toBe('Plan: follow-up with the GP in two weeks');
      // What this model writes is not in that sentence: every value is marked, none shown as fact.
      if (cell.value !== null && !valueInQuote(cell.value, cell.quote!)) expect(cell).toMatchObject({ status: 'unverified', reason: 'The value is not in the quoted words.' });
    }
    expect(rows[0].cells.some((c) => c.status === 'unverified')).toBe(true);
  });

  it('a prose task writes points that keep a page only where that page states them', async () => {
    const summaryModel = (await call('models.add', { file: grant(SUMMARY_MODEL) })).id;
    await enclave.models.settled;
    await call('models.activate', { modelId: summaryModel });
    try {
      const run = await call('tasks.start', { packId: 'law', key: 'risk-review', scope: { documentIds: [leaseId] } });
      await finished(run.id);
      const { run: done, rows } = await call('tasks.get', { runId: run.id });
      expect(done.fields.map((f) => f.label)).toEqual(['Point']);
      const cells = rows[0].cells;
      // A 12-page lease in a 2,048-token context: read in sections, every page read.
      expect(rows[0].pagesRead).toEqual(Array.from({ length: 12 }, (_, i) => i + 1));
      const notice = cells.find((c) => c.value?.startsWith('The tenant shall give notice of 14 days'))!;
      expect(notice).toMatchObject({ status: 'verified', page: 2 });
      expect(enclave.documents.page(leaseId, 2).text.slice(notice.charStart!, notice.charEnd!)).toContain('notice of 14 days');
      // "Rent doubles every month [p. 1]": no page says so; it keeps no page.
      const rent = cells.find((c) => c.value === 'Rent doubles every month')!;
      expect(rent).toMatchObject({ status: 'unverified', page: null, quote: null, reason: 'No page read states this.' });
      // A bullet that is only a citation is not a point; a repeated point is kept once.
      expect(cells.every((c) => /\p{L}{2}/u.test(c.value ?? ''))).toBe(true);
      expect(new Set(cells.map((c) => c.value)).size).toBe(cells.length);
    } finally {
      await call('models.activate', { modelId: taskModelId });
    }
  });

  it('cancel stops the batch with finished rows kept; resume reads only the rest', async () => {
    const many = await writeContracts(join(dir, 'more'), 9);
    const ids: string[] = [];
    for (const path of many.slice(3)) {
      const { document } = await call('documents.import', { file: grant(path) });
      await enclave.documents.whenIdle(document.id);
      ids.push(document.id);
    }
    const all = [...contractIds, ...ids];
    const run = await call('tasks.start', { packId: 'law', key: 'clause-table', scope: { documentIds: all } });
    await expect(call('tasks.start', { packId: 'law', key: 'key-dates', scope: { documentIds: all } })).rejects.toMatchObject({ code: 'task/busy' });
    await until(async () => (await call('tasks.get', { runId: run.id })).run.finished >= 1, 30_000, 'a first row');
    const cancelled = finished(run.id);
    expect(await call('tasks.cancel', { runId: run.id })).toEqual({ cancelled: true });
    const stopped = await cancelled;
    expect(stopped.status).toBe('cancelled');
    expect(stopped.finished).toBeGreaterThanOrEqual(1);
    expect(stopped.finished).toBeLessThan(all.length);
    const kept = (await call('tasks.get', { runId: run.id })).rows.filter((r) => r.status === 'done').map((r) => r.id);
    expect((await call('tasks.get', { runId: run.id })).rows.every((r) => r.status === 'done' || r.status === 'pending')).toBe(true);

    await call('tasks.resume', { runId: run.id });
    expect((await finished(run.id)).status).toBe('complete');
    const after = await call('tasks.get', { runId: run.id });
    expect(after.rows.every((r) => r.status === 'done')).toBe(true);
    // The rows done before the cancel were not read again: same cells, same ids.
    for (const id of kept) expect(after.rows.find((r) => r.id === id)!.cells.length).toBe(10);
    await expect(call('tasks.resume', { runId: run.id })).rejects.toMatchObject({ code: 'task/not-resumable' });
  });

  it('a message sent while a batch runs is answered first; the batch goes on after it', async () => {
    const run = await call('tasks.start', { packId: 'law', key: 'clause-table', scope: { documentIds: contractIds } });
    // Wait until a field of the batch is being generated.
    await until(() => enclave.engine.backgroundBusy, 30_000, 'a background generation');
    const conversation = await call('conversations.create', {});
    const order: string[] = [];
    const reply = ask(enclave, conversation.id, 'Which law governs the agreement?').then((m) => {
      order.push('reply');
      return m;
    });
    const end = finished(run.id).then((r) => {
      order.push('batch');
      return r;
    });
    const message = await reply;
    expect(message.status).toBe('complete');
    expect(message.content.length).toBeGreaterThan(0);
    expect((await end).status).toBe('complete');
    expect(order).toEqual(['reply', 'batch']);
    expect((await call('tasks.get', { runId: run.id })).rows.every((r) => r.status === 'done')).toBe(true);
  });

  it('refuses a run with nothing to read, or without a model', async () => {
    await expect(call('tasks.start', { packId: 'law', key: 'clause-table', scope: { documentIds: [] } })).rejects.toMatchObject({ code: 'ipc/invalid-input' });
    await expect(call('tasks.start', { packId: 'law', key: 'clause-table', scope: { documentIds: ['no-such-document'] } })).rejects.toMatchObject({ code: 'task/empty-scope' });
    await expect(call('tasks.start', { packId: 'law', key: 'no-such-task', scope: { documentIds: contractIds } })).rejects.toMatchObject({ code: 'task/not-found' });
    await call('models.unload', {});
    await expect(call('tasks.start', { packId: 'law', key: 'clause-table', scope: { documentIds: contractIds } })).rejects.toMatchObject({ code: 'model/not-loaded' });
    await call('models.activate', { modelId: taskModelId });
  });
});

describe('a batch killed mid-run', () => {
  it('is interrupted when Enclave starts again, and goes on by itself without reading its finished rows again', async () => {
    const dataDir = join(dir, 'crash-data');
    // The library is prepared in process, then served by the real browser-mode server.
    const prep = createEnclave({ dataDir, mode: 'web', version: 'test', settingsOverride: { threads: 1, contextSize: 2048, gpu: 'off' } });
    const prepCall = routerCaller(() => prep);
    const prepGrant = granter(() => prep);
    const modelId = (await prepCall('models.add', { file: prepGrant(TASK_MODEL) })).id;
    await prep.models.settled;
    await prepCall('models.activate', { modelId });
    const ids: string[] = [];
    for (const path of await writeContracts(join(dir, 'crash-contracts'), 12)) {
      const { document } = await prepCall('documents.import', { file: prepGrant(path) });
      await prep.documents.whenIdle(document.id);
      ids.push(document.id);
    }
    await prep.shutdown();

    let server = await startWebServer(['--data-dir', dataDir, '--threads', '1']);
    let client = await WireClient.connect(server.origin, server.token);
    await until(async () => (await client.call('engine.status', {})).state === 'ready', 30_000, 'the model');
    const run = await client.call('tasks.start', { packId: 'law', key: 'clause-table', scope: { documentIds: ids } });
    await until(async () => (await client.call('tasks.get', { runId: run.id })).run.finished >= 2, 60_000, 'two rows');
    client.close();
    await server.kill();

    const doneBefore = (() => {
      const db = openServerDatabase(dataDir, { readonly: true });
      const ids = db.prepare("SELECT id FROM task_rows WHERE run_id = ? AND status = 'done'").pluck().all(run.id) as string[];
      db.close();
      return ids;
    })();
    expect(doneBefore.length).toBeGreaterThanOrEqual(2);
    expect(doneBefore.length).toBeLessThan(12);

    // Started again, Enclave marks the run interrupted and, once the model is ready, goes on by itself.
    server = await startWebServer(['--data-dir', dataDir, '--threads', '1']);
    client = await WireClient.connect(server.origin, server.token);
    try {
      await until(async () => (await client.call('tasks.get', { runId: run.id })).run.status === 'complete', 60_000, 'the run to go on and complete');
      expect(server.output()).toMatch(/1 task run\(s\) were cut off when Enclave last stopped/);
      expect(server.output()).toMatch(/“Clause table” \(12 documents\) goes on where it stopped/);
      const after = await client.call('tasks.get', { runId: run.id });
      expect(after.rows.every((r) => r.status === 'done' && r.cells.length === 10)).toBe(true);
      client.close();
      await server.stop();
      const db = openServerDatabase(dataDir, { readonly: true });
      const attempts = db.prepare('SELECT id, attempts FROM task_rows WHERE run_id = ?').all(run.id) as { id: string; attempts: number }[];
      db.close();
      for (const row of attempts) {
        if (doneBefore.includes(row.id)) expect(row.attempts, 'a row finished before the crash').toBe(1);
        else expect(row.attempts).toBeLessThanOrEqual(2);
      }
    } finally {
      client.close();
      await server.kill();
    }
  });
});
