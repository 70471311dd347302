// Documents end to end in Chromium through browser mode: drop files on the window, watch them
// being read, open the library and read pages, unlock a protected PDF, see clear errors.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateDocumentFixtures, makePdf, pageSentence, type DocumentFixtures } from '../fixtures/documents.ts';
import { dropFiles, launchChromium } from '../support/browser.ts';
import { openServerDatabase, startWebServer, type RunningServer } from '../support/web-server.ts';

const dir = mkdtempSync(join(tmpdir(), 'enclave-e2e-docs-'));
let browser: Browser;
let server: RunningServer;
let page: Page;
let fx: DocumentFixtures;
let bigPdf: string;

beforeAll(async () => {
  fx = await generateDocumentFixtures();
  bigPdf = join(dir, 'deposition.pdf');
  writeFileSync(bigPdf, await makePdf(1500, { title: 'Deposition of the witness' }));
  browser = await launchChromium();
  server = await startWebServer(['--data-dir', join(dir, 'data'), '--threads', '1']);
  page = await browser.newPage({ viewport: { width: 1280, height: 860 } });
  await page.goto(server.url);
  // A model is not needed to read documents, but the app's main screens come after the first run.
  await page.getByLabel('Choose a GGUF model file').waitFor();
});

afterAll(async () => {
  await browser?.close();
  await server?.kill();
  rmSync(dir, { recursive: true, force: true });
});

describe('documents in the browser', () => {
  it('files dropped during first run are kept, and the user is told', async () => {
    await dropFiles(page, [fx.docx3]);
    await expect.poll(() => page.getByText('Added to your documents.').isVisible()).toBe(true);
  });

  it('drop two files: each shows its own progress, then both are in the library', async () => {
    const { SUMMARY_MODEL } = await import('../fixtures/paths.ts');
    await page.getByLabel('Choose a GGUF model file').setInputFiles(SUMMARY_MODEL);
    await page.getByRole('button', { name: 'Documents' }).waitFor();
    await page.getByRole('button', { name: 'Documents' }).click();

    await dropFiles(page, [bigPdf, fx.pdf12]);
    const library = page.getByRole('table', { name: 'Document library' });
    // Named by the file until the PDF's own title has been read.
    const reading = page.getByRole('progressbar', { name: /^Reading (deposition|Deposition of the witness)$/ });
    await expect.poll(() => reading.isVisible(), { interval: 25, timeout: 30_000 }).toBe(true);
    await expect.poll(async () => library.getByRole('row', { name: 'Deposition of the witness' }).textContent(), { timeout: 60_000 }).toContain('Ready');
    await expect.poll(async () => library.getByRole('row', { name: 'Lease of 12 pages' }).textContent(), { timeout: 30_000 }).toContain('Ready');
    expect(await library.getByRole('row', { name: 'Deposition of the witness' }).textContent()).toContain('1500 pages');
    expect(await library.getByRole('row', { name: 'discharge-letter' }).textContent()).toContain('3 pages');
  });

  it('opens a document and reads it page by page, keeping page numbers', async () => {
    await page.getByRole('button', { name: 'Lease of 12 pages', exact: true }).click();
    await expect.poll(() => page.getByRole('article', { name: 'Page 1' }).textContent()).toContain(pageSentence(1));
    await page.getByRole('button', { name: 'Next' }).click();
    await expect.poll(() => page.getByRole('article', { name: 'Page 2' }).textContent()).toContain(pageSentence(2));
    await page.getByLabel('Page', { exact: true }).fill('11');
    await page.getByLabel('Page', { exact: true }).press('Enter');
    await expect.poll(() => page.getByRole('article', { name: 'Page 11' }).textContent()).toContain(pageSentence(11));
  });

  it('summarizes with page citations; a citation opens its page; the summary exports as Markdown', async () => {
    await page.getByLabel('Kind of summary').selectOption('legal');
    // What the progress line says while it runs (it may be quick: every change is recorded).
    await page.evaluate(() => {
      const seen: string[] = ((window as unknown as { __progress: string[] }).__progress = []);
      new MutationObserver(() => {
        const line = document.querySelector('[aria-label="Summary in progress"]')?.textContent?.trim();
        if (line && seen[seen.length - 1] !== line) seen.push(line);
      }).observe(document.body, { subtree: true, childList: true, characterData: true });
    });
    await page.getByRole('button', { name: 'Summarize' }).click();
    const saved = page.getByRole('article', { name: 'Legal: parties, dates, obligations, risks summary' });
    await saved.waitFor({ timeout: 60_000 });
    const progressLines = await page.evaluate(() => (window as unknown as { __progress: string[] }).__progress);
    // One overall count across sections and combining, with the time left once a step is done.
    expect(progressLines.join(' | ')).toMatch(/(Reading section 1 of \d+|Writing the summary) · step 1 of \d+…/);
    // After the first step, the time left (when there is more than one step).
    const steps = Number(/step 1 of (\d+)/.exec(progressLines.join(' '))![1]);
    if (steps > 1) expect(progressLines.join(' | ')).toMatch(/step 2 of \d+ · about \d+ (s|min) left…/);
    const citation = saved.getByRole('link', { name: /^p\. \d+/ }).first();
    const label = (await citation.textContent())!;
    const cited = Number(/p\. (\d+)/.exec(label)![1]);
    expect(cited).toBeGreaterThanOrEqual(1);
    expect(cited).toBeLessThanOrEqual(12);
    // We are on page 11; the citation takes the reader to the page it names, without navigating away.
    const url = page.url();
    await citation.click();
    await expect.poll(() => page.getByRole('article', { name: `Page ${cited}` }).textContent()).toContain(pageSentence(cited));
    expect(page.url()).toBe(url);

    await saved.getByRole('button', { name: 'Export…' }).click();
    const dialog = page.getByRole('dialog', { name: /^Export the legal summary/ });
    await dialog.getByLabel('Markdown (.md)').check();
    const [file] = await Promise.all([page.waitForEvent('download'), dialog.getByRole('button', { name: 'Export', exact: true }).click()]);
    expect(file.suggestedFilename()).toBe('Lease of 12 pages - legal summary.md');
    const text = readFileSync((await file.path())!, 'utf8');
    expect(text).toMatch(/^# Legal: parties, dates, obligations, risks summary of “Lease of 12 pages”/);
    expect(text).toMatch(/\| Lease of 12 pages \| [^|]+\.pdf \| 12 pages \| [0-9a-f]{64} \|/);
    expect(text).toMatch(/\[p\. \d+(–\d+)?\]/);

    // Saved with the document: still there after reopening it.
    await page.getByRole('button', { name: '← All documents' }).click();
    await page.getByRole('button', { name: 'Lease of 12 pages', exact: true }).click();
    await expect.poll(() => saved.isVisible()).toBe(true);
    await page.getByRole('button', { name: '← All documents' }).click();
  });

  it('a protected PDF asks for its password; a wrong one says so; the right one opens it', async () => {
    await page.getByLabel('Choose documents').setInputFiles(fx.encryptedPdf);
    const row = page.getByRole('row', { name: 'encrypted' });
    await row.getByLabel('This PDF is protected. Password:').waitFor();
    await row.getByLabel('This PDF is protected. Password:').fill('guess');
    await row.getByRole('button', { name: 'Open' }).click();
    await expect.poll(() => row.getByRole('alert').textContent()).toContain('That password is not right');
    await row.getByLabel('This PDF is protected. Password:').fill('open sesame');
    await row.getByRole('button', { name: 'Open' }).click();
    // Once open, the PDF's own title (from its metadata) replaces the file name.
    await expect.poll(() => page.getByRole('row', { name: 'Generated lease' }).textContent()).toContain('Ready');
    expect(await page.getByRole('row', { name: 'Generated lease' }).textContent()).toContain('2 pages');
  });

  it('an unsupported file gets a clear message and nothing else changes', async () => {
    const rowsBefore = await page.getByRole('table', { name: 'Document library' }).getByRole('row').count();
    await page.getByLabel('Choose documents').setInputFiles(fx.unsupported);
    await expect.poll(() => page.getByRole('list', { name: 'Files being added' }).getByRole('alert').textContent()).toContain('is a PowerPoint presentation; export it to PDF');
    expect(await page.getByRole('table', { name: 'Document library' }).getByRole('row').count()).toBe(rowsBefore);
  });

  it('a file name keeps its accents and CJK characters; what could not be read is said under the document', async () => {
    await page.getByLabel('Choose documents').setInputFiles([fx.unicodeName, fx.withNotes]);
    const library = page.getByRole('table', { name: 'Document library' });
    await expect.poll(() => library.getByRole('row', { name: 'résumé 日本語' }).textContent(), { timeout: 30_000 }).toContain('Ready');
    const letter = library.getByRole('row', { name: 'letter-with-logo' });
    await expect.poll(() => letter.textContent(), { timeout: 30_000 }).toContain('Ready');
    expect(await letter.textContent()).toContain('RTF');
    const notes = letter.getByRole('group').filter({ hasText: 'Reading notes (1)' });
    expect(await notes.textContent()).toContain('A picture was not read: text inside pictures is not recognised in RTF files.');
    // The uploaded copy is kept under its own name in the data folder, encrypted.
    const { readdirSync } = await import('node:fs');
    const uploads = join(dir, 'data', 'documents');
    expect(readdirSync(uploads).some((d) => readdirSync(join(uploads, d)).includes('résumé 日本語.txt.enclave-enc'))).toBe(true);
  });

  it('a photo of a faded page is read by OCR, and the reader flags the page OCR was unsure of', async () => {
    await page.getByLabel('Choose documents').setInputFiles(fx.fadedCopy);
    const library = page.getByRole('table', { name: 'Document library' });
    const row = library.getByRole('row', { name: 'faded-referral' });
    await expect.poll(() => row.textContent(), { timeout: 60_000 }).toContain('Ready');
    expect(await row.textContent()).toContain('Image');
    expect(await row.textContent()).toContain('OCR was unsure of page 1');
    await row.getByRole('button', { name: 'faded-referral', exact: true }).click();
    await expect.poll(() => page.getByRole('note').textContent()).toMatch(/Read by OCR, which was unsure of this page \(\d+% confidence\): words may be misread/);
    await page.getByRole('button', { name: '← All documents' }).click();
  });

  it('a document dropped on a conversation is shared with it, and the model answers with it', async () => {
    await page.getByRole('button', { name: 'Back to chat' }).click();
    await page.getByRole('button', { name: 'New conversation' }).first().click();
    await page.getByRole('textbox', { name: 'Message' }).waitFor(); // the conversation is open
    await dropFiles(page, [fx.markdown]);
    const shared = page.getByRole('group', { name: 'Documents in this conversation' });
    await expect.poll(() => shared.textContent()).toContain('minutes');
    await page.getByLabel('Attach a document').selectOption({ label: 'Lease of 12 pages' });
    await expect.poll(() => shared.textContent()).toContain('Lease of 12 pages');
    const box = page.getByRole('textbox', { name: 'Message' });
    await box.fill('What was decided about the budget?');
    await box.press('Enter');
    await expect.poll(() => page.getByRole('article', { name: 'Model replied' }).last().getByRole('button', { name: 'Regenerate' }).isVisible(), { timeout: 60_000 }).toBe(true);
    await shared.getByRole('button', { name: 'Stop sharing minutes' }).click();
    await expect.poll(() => shared.getByRole('button', { name: 'Stop sharing minutes' }).count()).toBe(0);
    expect(await shared.getByRole('button', { name: 'Stop sharing Lease of 12 pages' }).count()).toBe(1);
    // It can be shared again from the picker.
    expect(await page.getByLabel('Attach a document').textContent()).toContain('minutes');
    await page.getByRole('button', { name: 'Documents' }).click();
  });

  it('a collection’s retention rule deletes what is past its time after a review; a legal hold keeps what it covers', async () => {
    const library = page.getByRole('table', { name: 'Document library' });
    await page.getByLabel('New collection name').fill('Closed matter');
    await page.getByRole('button', { name: 'Create' }).click();
    await expect.poll(() => page.getByRole('status', { name: 'Retention' }).textContent()).toMatch(/Keeps documents forever, conversations forever\./);
    const intake = join(dir, 'old-intake.txt');
    writeFileSync(intake, 'Intake note from a matter closed long ago.\n');
    await dropFiles(page, [intake]);
    await expect.poll(() => library.getByRole('row', { name: 'old-intake' }).textContent()).toContain('Ready');
    // Added 400 days ago, as far as the library knows.
    const db = openServerDatabase(join(dir, 'data'));
    db.prepare('UPDATE documents SET created_at = ? WHERE title = ?').run(Date.now() - 400 * 86_400_000, 'old-intake');
    db.close();

    await page.getByRole('button', { name: 'Retention of Closed matter' }).click();
    const dialog = page.getByRole('dialog', { name: 'Retention of “Closed matter”' });
    await dialog.getByRole('group', { name: 'Documents' }).getByRole('radio').nth(1).check();
    await dialog.getByLabel('Days documents are kept').fill('365');
    await dialog.getByRole('button', { name: 'Review…' }).click();
    const due = dialog.getByRole('list', { name: 'Deleted when saved' });
    await expect.poll(() => due.textContent()).toMatch(/Document “old-intake”: added .* \(400 days ago\)/);
    // Nothing is deleted before the user says so.
    expect(await library.getByRole('row', { name: 'old-intake' }).count()).toBe(1);
    await dialog.getByRole('button', { name: 'Delete 1 and save' }).click();
    await expect.poll(() => page.getByText('Retention of “Closed matter” saved. Deleted 1 document.').isVisible()).toBe(true);
    await expect.poll(() => library.getByRole('row', { name: 'old-intake' }).count()).toBe(0);
    expect(await page.getByRole('status', { name: 'Retention' }).textContent()).toMatch(/Keeps documents 365 days after they were added/);

    // A legal hold: a document it covers cannot be deleted by hand.
    const memo = join(dir, 'held-memo.txt');
    writeFileSync(memo, 'Memo about the dispute, to be preserved.\n');
    await dropFiles(page, [memo]);
    await expect.poll(() => library.getByRole('row', { name: 'held-memo' }).textContent()).toContain('Ready');
    await page.getByRole('button', { name: 'Retention of Closed matter' }).click();
    await dialog.getByRole('checkbox', { name: /Hold everything in this collection/ }).check();
    // A hold needs its reason before it can be reviewed.
    await expect.poll(() => dialog.getByRole('alert').textContent()).toContain('Say why the collection is held');
    expect(await dialog.getByRole('button', { name: 'Review…' }).isDisabled()).toBe(true);
    await dialog.getByLabel('Reason for the legal hold').fill('Supplier v. Clinic, 26-114');
    await dialog.getByRole('button', { name: 'Review…' }).click();
    await expect.poll(() => dialog.getByText('Saving deletes nothing now.').isVisible()).toBe(true);
    await dialog.getByRole('button', { name: 'Save', exact: true }).click();
    await expect.poll(() => page.getByRole('status', { name: 'Retention' }).textContent()).toMatch(/Legal hold since .*: Supplier v\. Clinic, 26-114\. Nothing in it is deleted\./);
    expect(await library.getByRole('row', { name: 'held-memo' }).getByText('Legal hold').isVisible()).toBe(true);
    await page.getByRole('button', { name: 'Delete held-memo' }).click();
    await page.getByRole('dialog', { name: 'Delete this document?' }).getByRole('button', { name: 'Delete' }).click();
    await expect.poll(() => page.getByText(/“held-memo” is under a legal hold: “Closed matter” \(Supplier v\. Clinic, 26-114\)/).isVisible()).toBe(true);
    expect(await library.getByRole('row', { name: 'held-memo' }).count()).toBe(1);

    // The audit trail says what retention deleted, and when the hold was placed.
    await page.getByRole('button', { name: 'Audit trail' }).click();
    await page.getByLabel('Show').selectOption('retention');
    const entries = page.getByRole('table', { name: 'Audit entries' });
    await expect.poll(() => entries.textContent()).toMatch(/Deleted by retention: the document “old-intake” \(added 400 days ago; kept 365 days by “Closed matter”\)/);
    expect(await entries.textContent()).toContain('Legal hold on “Closed matter”: Supplier v. Clinic, 26-114');
    await page.getByRole('button', { name: 'Documents' }).click();
    await page.getByRole('button', { name: 'All documents' }).click();
  });

  it('deletes a document after confirmation', async () => {
    await page.getByRole('button', { name: 'Delete discharge-letter' }).click();
    await page.getByRole('dialog', { name: 'Delete this document?' }).getByRole('button', { name: 'Delete' }).click();
    await expect.poll(() => page.getByRole('row', { name: 'discharge-letter' }).count()).toBe(0);
  });
});
