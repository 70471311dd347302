// Evaluate end to end in Chromium: a second model dropped on the window, questions typed and
// imported from CSV, two models compared through the assistant, the scoreboard's cells opening
// the answers side by side (model output shown as text), and the report saved.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeContracts } from '../fixtures/documents.ts';
import { ENDLESS_MODEL, GROUNDED_MODEL, TASK_MODEL } from '../fixtures/paths.ts';
import { dropFiles, launchChromium } from '../support/browser.ts';
import { startWebServer, type RunningServer } from '../support/web-server.ts';

const dir = mkdtempSync(join(tmpdir(), 'enclave-e2e-evals-'));
let browser: Browser;
let server: RunningServer;
let page: Page;

beforeAll(async () => {
  browser = await launchChromium();
  server = await startWebServer(['--data-dir', join(dir, 'data'), '--threads', '1', '--context-size', '2048', '--model', GROUNDED_MODEL]);
  page = await browser.newPage({ viewport: { width: 1280, height: 900 }, acceptDownloads: true });
  await page.goto(server.url);
  await page.getByText('Grounded Test Model · ready').waitFor({ timeout: 30_000 });
});

afterAll(async () => {
  await browser?.close();
  await server?.kill();
  rmSync(dir, { recursive: true, force: true });
});

describe('evaluating models in the browser', () => {
  it('builds a question set by typing and from a CSV file', async () => {
    await dropFiles(page, [ENDLESS_MODEL]);
    await page.getByText('Endless Test Model').first().waitFor({ timeout: 30_000 });

    await page.getByRole('button', { name: 'Evaluate', exact: true }).click();
    await page.getByRole('heading', { name: 'Questions (0)' }).waitFor();
    await page.getByLabel('New question').fill('What is the notice period?');
    await page.getByLabel('A right answer contains').fill('thirty days');
    await page.getByLabel('On pages').fill('3');
    await page.getByRole('button', { name: 'Add question' }).click();
    await page.getByRole('heading', { name: 'Questions (1)' }).waitFor();

    const csv = join(dir, 'questions.csv');
    writeFileSync(csv, 'question,expected,pages,should_refuse\n"How much is the rent, per month?",1450,2,no\nWhat is the tenant\'s favourite colour?,,,yes\n');
    await page.getByLabel('Import CSV…').setInputFiles(csv);
    await page.getByRole('heading', { name: 'Questions (3)' }).waitFor();
    const table = page.locator('table.eval-questions');
    expect(await table.getByRole('rowheader').allTextContents()).toEqual(['What is the notice period?', 'How much is the rent, per month?', 'What is the tenant\'s favourite colour?']);
    expect(await table.getByRole('row', { name: /favourite colour/ }).textContent()).toContain('Yes: should refuse');

    // Edit: the question comes into the form; Escape leaves it unchanged.
    await page.getByRole('button', { name: 'Edit question 2' }).click();
    expect(await page.getByRole('textbox', { name: 'Edit the question' }).inputValue()).toBe('How much is the rent, per month?');
    await page.getByRole('textbox', { name: 'Edit the question' }).press('Escape');
    expect(await page.getByRole('textbox', { name: 'New question' }).inputValue()).toBe('');

    // A file that is not a question set: a clear message, nothing added.
    const bad = join(dir, 'bad.csv');
    writeFileSync(bad, 'name,age\nAda,36\n');
    await page.getByLabel('Import CSV…').setInputFiles(bad);
    await page.getByText(/The file has no “question” column/).waitFor();
    expect(await page.getByRole('heading', { name: 'Questions (3)' }).isVisible()).toBe(true);

    // The file corrected and imported: the message about the bad one goes (it is no longer true).
    const fixed = join(dir, 'fixed.csv');
    writeFileSync(fixed, 'question,expected\nWho signed for the landlord?,Ada\n');
    await page.getByLabel('Import CSV…').setInputFiles(fixed);
    await page.getByRole('heading', { name: 'Questions (4)' }).waitFor();
    await page.getByText('1 question added.').waitFor();
    expect(await page.getByText(/The file has no “question” column/).count()).toBe(0);
    await page.getByRole('button', { name: 'Delete question 4' }).click();
    await page.getByRole('heading', { name: 'Questions (3)' }).waitFor();
  });

  it('compares two models: progress, the scoreboard, its cells opening the answers side by side, and the report', async () => {
    const models = page.getByRole('group', { name: /^Models to ask/ });
    await models.getByLabel('Grounded Test Model').check();
    await models.getByLabel('Endless Test Model').check();
    await page.getByRole('button', { name: 'Ask 3 questions of 2 models' }).click();
    await expect.poll(() => page.getByText(/^6 of 6 answers$/).isVisible(), { timeout: 90_000 }).toBe(true);
    const result = page.getByRole('region', { name: 'Grounded Test Model vs Endless Test Model' });
    await result.getByText('Complete', { exact: true }).waitFor();

    const board = page.getByRole('table', { name: /^Scoreboard/ });
    expect(await board.getByRole('columnheader').allTextContents()).toEqual(['Measure', 'Grounded Test Model', 'Endless Test Model']);
    // Its answer holds "thirty days" for the notice question, not "1450" for the rent.
    expect(await board.getByRole('button', { name: 'Expected words, Grounded Test Model: 1 of 2 (50%). Show the answers' }).isVisible()).toBe(true);
    // Neither model refuses the question its (absent) documents cannot answer.
    expect(await board.getByRole('button', { name: /^Correct refusals, Endless Test Model: 0 of 1 \(0%\)/ }).isVisible()).toBe(true);

    await board.getByRole('button', { name: /^Expected words, Grounded Test Model/ }).click();
    await page.getByRole('heading', { name: /Answers behind “Expected words” for Grounded Test Model \(2\)/ }).waitFor();
    const answers = page.getByRole('table', { name: /Answers behind/ });
    expect(await answers.getByRole('columnheader').allTextContents()).toEqual(['Question', 'Grounded Test Model', 'Endless Test Model']);
    expect(await answers.getByRole('row').count()).toBe(3);
    expect(await answers.getByText('✓ expected words').count()).toBeGreaterThanOrEqual(1);
    // Model output is text: nothing in it is a link or markup.
    expect(await answers.locator('a, img, script').count()).toBe(0);
    await page.getByRole('button', { name: 'Show all' }).click();
    await page.getByRole('heading', { name: 'All answers, side by side' }).waitFor();

    const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Export report (Markdown)' }).click()]);
    const report = readFileSync((await download.path())!, 'utf8');
    expect(download.suggestedFilename()).toMatch(/^Evaluation General \d{4}-\d\d-\d\d\.md$/);
    expect(report).toContain('| Answers with the expected words | 1 of 2 (50%) | 0 of 2 (0%) |');
    expect(report).toContain('Grounded Test Model (SHA-256 ');

    // The library now shows each model's speed as measured on this computer.
    await page.getByRole('button', { name: 'Models', exact: true }).click();
    const card = page.getByRole('listitem', { name: 'Endless Test Model' });
    await expect.poll(() => card.textContent()).toMatch(/Measured here[\d.]+ tokens\/s \(median of 3 replies\) · first words after [\d.]+ s \(median of 3 evaluation answers\)/);
  }, 120_000);

  it('a question asked in a conversation goes into the set from its reply, the words to check left to the person', async () => {
    await page.getByRole('button', { name: 'Back to chat' }).click();
    await page.getByRole('button', { name: 'New conversation' }).first().click();
    const box = page.getByRole('textbox', { name: 'Message' });
    await box.fill('Who are the parties to the lease?');
    await box.press('Enter');
    const reply = page.getByRole('article', { name: 'Model replied' }).last();
    await reply.getByRole('button', { name: 'Add to evaluation set…' }).click({ timeout: 30_000 });
    await page.getByRole('heading', { name: 'Questions (3)' }).waitFor();
    expect(await page.getByRole('textbox', { name: 'New question' }).inputValue()).toBe('Who are the parties to the lease?');
    const expected = page.getByLabel('A right answer contains');
    await expect.poll(() => expected.evaluate((el) => el === document.activeElement)).toBe(true);
    await expected.fill('Harbor Properties; Maria Lopez');
    await page.getByRole('button', { name: 'Add question' }).click();
    await page.getByRole('heading', { name: 'Questions (4)' }).waitFor();
    expect(await page.locator('table.eval-questions').getByRole('row', { name: /Who are the parties/ }).textContent()).toContain('Harbor Properties; Maria Lopez');
  });

  it('scores models on a task table: each runs the task on its documents, a cell opens the model’s own table', async () => {
    await dropFiles(page, [TASK_MODEL, ...(await writeContracts(join(dir, 'contracts'))).slice(0, 2)]);
    await page.getByRole('button', { name: 'Documents', exact: true }).click();
    const library = page.getByRole('table', { name: 'Document library' });
    await expect.poll(async () => (await library.textContent())?.match(/Ready/g)?.length ?? 0, { timeout: 30_000 }).toBe(2);
    // The task model makes the table to check.
    await page.getByRole('button', { name: 'Models', exact: true }).click();
    await page.getByRole('listitem', { name: 'Task Test Model' }).getByRole('button', { name: 'Use this model' }).click();
    await page.getByText('Task Test Model · ready').waitFor({ timeout: 30_000 });
    await page.getByRole('button', { name: 'Tasks', exact: true }).click();
    await page.getByLabel('Task', { exact: true }).selectOption('law/clause-table');
    await page.getByRole('button', { name: 'Select all' }).click();
    await page.getByRole('button', { name: 'Run task' }).click();
    await expect.poll(() => page.getByText(/^2 of 2 documents$/).isVisible(), { timeout: 60_000 }).toBe(true);

    await page.getByRole('button', { name: 'Evaluate', exact: true }).click();
    await page.getByLabel('Or score them on a task table you checked').selectOption({ index: 1 });
    const models = page.getByRole('group', { name: /^Models to ask/ });
    await models.getByLabel('Task Test Model').check();
    await models.getByLabel('Grounded Test Model').check();
    await page.getByRole('button', { name: 'Run the task with 2 models' }).click();
    await expect.poll(() => page.getByText(/^2 of 2 tables$/).isVisible(), { timeout: 90_000 }).toBe(true);
    const board = page.getByRole('table', { name: /^Scoreboard: each model's table/ });
    // The model that made the checked table makes it again: every cell matches.
    await expect.poll(async () => board.getByRole('button', { name: /^All fields, Task Test Model: (\d+) of \1 \(100%\)\. Open its table$/ }).count()).toBe(1);
    await board.getByRole('button', { name: /^All fields, Grounded Test Model/ }).click();
    await page.getByRole('heading', { name: 'Tasks', level: 1 }).waitFor();
    // The table loads after the view opens: wait for its rows.
    await expect.poll(() => page.getByRole('table', { name: 'Clause table results, one row per document' }).getByRole('row').count()).toBe(3);
  }, 180_000);
});
