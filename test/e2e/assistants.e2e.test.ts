// Domain assistants end to end in Chromium: one made from the law pack, a conversation with it
// (named in the header and the list), its instructions edited, a LoRA adapter given to it, then
// deleted with its conversations kept under General.
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ENDLESS_LORA, ENDLESS_MODEL, WRONG_ARCH_LORA } from '../fixtures/paths.ts';
import { launchChromium } from '../support/browser.ts';
import { startWebServer, type RunningServer } from '../support/web-server.ts';

const dir = mkdtempSync(join(tmpdir(), 'enclave-e2e-assistants-'));
let browser: Browser;
let server: RunningServer;
let page: Page;
let exported: string;

beforeAll(async () => {
  browser = await launchChromium();
  server = await startWebServer(['--data-dir', join(dir, 'data'), '--threads', '1', '--model', ENDLESS_MODEL]);
  page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  await page.goto(server.url);
  await page.getByText('Endless Test Model · ready').waitFor({ timeout: 30_000 });
});

afterAll(async () => {
  await browser?.close();
  await server?.kill();
  rmSync(dir, { recursive: true, force: true });
});

describe('assistants in the browser', () => {
  it('the built-in clinic and law assistants are offered from the start', async () => {
    const options = await page.getByLabel('Assistant', { exact: true }).locator('option').allTextContents();
    expect(options[0]).toBe('General');
    expect(options).toEqual(expect.arrayContaining(['Clinic — notes & letters', 'Law — contract review', 'Law — correspondence']));
  });

  it('makes an assistant from the law pack, names it, and starts a conversation with it', async () => {
    await page.getByRole('button', { name: 'Manage', exact: true }).click();
    await page.getByLabel('New from a pack').selectOption({ label: 'Law office: Law — correspondence' });
    await page.getByRole('button', { name: 'Add', exact: true }).click();
    // The new assistant opens for editing, its name field focused.
    const name = page.getByLabel('Name', { exact: true });
    await expect.poll(() => name.inputValue()).toBe('Law — correspondence');
    expect(await page.getByLabel('Instructions (system prompt)').inputValue()).toContain('You draft correspondence for a law office');
    await name.fill('Smith v. Jones letters');
    await page.getByRole('button', { name: 'Save', exact: true }).click();
    const card = page.getByRole('article', { name: 'Assistant Smith v. Jones letters' });
    await card.waitFor();
    expect(await card.textContent()).toContain('From the Law office pack, written for 1–8 B');

    await card.getByRole('button', { name: 'New conversation with Smith v. Jones letters' }).click();
    await page.getByRole('textbox', { name: 'Message' }).waitFor();
    expect(await page.getByRole('button', { name: 'Assistant: Smith v. Jones letters (manage assistants)' }).isVisible()).toBe(true);
    const box = page.getByRole('textbox', { name: 'Message' });
    await box.fill('Draft a letter to opposing counsel.');
    await box.press('Enter');
    await expect.poll(() => page.getByRole('article', { name: 'Model replied' }).last().getByRole('button', { name: 'Regenerate' }).isVisible(), { timeout: 30_000 }).toBe(true);
    // The conversation list says which assistant each conversation belongs to.
    expect(await page.getByRole('navigation', { name: 'Conversations' }).getByRole('listitem').first().textContent()).toContain('Smith v. Jones letters');
    // New conversations now start with it.
    expect(await page.getByLabel('Assistant', { exact: true }).inputValue()).not.toBe('general');
  });

  it('edits its instructions (too long is refused before saving; Esc cancels)', async () => {
    await page.getByRole('button', { name: 'Assistant: Smith v. Jones letters (manage assistants)' }).click();
    const card = page.getByRole('article', { name: 'Assistant Smith v. Jones letters' });
    await card.getByRole('button', { name: 'Edit Smith v. Jones letters' }).click();
    const prompt = card.getByLabel('Instructions (system prompt)');
    await prompt.fill('x'.repeat(20_001));
    expect(await card.getByText('20,001 of 20,000 characters: too long; shorten the instructions to save them.').isVisible()).toBe(true);
    expect(await card.getByRole('button', { name: 'Save', exact: true }).isDisabled()).toBe(true);
    await prompt.press('Escape');
    await expect.poll(() => card.getByLabel('Instructions (system prompt)').count()).toBe(0);

    await card.getByRole('button', { name: 'Edit Smith v. Jones letters' }).click();
    await card.getByLabel('Instructions (system prompt)').fill('Write short, formal letters for the Smith v. Jones matter.');
    await card.getByRole('button', { name: 'Save', exact: true }).click();
    await expect.poll(() => card.getByLabel('Instructions (system prompt)').count()).toBe(0);
    await card.getByRole('button', { name: 'Edit Smith v. Jones letters' }).click();
    expect(await card.getByLabel('Instructions (system prompt)').inputValue()).toBe('Write short, formal letters for the Smith v. Jones matter.');
    await card.getByRole('button', { name: 'Cancel' }).click();
  });

  it('gives it a LoRA adapter added under Models: its replies change', async () => {
    await page.getByRole('button', { name: 'Models' }).click();
    await page.getByLabel('Choose a GGUF LoRA adapter file').setInputFiles(ENDLESS_LORA);
    await expect.poll(() => page.getByRole('listitem', { name: 'Brown Dog Adapter' }).textContent()).toContain('llama architecture');
    // A file made for another architecture is refused, with the reason.
    await page.getByLabel('Choose a GGUF LoRA adapter file').setInputFiles(WRONG_ARCH_LORA);
    await expect.poll(() => page.getByRole('alert').textContent()).toContain('was made for a qwen2 model; “Endless Test Model” is llama');
    // The refused upload is not left in the data folder; the accepted one is there.
    const kept = readdirSync(join(dir, 'data', 'models'), { recursive: true }).map(String);
    expect(kept.some((f) => f.endsWith('qwen2-lora.gguf'))).toBe(false);
    expect(kept.some((f) => f.endsWith('endless-lora.gguf'))).toBe(true);

    await page.getByRole('button', { name: 'Manage', exact: true }).click();
    const card = page.getByRole('article', { name: 'Assistant Smith v. Jones letters' });
    await card.getByRole('button', { name: 'Edit Smith v. Jones letters' }).click();
    await card.getByRole('checkbox', { name: 'Brown Dog Adapter' }).check();
    expect(await card.getByLabel('Scale of Brown Dog Adapter').inputValue()).toBe('1');
    await card.getByRole('button', { name: 'Save', exact: true }).click();
    await expect.poll(() => card.textContent()).toContain('LoRA adapters: Brown Dog Adapter (scale 1)');

    await card.getByRole('button', { name: 'New conversation with Smith v. Jones letters' }).click();
    const box = page.getByRole('textbox', { name: 'Message' });
    await box.fill('Tell me a story.');
    await box.press('Enter');
    const reply = page.getByRole('article', { name: 'Model replied' }).last();
    await expect.poll(() => reply.getByRole('button', { name: 'Regenerate' }).isVisible(), { timeout: 30_000 }).toBe(true);
    expect(await reply.locator('.content').textContent()).toMatch(/^The quick brown dog! Then/);
    await page.getByRole('button', { name: 'Manage', exact: true }).click();
  });

  it('exports it as one file, deletes it after a confirmation that says its conversations move to General, and imports it back', async () => {
    const card = page.getByRole('article', { name: 'Assistant Smith v. Jones letters' });
    const download = page.waitForEvent('download');
    await card.getByRole('button', { name: 'Export Smith v. Jones letters' }).click();
    const file = await download;
    expect(file.suggestedFilename()).toBe('Smith v_ Jones letters.enclave-assistant.json');
    exported = join(dir, file.suggestedFilename());
    await file.saveAs(exported);
    const json = JSON.parse(readFileSync(exported, 'utf8'));
    expect(json.assistant).toMatchObject({ name: 'Smith v. Jones letters', systemPrompt: 'Write short, formal letters for the Smith v. Jones matter.' });
    expect(json.adapters).toMatchObject([{ name: 'Brown Dog Adapter', scale: 1 }]);

    await card.getByRole('button', { name: 'Delete Smith v. Jones letters' }).click();
    const dialog = page.getByRole('dialog', { name: 'Delete this assistant?' });
    expect(await dialog.textContent()).toContain('“Smith v. Jones letters” will be deleted. Its 2 conversations are kept and move to General.');
    await dialog.getByRole('button', { name: 'Delete' }).click();
    await expect.poll(() => card.count()).toBe(0);
    await expect.poll(() => page.getByRole('article', { name: 'Assistant General' }).textContent()).toContain('2 conversations');
    await page.getByRole('button', { name: 'Back to chat' }).click();
    await expect.poll(() => page.getByRole('button', { name: 'Assistant: General (manage assistants)' }).isVisible()).toBe(true);
    expect(await page.getByRole('article', { name: 'You said' }).first().textContent()).toContain('Tell me a story.');
    expect(await page.getByLabel('Assistant', { exact: true }).inputValue()).toBe('general');

    // Back from the file: the same instructions, and its adapter found in the library by SHA-256.
    await page.getByRole('button', { name: 'Manage', exact: true }).click();
    await page.getByLabel('Choose an assistant file to import').setInputFiles(exported);
    const imported = page.getByRole('article', { name: 'Assistant Smith v. Jones letters' });
    await expect.poll(() => imported.textContent()).toContain('LoRA adapters: Brown Dog Adapter (scale 1)');
    await imported.getByRole('button', { name: 'Edit Smith v. Jones letters' }).click();
    expect(await imported.getByLabel('Instructions (system prompt)').inputValue()).toBe('Write short, formal letters for the Smith v. Jones matter.');
  });
});
