// Map-reduce summaries on a real GGUF model whose context is far smaller than the document.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Summary, SummaryProgress } from '../../electron/contract/types.ts';
import { createEnclave, type Enclave } from '../../electron/core/app.ts';
import { routerCaller } from '../support/router-call.ts';
import { parseCitations } from '../../electron/services/documents/citations.ts';
import { generateDocumentFixtures, type DocumentFixtures } from '../fixtures/documents.ts';
import { ENDLESS_MODEL } from '../fixtures/paths.ts';

let dir: string;
let enclave: Enclave;
let fx: DocumentFixtures;
let documentId: string;

const call = routerCaller(() => enclave);

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
  await call('models.add', { path: ENDLESS_MODEL });
  await enclave.models.settled;
  const { document } = await call('documents.import', { path: fx.pdf12 });
  await enclave.documents.whenIdle(document.id);
  documentId = document.id;
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
    // Sections follow the pages in order and cover every one of them.
    let next = 1;
    for (const section of summary.sections) {
      expect(section.firstPage).toBe(next);
      next = section.lastPage + 1;
      const cited = section.text.split('\n').filter((l) => l.trim()).flatMap((l) => parseCitations(l));
      expect(cited.length).toBeGreaterThan(0);
      for (const c of cited) {
        expect(c.first).toBeGreaterThanOrEqual(section.firstPage);
        expect(c.last).toBeLessThanOrEqual(section.lastPage);
      }
    }
    expect(next).toBe(13);
    // Progress said "section i of n", then combined; the last step streamed.
    const sectionSteps = progress.filter((p) => p.stage === 'sections');
    expect(sectionSteps.map((p) => p.step)).toEqual(summary.sections.map((_, i) => i + 1));
    expect(sectionSteps.every((p) => p.steps === summary.sections.length)).toBe(true);
    expect(progress.some((p) => p.stage === 'combining')).toBe(true);
    expect(deltas.length).toBeGreaterThan(0);
    // Every point of the final summary cites pages of the document.
    const points = summary.content.split('\n').filter((l) => l.trim() && !l.startsWith('#'));
    expect(points.length).toBeGreaterThan(0);
    for (const point of points) {
      const cites = parseCitations(point);
      expect(cites.length, point).toBeGreaterThan(0);
      for (const c of cites) expect(c.last).toBeLessThanOrEqual(12);
    }
    expect(summary.modelName).toBe('Endless Test Model');
    expect(summary.modelMs).toBeGreaterThan(0);
    expect(summary.durationMs).toBeGreaterThanOrEqual(summary.modelMs!);
    // Saved with the document.
    expect((await call('summaries.list', { documentId })).map((s) => s.id)).toContain(summary.id);
  });

  it('a short document is summarized in one streamed pass', async () => {
    const { document } = await call('documents.import', { path: fx.docx3 });
    await enclave.documents.whenIdle(document.id);
    const started = await call('summaries.start', { documentId: document.id, kind: 'clinical' });
    const summary = await done(started.id);
    expect(summary.status).toBe('complete');
    expect(summary.sections).toHaveLength(1);
    for (const line of summary.content.split('\n').filter((l) => l.trim() && !l.startsWith('#'))) {
      expect(parseCitations(line).length).toBeGreaterThan(0);
    }
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
