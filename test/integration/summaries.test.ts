// Map-reduce summaries on real GGUF models whose context is far smaller than the document: points
// checked against the pages, loops stopped.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Summary, SummaryProgress } from '../../electron/contract/types.ts';
import { createEnclave, type Enclave } from '../../electron/core/app.ts';
import { granter, routerCaller } from '../support/router-call.ts';
import { citedPages } from '../../electron/services/audit/work-audit.ts';
import { NO_SOURCE, parseCitations } from '../../electron/services/documents/citations.ts';
import { generateDocumentFixtures, makePdf, type DocumentFixtures } from '../fixtures/documents.ts';
import { ENDLESS_MODEL, SUMMARY_MODEL } from '../fixtures/paths.ts';

let dir: string;
let enclave: Enclave;
let fx: DocumentFixtures;
let documentId: string;
let endlessId: string;
let shortPdf: string;
let shortId: string;

const call = routerCaller(() => enclave);
const grant = granter(() => enclave);

function done(summaryId: string): Promise<Summary> {
  return new Promise((resolve) => {
    const off = enclave.events.subscribe((name, payload) => {
      if (name === 'summaries.done' && (payload as Summary).id === summaryId) {
        off();
        resolve(payload as Summary);
      }
    });
  });
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'enclave-sum-'));
  fx = await generateDocumentFixtures();
  enclave = createEnclave({ dataDir: dir, mode: 'web', version: 'test', settingsOverride: { threads: 1, contextSize: 1024, gpu: 'off' } });
  endlessId = (await call('models.add', { file: grant(ENDLESS_MODEL) })).id;
  await enclave.models.settled;
  await call('models.activate', { modelId: (await call('models.add', { file: grant(SUMMARY_MODEL) })).id });
  const { document } = await call('documents.import', { file: grant(fx.pdf12) });
  await enclave.documents.whenIdle(document.id);
  documentId = document.id;
  shortPdf = join(dir, 'lease-2-pages.pdf');
  writeFileSync(shortPdf, await makePdf(2, { title: 'Lease of 2 pages' }));
});

afterAll(async () => {
  await enclave.shutdown();
  rmSync(dir, { recursive: true, force: true });
});

describe('summaries', () => {
  it('a document larger than the context is summarized in sections whose citations point at their own pages', async () => {
    const progress: SummaryProgress[] = [];
    const deltas: string[] = [];
    const off = enclave.events.subscribe((name, payload) => {
      if (name === 'summaries.progress') progress.push(payload as SummaryProgress);
      if (name === 'summaries.delta') deltas.push((payload as { text: string }).text);
    });
    const started = await call('summaries.start', { documentId, kind: 'legal' });
    expect(started.status).toBe('running');
    const summary = await done(started.id);
    off();

    expect(summary.status).toBe('complete');
    expect(summary.sections.length).toBeGreaterThan(2);
    // Sections follow the pages in order and cover every one of them; a section's notes cite
    // only its own pages, and only pages whose text supports the point.
    let next = 1;
    for (const section of summary.sections) {
      expect(section.firstPage).toBe(next);
      next = section.lastPage + 1;
      for (const line of section.text.split('\n').filter((l) => l.startsWith('- '))) {
        const cited = parseCitations(line);
        if (cited.length === 0) expect(line.endsWith(NO_SOURCE), line).toBe(true);
        for (const c of cited) {
          expect(c.first).toBeGreaterThanOrEqual(section.firstPage);
          expect(c.last).toBeLessThanOrEqual(section.lastPage);
        }
      }
    }
    expect(next).toBe(13);
    // Progress said "section i of n", then combined; the last step streamed.
    const sectionSteps = progress.filter((p) => p.stage === 'sections');
    expect(sectionSteps.map((p) => p.step)).toEqual(summary.sections.map((_, i) => i + 1));
    expect(sectionSteps.every((p) => p.steps === summary.sections.length)).toBe(true);
    expect(progress.some((p) => p.stage === 'combining')).toBe(true);
    // One overall count across sections and every combining level: it only goes forward, ends at
    // its total, and gives a time left once a pass is done.
    const overall = progress.map((p) => p.overallStep);
    expect(overall).toEqual([...overall].sort((a, b) => a - b));
    expect(overall[0]).toBe(1);
    const last = progress[progress.length - 1];
    expect(last.overallStep).toBe(last.overallSteps);
    expect(last.overallSteps).toBeGreaterThan(summary.sections.length);
    expect(progress[0].etaMs).toBeNull();
    expect(progress.slice(1).every((p) => p.etaMs !== null && p.etaMs >= 0)).toBe(true);
    expect(deltas.length).toBeGreaterThan(0);
    // The final summary: the true point cites the page that says it; the true point that cited a
    // page that does not exist cites one that says it; the invented point is marked, not paged;
    // the empty and the repeated points are gone.
    const points = summary.content.split('\n').filter((l) => l.startsWith('- '));
    expect(points).toContain('- The tenant shall give notice of 14 days before vacating the premises [p. 2]');
    expect(points).toContain('- Rent doubles every month [no source]');
    const deposit = points.find((p) => p.startsWith('- The landlord keeps the deposit'))!;
    const [depositPage] = parseCitations(deposit);
    expect(enclave.documents.page(documentId, depositPage.first).text).toContain('The landlord keeps the deposit in a separate account');
    expect(points).toHaveLength(3);
    expect(summary.error).toBe('1 of 3 points could not be matched to a page and are marked “no source”.');
    expect(summary.modelName).toBe('Summary Test Model');
    expect(summary.modelMs).toBeGreaterThan(0);
    expect(summary.durationMs).toBeGreaterThanOrEqual(summary.modelMs!);
    // Saved with the document.
    expect((await call('summaries.list', { documentId })).map((s) => s.id)).toContain(summary.id);
  });

  it('a short document is summarized in one streamed pass, its points checked against its pages', async () => {
    const { document } = await call('documents.import', { file: grant(shortPdf) });
    await enclave.documents.whenIdle(document.id);
    shortId = document.id;
    const started = await call('summaries.start', { documentId: document.id, kind: 'legal' });
    const summary = await done(started.id);
    expect(summary.status).toBe('complete');
    expect(summary.sections).toHaveLength(1);
    expect(summary.content).toContain('- The tenant shall give notice of 14 days before vacating the premises [p. 2]');
    expect(summary.content).toContain('- Rent doubles every month [no source]');
    // The audit trail records it: which document (and its fingerprint), which model, what it cites.
    const [entry] = (await call('audit.list', { action: 'summary', limit: 1 })).entries;
    expect(entry).toMatchObject({
      action: 'summary.produced',
      summary: `${summary.modelName} summarized “${enclave.documents.get(document.id).title}” (legal): complete`,
      details: { summaryId: summary.id, documentId: document.id, status: 'complete', model: summary.modelName, pagesCited: citedPages(summary.content), pointsWithoutSource: 1 },
    });
    expect(entry.details.pagesCited).toContain(2);
    expect(entry.details.sha256).toMatch(/^[0-9a-f]{64}$/);
  });

  it('a model that loops is stopped, the repetition cut, and a summary with nothing verified is reported as failed', async () => {
    await call('models.activate', { modelId: endlessId });
    const started = await call('summaries.start', { documentId: shortId, kind: 'legal' });
    const summary = await done(started.id);
    expect(summary.status).toBe('failed');
    expect(summary.error).toMatch(/^None of its 1 points could be matched to a page of the document\. The model repeated itself once; the repetition was cut\./);
    const lines = summary.content.split('\n').filter((l) => l.trim());
    expect(new Set(lines).size).toBe(lines.length);
    expect(lines[0]).toMatch(/^The quick brown fox .* \[no source\]$/);
  });

  it('can be cancelled: what was written is kept, marked stopped; chat is refused while it runs', async () => {
    const started = await call('summaries.start', { documentId, kind: 'detailed' });
    const finished = done(started.id);
    const conversation = await call('conversations.create', {});
    await expect(call('summaries.start', { documentId, kind: 'brief' })).rejects.toMatchObject({ code: 'chat/busy' });
    await new Promise((r) => setTimeout(r, 50));
    const chat = await enclave.router.call('chat.send', { conversationId: conversation.id, text: 'hello' });
    if (!chat.ok) expect(chat.error.code).toBe('chat/busy');
    expect(await call('summaries.cancel', { summaryId: started.id })).toEqual({ cancelled: true });
    const summary = await finished;
    expect(summary.status).toBe('stopped');
    await call('summaries.delete', { summaryId: started.id });
    expect((await call('summaries.list', { documentId })).some((s) => s.id === started.id)).toBe(false);
  });

  it('refuses to summarize a document that is not ready, and one that does not exist', async () => {
    await expect(call('summaries.start', { documentId: 'nope', kind: 'brief' })).rejects.toMatchObject({ code: 'document/not-found' });
  });
});
