// Grounded answers end to end in Chromium: a collection, documents dropped into it, a question,
// a cited answer, and a citation that lands on its page with the passage highlighted.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeCorpus } from '../fixtures/documents.ts';
import { GROUNDED_MODEL } from '../fixtures/paths.ts';
import { dropFiles, launchChromium } from '../support/browser.ts';
import { startWebServer, type RunningServer } from '../support/web-server.ts';

const dir = mkdtempSync(join(tmpdir(), 'enclave-e2e-rag-'));
let browser: Browser;
let server: RunningServer;
let page: Page;
let corpus: Record<string, string>;

beforeAll(async () => {
  corpus = await writeCorpus(join(dir, 'corpus'));
  browser = await launchChromium();
  server = await startWebServer(['--data-dir', join(dir, 'data'), '--threads', '1', '--model', GROUNDED_MODEL]);
  page = await browser.newPage({ viewport: { width: 1280, height: 860 } });
  await page.goto(server.url);
  await page.getByRole('button', { name: 'Documents' }).waitFor();
});

afterAll(async () => {
  await browser?.close();
  await server?.kill();
  rmSync(dir, { recursive: true, force: true });
});

describe('grounded answers in the browser', () => {
  it('creates a collection and drops documents into it', async () => {
    await page.getByRole('button', { name: 'Documents' }).click();
    await page.getByLabel('New collection name').fill('Lease matter');
    await page.getByRole('button', { name: 'Create' }).click();
    await expect.poll(() => page.getByRole('group', { name: 'Collections' }).getByRole('button', { name: /^Lease matter/ }).isVisible()).toBe(true);
    await dropFiles(page, [corpus.lease, corpus.employment]);
    const library = page.getByRole('table', { name: 'Document library' });
    await expect.poll(() => library.getByRole('row', { name: 'Lease agreement' }).textContent()).toContain('Ready');
    await expect.poll(() => library.getByRole('row', { name: 'Employment contract' }).textContent()).toContain('Ready');
    await expect.poll(() => page.getByRole('group', { name: 'Collections' }).getByRole('button', { name: /^Lease matter/ }).textContent()).toContain('2');
    // A document outside the collection: never used for its answers.
    await page.getByRole('button', { name: 'All documents' }).click();
    await dropFiles(page, [corpus.insurance]);
    await expect.poll(() => library.getByRole('row', { name: 'Insurance policy' }).textContent()).toContain('Ready');
    await expect.poll(() => page.getByRole('status', { name: 'Search index' }).textContent()).toMatch(/keywords only \((\d+) passages\)/);
  });

  it('asks in a conversation tied to the collection: a cited answer; a citation opens its page with the passage highlighted', async () => {
    await page.getByRole('button', { name: 'Back to chat' }).click();
    await page.getByRole('button', { name: 'New conversation' }).first().click();
    await page.getByRole('textbox', { name: 'Message' }).waitFor();
    await page.getByText('Answer from:').click();
    await page.getByLabel('Lease matter').check();
    await expect.poll(() => page.getByRole('group', { name: 'Where answers come from' }).textContent()).toContain('Answers cite 2 documents');
    await page.getByText('Answer from:').click();

    const box = page.getByRole('textbox', { name: 'Message' });
    await box.fill('What is the notice period for terminating the lease?');
    await box.press('Enter');
    const reply = page.getByRole('article', { name: 'Model replied' }).last();
    await expect.poll(() => reply.getByRole('group', { name: 'Sources' }).isVisible(), { timeout: 30_000 }).toBe(true);
    expect((await reply.locator('.content').textContent())!.trim()).toBe('The notice period is thirty days [1]. Rent doubles each year. See also.');
    const source = reply.getByRole('button', { name: 'Source 1: Lease agreement, page 3' });
    expect(await source.textContent()).toContain('“notice of thirty days”');
    expect(await reply.getByText('2 citations could not be checked against the documents and are not shown.').isVisible()).toBe(true);

    // The [1] in the text is the citation: it opens the document at page 3, passage highlighted.
    await reply.getByRole('link', { name: '[1]' }).click();
    await expect.poll(() => page.getByRole('article', { name: 'Page 3' }).locator('mark.cited').textContent()).toContain('giving notice of thirty days');
    expect(await page.getByRole('heading', { name: 'Lease agreement' }).isVisible()).toBe(true);
  });

  it('says plainly when the documents do not answer', async () => {
    await page.getByRole('button', { name: 'Back to chat' }).click();
    const box = page.getByRole('textbox', { name: 'Message' });
    await box.fill('Is flood damage covered by the policy?');
    await box.press('Enter');
    const reply = page.getByRole('article', { name: 'Model replied' }).last();
    await expect.poll(() => reply.textContent()).toContain('I could not find anything about this in “Lease matter”');
    expect(await reply.getByRole('group', { name: 'Sources' }).count()).toBe(0);
  });
});
