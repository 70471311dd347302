// Tasks end to end in Chromium: with the law assistant chosen, three contracts dropped on the
// window, the clause table run as a batch fills with page links; a cell opens the reader at its
// page with the quoted words highlighted; a cell is corrected; the CSV export carries it.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'csv-parse/sync';
import { strFromU8, unzipSync } from 'fflate';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CONTRACTS, governingLawSentence, writeContracts } from '../fixtures/documents.ts';
import { TASK_MODEL } from '../fixtures/paths.ts';
import { dropFiles, launchChromium } from '../support/browser.ts';
import { startWebServer, type RunningServer } from '../support/web-server.ts';

const dir = mkdtempSync(join(tmpdir(), 'enclave-e2e-tasks-'));
let browser: Browser;
let server: RunningServer;
let page: Page;
let contracts: string[];
const [alder, cedar] = CONTRACTS;

beforeAll(async () => {
  contracts = await writeContracts(join(dir, 'contracts'));
  browser = await launchChromium();
  server = await startWebServer(['--data-dir', join(dir, 'data'), '--threads', '1', '--context-size', '2048', '--model', TASK_MODEL]);
  page = await browser.newPage({ viewport: { width: 1280, height: 900 }, acceptDownloads: true });
  await page.goto(server.url);
  await page.getByText('Task Test Model · ready').waitFor({ timeout: 30_000 });
});

afterAll(async () => {
  await browser?.close();
  await server?.kill();
  rmSync(dir, { recursive: true, force: true });
});

describe('tasks in the browser', () => {
  it('with the law assistant, three dropped contracts go through the clause table as a batch', async () => {
    await page.getByLabel('Assistant', { exact: true }).selectOption({ label: 'Law — contract review' });
    await page.getByRole('button', { name: 'Documents', exact: true }).click();
    await dropFiles(page, contracts);
    const library = page.getByRole('table', { name: 'Document library' });
    for (const c of CONTRACTS) await expect.poll(async () => library.getByRole('row', { name: c.title }).textContent(), { timeout: 30_000 }).toContain('Ready');

    await page.getByRole('button', { name: 'Tasks', exact: true }).click();
    // The law assistant's tasks come first: the clause table is chosen.
    await expect.poll(() => page.getByLabel('Task', { exact: true }).inputValue()).toBe('law/clause-table');
    expect(await page.getByText(/Columns: Parties, Agreement date, Effective date, Expiration/).isVisible()).toBe(true);
    const run = page.getByRole('button', { name: 'Run task' });
    expect(await run.isDisabled()).toBe(true);
    await page.getByRole('button', { name: 'Select all' }).click();
    expect(await page.getByText('3 of 3 chosen').isVisible()).toBe(true);
    await run.click();

    await expect.poll(() => page.getByText(/^3 of 3 documents$/).isVisible(), { timeout: 60_000 }).toBe(true);
    expect(await page.getByRole('region', { name: /Clause table: 3 documents/ }).getByText('Complete', { exact: true }).isVisible()).toBe(true);
    const table = page.getByRole('table', { name: 'Clause table results, one row per document' });
    expect(await table.getByRole('row').count()).toBe(4);
    expect(await table.getByRole('columnheader').allTextContents()).toEqual([
      'Document', 'Parties', 'Agreement date', 'Effective date', 'Expiration', 'Renewal term', 'Notice to stop renewal', 'Governing law', 'Assignment', 'Liability cap', 'Termination for convenience',
    ]);
    // Cells link to their page; what could not be checked says so, visibly.
    expect(await table.getByRole('button', { name: /: open page 2 at the quoted words$/ }).count()).toBeGreaterThanOrEqual(3);
    expect(await table.getByText('✓ source checked').count()).toBe(1);
    expect(await table.getByText('unverified: The value is not in the quoted words.').count()).toBeGreaterThanOrEqual(1);
    // Fields none of whose words or phrases are in these contracts (renewal among them): not found by their words, no page read.
    expect(await table.getByRole('row', { name: new RegExp(`^${alder.title}`) }).getByText('Not stated: no sentence of the document has its words', { exact: true }).count()).toBe(4);
    expect(await table.locator('a').count()).toBe(0);
  });

  it('a cell opens the reader at its page with the quoted words highlighted', async () => {
    await page.getByRole('button', { name: `Governing law of ${alder.title}: open page 2 at the quoted words` }).click();
    const reader = page.getByRole('region', { name: `Reading ${alder.title}` });
    await reader.waitFor();
    expect(await page.getByLabel('Page', { exact: true }).inputValue()).toBe('2');
    const mark = reader.locator('mark.cited');
    await mark.waitFor();
    expect((await mark.textContent())!.replace(/\s+/g, ' ')).toBe(governingLawSentence('Delaware').replace(/\.$/, ''));

    // From the reader, a task can be run on this document: the form opens with it chosen.
    await reader.getByRole('button', { name: 'Run a task on it…' }).click();
    await page.getByRole('form', { name: 'Run a task' }).waitFor();
    expect(await page.getByText('1 of 3 chosen').isVisible()).toBe(true);
    expect(await page.getByRole('checkbox', { name: new RegExp(alder.title) }).isChecked()).toBe(true);
  });

  it('a cell is corrected by hand (Enter saves, Esc cancels), marked as edited, and the CSV export carries it with its sources', async () => {
    await page.getByRole('button', { name: 'Tasks', exact: true }).click();
    const table = page.getByRole('table', { name: 'Clause table results, one row per document' });
    await table.waitFor();
    await table.getByRole('button', { name: `Edit Governing law of ${cedar.title}` }).click();
    const box = page.getByRole('textbox', { name: `Correct Governing law of ${cedar.title}` });
    expect(await box.evaluate((el) => el === document.activeElement)).toBe(true);
    await box.fill('Nowhere');
    await box.press('Escape');
    await expect.poll(() => box.count()).toBe(0);
    expect(await table.getByText('Nowhere').count()).toBe(0);

    await table.getByRole('button', { name: `Edit Governing law of ${cedar.title}` }).click();
    await box.fill('New York');
    await box.press('Enter');
    const row = table.getByRole('row', { name: new RegExp(`^${cedar.title}`) });
    await expect.poll(() => row.getByText('New York', { exact: true }).isVisible()).toBe(true);
    expect(await row.getByText(/^edited by /).isVisible()).toBe(true);

    const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Export CSV' }).click()]);
    expect(download.suggestedFilename()).toMatch(/^Clause table \d{4}-\d{2}-\d{2}\.csv$/);
    const records = parse(readFileSync((await download.path())!, 'utf8'), { bom: true }) as string[][];
    const header = records[0];
    expect(header.slice(0, 5)).toEqual(['Document', 'Row status', 'Parties', 'Parties — source', 'Parties — check']);
    const byTitle = (t: string) => records.find((r) => r[0] === t)!;
    expect(records).toHaveLength(4);
    expect(byTitle(cedar.title)[header.indexOf('Governing law')]).toBe('New York');
    expect(byTitle(cedar.title)[header.indexOf('Governing law — check')]).toMatch(/^edited by /);
    expect(byTitle(cedar.title)[header.indexOf('Governing law — source')]).toMatch(/^for the model's value “.+”, p\. 2: “/);
    expect(byTitle(alder.title)[header.indexOf('Governing law')]).toBe('the State of Delaware');
    expect(byTitle(alder.title)[header.indexOf('Governing law — source')]).toBe(`p. 2: “${governingLawSentence('Delaware')}”`);
    expect(byTitle(alder.title)[header.indexOf('Governing law — check')]).toBe('verified');
    expect(byTitle(alder.title)[header.indexOf('Parties — check')]).toBe('unverified: The value is not in the quoted words.');
    expect(byTitle(alder.title)[header.indexOf('Renewal term — check')]).toBe('not stated: No sentence of the document has the words that state it.');

    // The same table as a record in Word: each value with its page and words, or why it has none.
    await page.getByRole('button', { name: 'Export record…' }).click();
    const dialog = page.getByRole('dialog', { name: /^Export the task table/ });
    expect(await dialog.getByLabel('Word (.docx)').isChecked()).toBe(true);
    const [word] = await Promise.all([page.waitForEvent('download'), dialog.getByRole('button', { name: 'Export', exact: true }).click()]);
    expect(word.suggestedFilename()).toMatch(/^Clause table .*\.docx$/);
    const xml = strFromU8(unzipSync(readFileSync((await word.path())!))['word/document.xml']);
    const texts = [...xml.matchAll(/<w:t(?: [^>]*)?>([^<]*)<\/w:t>/g)].map((m) => m[1]).join('|');
    expect(texts).toContain(`page 2: “${governingLawSentence('Delaware')}”`);
    expect(texts).toContain('not stated: No sentence of the document has the words that state it.');
    // The corrected value's row shows the model's words as the model's, not as the person's source.
    expect(texts.replaceAll('&apos;', "'")).toContain(`|New York|for the model's value “the State of Delaware”, page 2: “`);
    expect(texts).toMatch(/edited by .+ on \d{4}-\d{2}-\d{2} \d{2}:\d{2} UTC \(the model(?:'|&apos;)s value: not verified\)/);
    expect(texts).toMatch(/SHA-256 [0-9a-f]{64}/);
  });
});
