// The document's words first, in Chromium: with a model whose answer does not hold (it reverses who
// grants what), the reply opens with the sentences of the contract that answer the question —
// the governing-law clause, not the title block or the signatures — quoted with their page, and the
// model's text follows collapsed and marked. Contract text: CUAD v1 (The Atticus Project,
// CC BY 4.0), the Driven Deliveries consulting agreement and the Pey Dirt endorsement agreement.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeMixedPdf } from '../fixtures/documents.ts';
import { REVERSED_MODEL } from '../fixtures/paths.ts';
import { collectionWithDocuments, launchChromium } from '../support/browser.ts';
import { startWebServer, type RunningServer } from '../support/web-server.ts';

const dir = mkdtempSync(join(tmpdir(), 'enclave-e2e-evidence-'));
let browser: Browser;
let server: RunningServer;
let page: Page;
let consulting: string;
let endorsement: string;

const CONSULTING = [
  'Exhibit 10.4 CONSULTING AGREEMENT This Consulting Agreement ("Agreement") is made and entered into as of May 1, 2019 ("Effective Date") by and between Driven Deliveries, Inc. ("Company"), a Nevada corporation, and TruckThat LLC ("Consultant"). Company and Consultant shall sometimes be referred to herein singularly as a "Party" or collectively as the "Parties" to this Agreement.',
  "12. Miscellaneous. 12.1. Governing Law; Consent to Personal Jurisdiction. This Agreement shall be governed by the laws of the State of California, without regard to the conflicts of law provisions of any jurisdiction. To the extent that any lawsuit is permitted under this Agreement, the Parties hereby expressly consent to the personal and exclusive jurisdiction and venue of the state and federal courts located in the County of San Diego, California.",
  'IN WITNESS, the Parties have executed this Consulting Agreement as of the date first-written above. "Company" DRIVEN DELIVERIES, INC. By: /s/ Brian Hayek BRIAN HAYEK, President "Consultant" TruckThat LLC By: /s/ Christian L. Schenk',
];
const ENDORSEMENT = [
  'ENDORSEMENT AGREEMENT This agreement is made between Warning Management Services, Inc. ("Company") and PEY DIRT, INC. ("Pey Dirt") for the services of Peyton Manning.',
  '(a) Pey Dirt grants to Company the exclusive right and license to use Manning Identification within the Contract Territory during the Contract Period in connection with the advertisement and promotion by Company of Products in television, radio, print and point of purchase.',
];

beforeAll(async () => {
  consulting = join(dir, 'driven-deliveries-consulting-agreement.pdf');
  endorsement = join(dir, 'pey-dirt-endorsement-agreement.pdf');
  writeFileSync(consulting, await makeMixedPdf(CONSULTING.map((text) => ({ text })), 'Consulting Agreement'));
  writeFileSync(endorsement, await makeMixedPdf(ENDORSEMENT.map((text) => ({ text })), 'Endorsement Agreement'));
  browser = await launchChromium();
  server = await startWebServer(['--data-dir', join(dir, 'data'), '--threads', '1', '--model', REVERSED_MODEL]);
  page = await browser.newPage({ viewport: { width: 1280, height: 860 } });
  await page.goto(server.url);
  await page.getByText('Reversed Roles Model · ready').waitFor({ timeout: 30_000 });
});

afterAll(async () => {
  await browser?.close();
  await server?.kill();
  rmSync(dir, { recursive: true, force: true });
});

async function ask(question: string) {
  const box = page.getByRole('textbox', { name: 'Message' });
  await box.fill(question);
  await box.press('Enter');
  const reply = page.getByRole('article', { name: 'Model replied' }).last();
  await expect.poll(() => reply.locator('.model-answer, .grounding-banner, .claim').count(), { timeout: 30_000 }).toBeGreaterThan(0);
  return reply;
}

describe('the document’s words lead', () => {
  it('asks in a conversation tied to a collection of two contracts', async () => {
    await collectionWithDocuments(page, 'Smith matter – contracts', [consulting, endorsement], ['Consulting Agreement', 'Endorsement Agreement']);
    await page.getByRole('button', { name: 'Back to chat' }).click();
    await page.getByRole('button', { name: 'New conversation' }).first().click();
    await page.getByText('Answer from:').click();
    await page.getByLabel('Smith matter – contracts').check();
    await expect.poll(() => page.getByRole('group', { name: 'Where answers come from' }).textContent()).toContain('Answers cite 2 documents');
    await page.getByText('Answer from:').click();
  });

  it('a governing-law question opens with the clause, quoted with its document and page; the model’s text follows collapsed and marked', async () => {
    const reply = await ask('Which state’s law governs the Driven Deliveries consulting agreement?');
    const evidence = reply.getByRole('group', { name: 'What the documents say' });
    expect(await evidence.locator('.evidence-head').textContent()).toBe('“Consulting Agreement” says:');
    const quotes = (await evidence.locator('.evidence-quote').allTextContents()).map((q) => q.replace(/\s+/g, ' '));
    expect(quotes[0]).toContain('This Agreement shall be governed by the laws of the State of California');
    expect(quotes[0]).toContain('— Consulting Agreement, p. 2');
    // Neither the title block nor the signature block is offered as what the contract says.
    expect(quotes.join(' ')).not.toMatch(/By: \/s\/|Exhibit 10\.4/);
    // The document's words come first; the model's answer after them, closed, and marked.
    const order = await reply.evaluate((el) => [...el.querySelectorAll('.evidence, .model-answer')].map((x) => x.className));
    expect(order[0]).toContain('evidence');
    const model = reply.locator('details.model-answer');
    expect(await model.evaluate((d) => (d as HTMLDetailsElement).open)).toBe(false);
    expect(await model.locator('summary').textContent()).toContain('not supported by the passages found');
    expect(await reply.locator('.claim.verified').count()).toBe(0);
    // A click on the quote opens the page with the clause highlighted.
    await evidence.locator('.evidence-quote').first().click();
    await expect.poll(() => page.getByRole('article', { name: 'Page 2' }).locator('mark.cited').textContent().then((t) => t?.replace(/\s+/g, ' '))).toContain('governed by the laws of the State of California');
    await page.getByRole('button', { name: 'Back to chat' }).click();
  });

  it('a sentence that reverses who grants the license is not shown as verified, although every word of it is in the passage', async () => {
    const reply = await ask('Who grants the license to use the Manning Identification?');
    const model = reply.locator('details.model-answer');
    await model.locator('summary').click();
    expect((await model.locator('.claim.unsupported').textContent())?.replace(/\s+/g, ' ')).toBe('Company grants to Pey Dirt the exclusive right and license to use Manning Identification.');
    expect(await reply.locator('.claim.verified').count()).toBe(0);
    const evidence = reply.getByRole('group', { name: 'What the documents say' });
    expect((await evidence.locator('.evidence-quote').first().textContent())?.replace(/\s+/g, ' ')).toContain('Pey Dirt grants to Company the exclusive right and license to use Manning Identification');
  });

  it('a question the contracts cannot answer gets a plain “the documents do not say”, before and instead of a model answer', async () => {
    const box = page.getByRole('textbox', { name: 'Message' });
    await box.fill('What is the hourly rate of the Consultant?');
    await box.press('Enter');
    const reply = page.getByRole('article', { name: 'Model replied' }).last();
    // The passages found share only "Consultant" with it: none holds a rate, hourly or not.
    await expect.poll(() => reply.locator('.content').first().textContent(), { timeout: 30_000 }).toBe('The documents do not say. Nothing found in “Smith matter – contracts” answers this: no passage speaks of “hourly” or “rate”.');
    // Enclave's own words: no model answer, nothing shown as verified or as what the documents say.
    expect(await reply.locator('details.model-answer').count()).toBe(0);
    expect(await reply.locator('.claim.verified, .claim.unsupported').count()).toBe(0);
    expect(await reply.getByRole('group', { name: 'What the documents say' }).count()).toBe(0);
  });
});
