// Grounded answers end to end in Chromium: a collection, documents dropped into it, a question,
// an answer whose every sentence is linked to its words or marked as not supported, a click that
// lands on the page with those words highlighted, and a small context that still answers.
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CORPUS } from '../fixtures/corpus.ts';
import { writeCorpus } from '../fixtures/documents.ts';
import { GROUNDED_MODEL, RERANK_MODEL } from '../fixtures/paths.ts';
import { collectionWithDocuments, dropFiles, launchChromium } from '../support/browser.ts';
import { pdfWords } from '../support/pdf-text.ts';
import { CHROMIUM_OWN_HOSTS, connectsIn, dnsQuestionsIn, staysLocal, straceWorks } from '../support/egress.ts';
import { openServerDatabase, startWebServer, type RunningServer } from '../support/web-server.ts';

const dir = mkdtempSync(join(tmpdir(), 'enclave-e2e-rag-'));
let browser: Browser;
let server: RunningServer;
let page: Page;
let corpus: Record<string, string>;

// Every connect() of the server and of Chromium is recorded, to check that nothing left the machine.
const tracing = straceWorks();
const serverConnects = join(dir, 'server-connects');
const browserConnects = join(dir, 'chromium-connects');

beforeAll(async () => {
  corpus = await writeCorpus(join(dir, 'corpus'));
  browser = await launchChromium(tracing ? { traceConnects: browserConnects } : {});
  server = await startWebServer(['--data-dir', join(dir, 'data'), '--threads', '1', '--model', GROUNDED_MODEL], {}, tracing ? { traceConnects: serverConnects } : {});
  page = await browser.newPage({ viewport: { width: 1280, height: 860 } });
  await page.goto(server.url);
  await page.getByRole('button', { name: 'Documents' }).waitFor();
  // The model given on the command line has loaded (the window settles into its main layout).
  await page.getByText('Grounded Test Model · ready').waitFor({ timeout: 30_000 });
});

afterAll(async () => {
  await browser?.close();
  await server?.kill();
  rmSync(dir, { recursive: true, force: true });
});

describe('grounded answers in the browser', () => {
  it('creates a collection and drops documents into it', async () => {
    await collectionWithDocuments(page, 'Lease matter', [corpus.lease, corpus.employment], ['Lease agreement', 'Employment contract']);
    // A document outside the collection: never used for its answers.
    await page.getByRole('button', { name: 'All documents' }).click();
    await dropFiles(page, [corpus.insurance]);
    await expect.poll(() => page.getByRole('table', { name: 'Document library' }).getByRole('row', { name: 'Insurance policy' }).textContent()).toContain('Ready');
    await expect.poll(() => page.getByRole('status', { name: 'Search index' }).textContent()).toMatch(/keywords only \((\d+) passages\)/);
  });

  it('asks in a conversation tied to the collection: each sentence is linked to its words or marked; a click opens the page with the exact words highlighted', async () => {
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
    // Supported sentences are links to their source; the others are marked as not supported.
    const verified = reply.getByRole('button', { name: 'The notice period is thirty days. (source 1, open it)' });
    expect(await verified.isVisible()).toBe(true);
    expect(await reply.getByRole('button', { name: 'The lease is between Harbor Properties and Maria Lopez. (source 2, open it)' }).isVisible()).toBe(true);
    expect(await reply.locator('.claim.unsupported').allTextContents()).toEqual(['Rent doubles each year.', 'See also.']);
    expect(await reply.getByText('not in the passages found').count()).toBe(2);
    expect(await reply.getByText('2 of 4 sentences are supported by your documents; 2 could not be matched to the passages found, and are marked.').isVisible()).toBe(true);
    const source = reply.getByRole('button', { name: 'Source 1: Lease agreement, page 3' });
    expect(await source.textContent()).toContain('“notice of thirty days”');
    expect(await reply.getByText('2 citations could not be checked against the documents and are not shown.').isVisible()).toBe(true);
    // How its passages were found, as recorded with the answer: no embedding model, no reranking.
    expect(await reply.locator('.search-note').textContent()).toBe(' · Passages found by keywords only');
    expect(await reply.locator('.rerank-failed').count()).toBe(0);

    // A click on the sentence opens the document at page 3 with exactly the supporting words highlighted.
    await verified.click();
    await expect.poll(() => page.getByRole('article', { name: 'Page 3' }).locator('mark.cited').textContent()).toBe('notice of thirty days');
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

  it('exports the conversation as a record: Markdown with each sentence’s checked source or its mark; a redacted PDF with none of the redacted words', async () => {
    await page.getByRole('button', { name: 'Export…' }).click();
    const dialog = page.getByRole('dialog', { name: /^Export the conversation/ });
    await dialog.getByLabel('Markdown (.md)').check();
    const [download] = await Promise.all([page.waitForEvent('download'), dialog.getByRole('button', { name: 'Export', exact: true }).click()]);
    // Named by the conversation's title (proposed from the first question, cut to a few words).
    expect(download.suggestedFilename()).toBe('What is the notice period for terminating the_.md');
    const text = readFileSync((await download.path())!, 'utf8');
    expect(text).toMatch(/^# What is the notice period for terminating the…\n/);
    expect(text).toMatch(/\*\*Model:\*\* Grounded Test Model · SHA-256 [0-9a-f]{64}/);
    expect(text).toMatch(/\| Lease agreement \| lease\.pdf \| \d+ pages \| [0-9a-f]{64} \|/);
    expect(text).toContain('## You · ');
    expect(text).toContain('What is the notice period for terminating the lease?');
    expect(text).toContain('The notice period is thirty days. [1]');
    expect(text).toContain('Rent doubles each year. (not in the passages found)');
    expect(text).toContain('*2 of 4 sentences supported by the documents');
    expect(text).toContain('*Passages found by keywords only.*');
    expect(text).toContain('- [1] Lease agreement, page 3 — “notice of thirty days”');
    expect(text).toContain('*2 citations could not be checked against the documents and are not listed.*');
    expect(text).toContain('I could not find anything about this in “Lease matter”');
    await expect.poll(() => page.getByText(/^Saved What is the notice period for terminating the_\.md\. Its SHA-256, [0-9a-f]{12}…, is in the audit trail\.$/).isVisible()).toBe(true);

    // Redacted, as PDF: the tenant's name is not found by pattern (no title or label), so it is added by hand.
    await page.getByRole('button', { name: 'Export…' }).click();
    await dialog.getByLabel('PDF').check();
    await dialog.getByRole('checkbox', { name: /^Redact personal identifiers/ }).check();
    await dialog.getByLabel('Another term to redact').fill('Maria Lopez');
    await dialog.getByRole('button', { name: 'Add', exact: true }).click();
    await expect.poll(() => dialog.getByRole('list', { name: 'Your terms to redact' }).textContent()).toContain('Maria Lopez');
    const terms = await dialog.getByRole('button', { name: /^Export with \d+ terms? redacted$/ }).textContent();
    const [pdf] = await Promise.all([page.waitForEvent('download'), dialog.getByRole('button', { name: terms! }).click()]);
    expect(pdf.suggestedFilename()).toBe('What is the notice period for terminating the_ (redacted).pdf');
    const words = await pdfWords(readFileSync((await pdf.path())!));
    expect(words).toContain('notice of thirty days');
    expect(words).not.toContain('Maria Lopez');
    expect(words).toContain('[REDACTED]');
    expect(words).toMatch(/Redacted: \d+ occurrences? of \d+ personal identifiers? reviewed by/);
  });

  it('with the smallest context, long passages are fitted to it: the answer comes, marked, never an error about the question', async () => {
    // A handbook of long paragraphs: its passages are larger than what a 512-token context can take.
    const paragraph = (n: number) =>
      `Section ${n}. A tenant who wishes to terminate the lease must give written notice to the landlord. ` +
      'The notice must state the date on which the tenant intends to leave, and it must be delivered by hand or by registered post. '.repeat(6);
    const handbook = join(dir, 'corpus', 'tenant-handbook.txt');
    writeFileSync(handbook, [1, 2, 3].map(paragraph).join('\n\n'));
    await page.getByRole('button', { name: 'Documents', exact: true }).click();
    // The reader is still open on the page cited earlier: back to the library.
    await page.getByRole('button', { name: '← All documents' }).click();
    await page.getByLabel('New collection name').fill('Handbook');
    await page.getByRole('button', { name: 'Create' }).click();
    await expect.poll(() => page.getByRole('group', { name: 'Collections' }).getByRole('button', { name: /^Handbook/ }).isVisible()).toBe(true);
    await page.getByRole('group', { name: 'Collections' }).getByRole('button', { name: /^Handbook/ }).click();
    await dropFiles(page, [handbook]);
    await expect.poll(() => page.getByRole('table', { name: 'Document library' }).getByRole('row', { name: 'tenant-handbook' }).textContent()).toContain('Ready');

    // The smallest context Enclave allows, set as a user would.
    await page.getByRole('button', { name: 'Settings' }).click();
    await page.getByLabel('Context size (tokens)').fill('512');
    await page.getByRole('button', { name: 'Save settings' }).click();
    await expect.poll(() => page.getByLabel('Context size (tokens)').inputValue()).toBe('512');
    // The model reloads with the new context.
    await expect.poll(() => page.getByText('Grounded Test Model · ready').isVisible(), { timeout: 30_000 }).toBe(true);
    await page.getByRole('button', { name: 'Back to chat' }).click();
    await page.getByRole('button', { name: 'New conversation' }).first().click();
    await expect.poll(() => page.getByRole('article', { name: 'Model replied' }).count()).toBe(0);
    await page.getByText('Answer from:').click();
    await page.getByLabel('Handbook').check();
    await expect.poll(() => page.getByRole('group', { name: 'Where answers come from' }).textContent()).toContain('Answers cite 1 document');
    await page.getByText('Answer from:').click();
    const box = page.getByRole('textbox', { name: 'Message' });
    await box.fill('How must a tenant terminate the lease?');
    await box.press('Enter');
    const reply = page.getByRole('article', { name: 'Model replied' }).last();
    await expect.poll(() => reply.getByRole('button', { name: 'Regenerate' }).isVisible(), { timeout: 30_000 }).toBe(true);
    expect(await reply.getAttribute('data-status')).toBe('complete');
    expect(await reply.textContent()).not.toMatch(/does not fit|context size/i);
    // Its sentences are checked against the fitted passages like any other answer.
    expect(await reply.locator('.claim').count()).toBeGreaterThan(0);
  });

  it('a cited document deleted later: its citations say so instead of opening nothing, and its collection counts one fewer', async () => {
    await page.getByRole('button', { name: 'Documents', exact: true }).click();
    await page.getByRole('group', { name: 'Collections' }).getByRole('button', { name: 'All documents' }).click();
    const row = page.getByRole('table', { name: 'Document library' }).getByRole('row', { name: 'Lease agreement' });
    await row.getByRole('button', { name: /^Delete/ }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Delete' }).click();
    await expect.poll(() => page.getByRole('table', { name: 'Document library' }).getByRole('row', { name: 'Lease agreement' }).count()).toBe(0);
    await page.getByRole('button', { name: 'Back to chat' }).click();
    await page.getByRole('button', { name: /^What is the notice period/ }).click();
    const reply = page.getByRole('article', { name: 'Model replied' }).first();
    await expect.poll(() => reply.getByLabel('Source 1: Lease agreement, page 3 (deleted from the library)').isVisible()).toBe(true);
    expect(await reply.getByText('source deleted from the library').first().isVisible()).toBe(true);
    // The collection it was in counts one document fewer, without a reload.
    await page.getByText('Answer from:').click();
    await expect.poll(() => page.getByRole('group', { name: 'Where answers come from' }).locator('label', { hasText: 'Lease matter' }).textContent()).toContain('(1)');
  });

  it('the audit trail shows who asked what, the passages given, the answers and their checked sources, the export and the deletion; a change made to the file afterwards is found at its entry', async () => {
    await page.getByRole('navigation', { name: 'Conversations' }).getByRole('button', { name: 'Audit trail' }).click();
    const entries = page.getByRole('table', { name: 'Audit entries' });
    await entries.waitFor();
    await entries.getByText('Deleted the document “lease.pdf”').waitFor();
    // Both exports, each with its file.
    await entries.getByText(/^Exported the conversation “What is the notice period.*” as What is the notice period for terminating the_ \(redacted\)\.pdf \(\d+ identifiers? redacted\)$/).waitFor();
    await entries.getByText(/^Exported the conversation “What is the notice period.*” as What is the notice period for terminating the_\.md$/).waitFor();

    await page.getByLabel('Show').selectOption({ label: 'Questions asked' });
    await expect.poll(() => entries.getByRole('row').count()).toBeGreaterThan(1);
    const questions = await entries.locator('tbody tr td.audit-summary span').allTextContents();
    expect(questions).toContain('Asked: What is the notice period for terminating the lease?');
    expect(questions.every((q) => /^Asked: /.test(q))).toBe(true);

    await page.getByLabel('Show').selectOption({ label: 'Answers' });
    await expect.poll(() => entries.locator('tbody tr td.audit-summary span').first().textContent()).toMatch(/^Grounded Test Model answered|^Answered without the model/);
    const answers = await entries.locator('tbody tr td.audit-summary span').allTextContents();
    expect(answers.some((a) => /^Grounded Test Model answered \(complete\): [1-9]\d* checked sources?/.test(a))).toBe(true);

    await page.getByLabel('Show').selectOption({ label: 'Passages retrieved' });
    await expect.poll(() => entries.locator('tbody tr td.audit-summary span').last().textContent()).toMatch(/^Retrieved \d+ passages?: Lease agreement p\. \d/);
    // Details are shown as text: the question's own words, never markup.
    await entries.getByRole('button', { name: /^Details of entry/ }).last().click();
    expect(await entries.locator('pre.audit-details').textContent()).toContain('"document": "Lease agreement"');

    await page.getByLabel('Show').selectOption({ label: 'Everything' });
    await page.getByRole('button', { name: 'Verify the chain' }).click();
    await expect.poll(() => page.getByRole('status').filter({ hasText: /^Intact: all \d+ entries are as they were written/ }).isVisible()).toBe(true);

    const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Export (JSONL)' }).click()]);
    expect(download.suggestedFilename()).toMatch(/^enclave-audit-trail-\d{4}-\d{2}-\d{2}\.jsonl$/);
    const lines = readFileSync((await download.path())!, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { seq: number; action: string; summary: string });
    expect(lines.some((l) => l.summary === 'Asked: What is the notice period for terminating the lease?')).toBe(true);
    await expect.poll(() => entries.locator('tbody tr td.audit-summary span').first().textContent()).toMatch(/^Exported the audit trail as enclave-audit-trail-/);

    // Someone with the database file, its key and a SQLite tool changes what was asked.
    const asked = lines.find((l) => l.summary === 'Asked: What is the notice period for terminating the lease?')!;
    const raw = openServerDatabase(join(dir, 'data'));
    raw.exec('DROP TRIGGER audit_log_no_update');
    raw.prepare("UPDATE audit_log SET summary = 'Asked: What is the rent?' WHERE seq = ?").run(asked.seq);
    raw.close();
    await page.getByRole('button', { name: 'Verify the chain' }).click();
    await expect.poll(() => page.getByRole('alert').filter({ hasText: 'Not intact' }).textContent()).toBe(
      `Not intact: Entry ${asked.seq} was changed after it was written: its contents no longer match its seal.`,
    );
  });

  it('with a reranking model chosen, an answer says its passages were reranked, and by which model; earlier answers keep what happened then', async () => {
    await page.getByRole('button', { name: 'Models' }).click();
    await page.getByLabel('Choose a GGUF model file').setInputFiles(RERANK_MODEL);
    const reranker = page.getByRole('list', { name: 'Model library' }).getByRole('listitem', { name: 'Tiny Reranker' });
    await reranker.getByRole('button', { name: 'Use for reranking' }).click();
    await page.getByText('Search results are reranked by Tiny Reranker.').waitFor();
    await page.getByRole('button', { name: 'Back to chat' }).click();
    // Every note shown in the reply's place before its first words, as the page showed it.
    await page.evaluate(() => {
      const w = window as unknown as { stageNotes: string[] };
      w.stageNotes = [];
      new MutationObserver(() => {
        for (const note of document.querySelectorAll('.stage-note')) {
          const text = note.textContent ?? '';
          if (w.stageNotes.at(-1) !== text) w.stageNotes.push(text);
        }
      }).observe(document.body, { subtree: true, childList: true, characterData: true });
    });
    const box = page.getByRole('textbox', { name: 'Message' });
    await box.fill('How long is the probation period for the employee?');
    await box.press('Enter');
    const reply = page.getByRole('article', { name: 'Model replied' }).last();
    await expect.poll(() => reply.locator('.search-note').textContent(), { timeout: 30_000 }).toBe(' · Passages found by keywords only, reranked by Tiny Reranker');
    expect(await reply.locator('.rerank-failed').count()).toBe(0);
    const notes = await page.evaluate(() => (window as unknown as { stageNotes: string[] }).stageNotes);
    expect(notes[0]).toBe('Searching your documents…');
    expect(notes[1]).toMatch(/^Reranking the best \d+ passages with Tiny Reranker…$/);
    expect(notes[2]).toMatch(/^Reading \d+ passages? before answering…$/);
    expect(await reply.locator('.stage-note').count()).toBe(0);
    // The first answer of this conversation was not reranked, and still says so.
    expect(await page.getByRole('article', { name: 'Model replied' }).first().locator('.search-note').textContent()).toBe(' · Passages found by keywords only');
  });

  it('at rest, nothing under the data folder holds the documents’ words, the questions or the answers in the clear', async () => {
    const files: string[] = [];
    const walk = (d: string) => {
      for (const entry of readdirSync(d, { withFileTypes: true })) {
        const path = join(d, entry.name);
        if (entry.isDirectory()) walk(path);
        else if (entry.isFile()) files.push(path);
      }
    };
    walk(join(dir, 'data'));
    // The database and its write-ahead log (live, the server still running), and the copies of
    // the documents dropped on the window.
    expect(files.some((f) => f.endsWith('enclave.db'))).toBe(true);
    expect(files.filter((f) => f.endsWith('.enclave-enc')).length).toBeGreaterThanOrEqual(2);
    // A sentence of every page of the documents still in the library, the question, the answer's model.
    const phrases = [
      ...CORPUS.filter((d) => d.key === 'employment' || d.key === 'insurance').flatMap((d) => d.pages.map((p) => p.split('. ')[0])),
      'What is the notice period for terminating the lease',
      'Grounded Test Model answered',
    ];
    expect(phrases.length).toBeGreaterThan(6);
    for (const file of files) {
      const bytes = readFileSync(file);
      for (const phrase of phrases) expect(bytes.includes(Buffer.from(phrase, 'utf8')), `“${phrase}” in ${file}`).toBe(false);
    }
  });

  // strace is installed by .ci/run; where it cannot trace (ptrace forbidden), this says so as skipped.
  it.skipIf(!tracing)('nothing left the machine: through this whole workflow Enclave connected only to local sockets and loopback, and nothing it showed made the browser look anything up', () => {
    const fromBrowser = connectsIn(browserConnects);
    const fromServer = connectsIn(serverConnects);
    // The tracing saw the browser reach the server (so it was recording).
    expect(fromBrowser.some((c) => c.family === 'AF_INET' && c.address === '127.0.0.1' && c.line.includes(`htons(${new URL(server.origin).port})`))).toBe(true);
    // Enclave: not one connection off this machine, not one name looked up.
    expect(fromServer.filter((c) => !staysLocal(c)).map((c) => `${c.program ?? 'a thread'}: ${c.line}`)).toEqual([]);
    expect(dnsQuestionsIn(serverConnects)).toEqual([]);
    // The browser: the only names it asked about are its own services' (sign-in, updates), never
    // one from a page Enclave showed; and it opened no connection anywhere else (only DNS, and
    // Chromium's routing probe: a UDP connect that sends nothing).
    const asked = dnsQuestionsIn(browserConnects);
    expect(asked.filter((name) => !CHROMIUM_OWN_HOSTS.test(name))).toEqual([]);
    const elsewhere = fromBrowser.filter((c) => !staysLocal(c) && !c.line.includes('htons(53)') && !/"2001:4860:4860::8888"|"8\.8\.8\.8"/.test(c.line));
    expect(elsewhere.map((c) => c.line)).toEqual([]);
  });
});
