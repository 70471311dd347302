// End to end in real Chromium (Debian's), through browser mode, as a new user would use Enclave.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EMBEDDING_MODEL, ENDLESS_MODEL, HOSTILE_MODEL, NOT_A_MODEL, RERANK_MODEL } from '../fixtures/paths.ts';
import { launchChromium } from '../support/browser.ts';
import { startWebServer, type RunningServer } from '../support/web-server.ts';

const dataDir = mkdtempSync(join(tmpdir(), 'enclave-e2e-'));
let browser: Browser;
let server: RunningServer;
let page: Page;
const requests: string[] = [];
const pageErrors: string[] = [];

async function openApp(s: RunningServer): Promise<Page> {
  const p = await browser.newPage({ viewport: { width: 1280, height: 860 } });
  p.on('request', (r) => requests.push(r.url()));
  p.on('pageerror', (e) => pageErrors.push(e.message));
  await p.goto(s.url);
  return p;
}

function assistantMessages(p: Page) {
  return p.getByRole('article', { name: 'Model replied' });
}

beforeAll(async () => {
  browser = await launchChromium();
  server = await startWebServer(['--data-dir', dataDir, '--threads', '1']);
});

afterAll(async () => {
  await browser?.close();
  await server?.kill();
  rmSync(dataDir, { recursive: true, force: true });
});

describe('Enclave in the browser', () => {
  it('first run: explains what is needed, refuses a non-model file, accepts a GGUF model', async () => {
    page = await openApp(server);
    await expect.poll(() => page.getByRole('heading', { name: 'Welcome to Enclave' }).isVisible()).toBe(true);
    // The launch token does not stay in the address bar.
    expect(page.url()).not.toContain('token=');

    await page.getByLabel('Choose a GGUF model file').setInputFiles(NOT_A_MODEL);
    await expect.poll(() => page.getByRole('alert').textContent()).toContain('is not a GGUF model');
    expect(await page.getByRole('heading', { name: 'Welcome to Enclave' }).isVisible()).toBe(true);

    await page.getByLabel('Choose a GGUF model file').setInputFiles(ENDLESS_MODEL);
    await expect.poll(() => page.getByRole('status', { name: 'Model status' }).textContent(), { timeout: 30_000 }).toContain('ready');
    expect(await page.getByRole('status', { name: 'Model status' }).textContent()).toContain('Endless Test Model');
  });

  it('settings persist: threads and a long max reply', async () => {
    await page.getByRole('button', { name: 'Settings' }).click();
    // The context the loaded model really has is shown beside the setting.
    await expect.poll(() => page.getByText(/^In effect: [\d,]+ tokens/).isVisible()).toBe(true);
    await page.getByLabel('Max reply tokens').fill('60000');
    await page.getByRole('button', { name: 'Save settings' }).click();
    await expect.poll(() => page.getByText('Settings saved.').isVisible()).toBe(true);
    await page.getByRole('button', { name: 'Back to chat' }).click();
  });

  it('chat: streams a reply, stops it (kept, marked stopped), regenerates it', async () => {
    await page.getByRole('button', { name: 'New conversation' }).first().click();
    const box = page.getByRole('textbox', { name: 'Message' });
    await box.fill('Tell me about the quiet fox');
    await box.press('Enter');

    const stop = page.getByRole('button', { name: 'Stop' });
    await stop.waitFor({ timeout: 20_000 });
    const reply = assistantMessages(page).last();
    await expect.poll(async () => (await reply.textContent())?.length ?? 0).toBeGreaterThan(200);
    const midway = (await reply.textContent())!.length;
    await expect.poll(async () => (await reply.textContent())!.length).toBeGreaterThan(midway); // still streaming
    // While it streams, the reply is already labelled with the model writing it.
    expect(await reply.locator('.who').textContent()).toBe('Endless Test Model');
    await stop.click();
    await expect.poll(() => reply.getByText('Stopped').isVisible()).toBe(true);
    expect(await reply.textContent()).toContain('The quick brown fox');
    expect(await reply.textContent()).toMatch(/\d+ tokens · [\d.]+ tok\/s/);
    // The title was proposed from the first message.
    await expect.poll(() => page.getByRole('heading', { level: 1 }).textContent()).toBe('Tell me about the quiet fox');
    expect(await page.getByText(/Context [\d,]+ \/ [\d,]+/).isVisible()).toBe(true);

    await reply.getByRole('button', { name: 'Regenerate' }).click();
    await stop.waitFor();
    await page.keyboard.press('Escape'); // Esc stops too
    await expect.poll(() => assistantMessages(page).last().getByText('Stopped').isVisible()).toBe(true);
    expect(await assistantMessages(page).count()).toBe(1);
  });

  it('search finds the message, highlighted, and opens the conversation at it', async () => {
    await page.getByRole('searchbox', { name: 'Search messages' }).fill('quiet');
    const results = page.getByRole('region', { name: 'Search results' });
    await expect.poll(() => results.locator('mark').first().textContent()).toBe('quiet');
    await page.getByRole('searchbox', { name: 'Search messages' }).fill('');
  });

  it('after the server restarts, the conversation and the search hit are still there', async () => {
    await server.stop();
    // The open tab says what happened and what to do, instead of "Reconnecting…" forever.
    await expect.poll(() => page.getByRole('alert').filter({ hasText: 'Enclave is not answering.' }).isVisible(), { timeout: 20_000 }).toBe(true);
    server = await startWebServer(['--data-dir', dataDir, '--threads', '1', '--port', new URL(server.origin).port]);
    await expect.poll(() => page.getByRole('alert').filter({ hasText: "Enclave was restarted, so this tab's link no longer works." }).isVisible(), { timeout: 20_000 }).toBe(true);
    // A reload with the old link says the same (not an empty app that looks like data loss).
    await page.reload();
    await expect.poll(() => page.getByRole('alert').filter({ hasText: 'Open the new address Enclave printed' }).isVisible(), { timeout: 20_000 }).toBe(true);
    await page.close();
    page = await openApp(server);

    const conversation = page.getByRole('button', { name: /^Tell me about the quiet fox/ });
    await conversation.waitFor();
    await conversation.click();
    await expect.poll(() => page.getByRole('article', { name: 'You said' }).first().textContent()).toContain('Tell me about the quiet fox');
    expect(await assistantMessages(page).last().getByText('Stopped').isVisible()).toBe(true);

    await page.getByRole('searchbox', { name: 'Search messages' }).fill('quiet fox');
    const hit = page.getByRole('region', { name: 'Search results' }).getByRole('button').first();
    await hit.waitFor();
    await hit.click();
    await expect.poll(() => page.locator('article.focused').textContent()).toContain('Tell me about the quiet fox');
    // The model that was active is loaded again on start.
    await expect.poll(() => page.getByRole('status', { name: 'Model status' }).textContent(), { timeout: 30_000 }).toContain('ready');
  });

  it('edits a sent message and resends it; keeps a system prompt per conversation', async () => {
    const you = page.getByRole('article', { name: 'You said' }).first();
    await you.getByRole('button', { name: 'Edit' }).click();
    const editor = page.getByRole('textbox', { name: 'Edit message' });
    // Edit puts the cursor in its box; Esc cancels it.
    await expect.poll(() => editor.evaluate((el) => el === document.activeElement)).toBe(true);
    await page.keyboard.press('Escape');
    expect(await editor.count()).toBe(0);
    await you.getByRole('button', { name: 'Edit' }).click();
    await editor.fill('Tell me about the quiet owl');
    await page.getByRole('button', { name: 'Save and resend' }).click();
    await page.getByRole('button', { name: 'Stop' }).waitFor();
    await page.getByRole('button', { name: 'Stop' }).click();
    await expect.poll(() => assistantMessages(page).last().getByText('Stopped').isVisible()).toBe(true);
    expect(await page.getByRole('article', { name: 'You said' }).first().textContent()).toContain('Tell me about the quiet owl');
    expect(await assistantMessages(page).count()).toBe(1);

    await page.getByRole('button', { name: 'System prompt' }).click();
    await page.getByLabel('System prompt for this conversation').fill('You are a careful assistant for a law office.');
    await page.getByRole('button', { name: 'Save system prompt' }).click();
    await expect.poll(() => page.getByText('System prompt saved for this conversation.').isVisible()).toBe(true);
    await page.reload();
    await page.getByRole('button', { name: /^Tell me about the quiet fox/ }).click();
    await page.getByRole('button', { name: 'System prompt' }).click();
    expect(await page.getByLabel('System prompt for this conversation').inputValue()).toBe('You are a careful assistant for a law office.');
    await page.getByRole('button', { name: 'Cancel' }).click();
  });

  it('keyboard and screen readers: the file pickers take the focus and open with Enter; menus close with Esc or a click outside; a finished reply is announced', async () => {
    // A finished reply is announced in a live region (the stream itself is not read out).
    const box = page.getByRole('textbox', { name: 'Message' });
    await box.fill('Tell me about the quiet fox again');
    await box.press('Enter');
    await page.getByRole('button', { name: 'Stop' }).click();
    await expect.poll(() => page.getByRole('status', { name: 'Reply announcements' }).textContent()).toBe("Endless Test Model's reply stopped.");

    const menu = page.locator('details.menu').first();
    await menu.locator('summary').click();
    expect(await menu.getAttribute('open')).not.toBeNull();
    await page.keyboard.press('Escape');
    await expect.poll(() => menu.getAttribute('open')).toBeNull();
    await menu.locator('summary').click();
    await page.getByRole('heading', { level: 1 }).first().click();
    await expect.poll(() => menu.getAttribute('open')).toBeNull();

    await page.getByRole('button', { name: 'Models' }).click();
    const input = page.getByLabel('Choose a GGUF model file');
    await input.focus();
    const outline = await page.locator('label.button', { has: input }).evaluate((el) => getComputedStyle(el).outlineStyle);
    expect(outline).toBe('solid');
    const [chooser] = await Promise.all([page.waitForEvent('filechooser'), input.press('Enter')]);
    expect(chooser.isMultiple()).toBe(false);
    await page.getByRole('button', { name: 'Back to chat' }).click();
  });

  it('Ctrl+N opens a new conversation, and again while it is still empty does not pile up empty ones', async () => {
    const items = page.getByRole('navigation', { name: 'Conversations' }).getByRole('listitem');
    const before = await items.count();
    await page.keyboard.press('Control+n');
    await expect.poll(() => items.count()).toBe(before + 1);
    await page.keyboard.press('Control+n');
    await page.keyboard.press('Control+n');
    await page.waitForTimeout(300);
    expect(await items.count()).toBe(before + 1);
    await expect.poll(() => page.getByRole('textbox', { name: 'Message' }).evaluate((el) => el === document.activeElement)).toBe(true);
  });

  it('renames and deletes a conversation with confirmation', async () => {
    await page.getByRole('searchbox', { name: 'Search messages' }).fill('');
    await page.getByRole('button', { name: 'New conversation' }).first().click();
    await page.getByRole('button', { name: 'Rename New conversation' }).click();
    const title = page.getByRole('textbox', { name: 'Conversation title' });
    await title.fill('Scratch');
    await title.press('Enter');
    await page.getByRole('button', { name: 'Delete Scratch' }).click();
    const dialog = page.getByRole('dialog', { name: 'Delete this conversation?' });
    await dialog.getByRole('button', { name: 'Delete' }).click();
    await expect.poll(() => page.getByRole('button', { name: 'Delete Scratch' }).count()).toBe(0);
    expect(await page.getByRole('button', { name: /^Tell me about the quiet fox/ }).count()).toBe(1);
  });

  it('a double-click on another conversation renames it: the typed title is never sent as a message', async () => {
    await page.getByRole('button', { name: 'New conversation' }).first().click();
    await page.getByRole('textbox', { name: 'Message' }).waitFor();
    await page.getByRole('button', { name: /^Tell me about the quiet fox/ }).dblclick();
    const title = page.getByRole('textbox', { name: 'Conversation title' });
    await title.waitFor();
    await page.keyboard.type('Fox story');
    await page.keyboard.press('Enter');
    await expect.poll(() => page.getByRole('button', { name: /^Fox story/ }).count()).toBe(1);
    await page.getByRole('button', { name: /^Fox story/ }).click();
    expect(await page.getByRole('article', { name: 'You said' }).allTextContents()).not.toContainEqual(expect.stringContaining('Fox story'));
  });

  it('a reply cut off at the length limit says so; Continue extends the same reply', async () => {
    await page.getByRole('button', { name: 'Settings' }).click();
    await page.getByLabel('Max reply tokens').fill('32');
    await page.getByRole('button', { name: 'Save settings' }).click();
    await expect.poll(() => page.getByText('Settings saved.').isVisible()).toBe(true);
    await page.getByRole('button', { name: 'Back to chat' }).click();
    await page.getByRole('button', { name: 'New conversation' }).first().click();
    const box = page.getByRole('textbox', { name: 'Message' });
    await box.fill('Count the stars');
    await box.press('Enter');
    const reply = assistantMessages(page).last();
    const note = reply.getByRole('note');
    await expect.poll(() => note.textContent()).toContain('Stopped at the length limit (32 tokens): this reply is not finished.');
    const first = (await reply.locator('.content').textContent()) ?? '';
    await note.getByRole('button', { name: 'Continue' }).click();
    await expect.poll(() => note.textContent()).toContain('(64 tokens)');
    const both = (await reply.locator('.content').textContent()) ?? '';
    expect(both.startsWith(first.trimEnd().slice(0, -1))).toBe(true);
    expect(both.length).toBeGreaterThan(first.length);
    expect(await assistantMessages(page).count()).toBe(1);

    await page.getByRole('button', { name: 'Settings' }).click();
    await page.getByLabel('Max reply tokens').fill('60000');
    await page.getByRole('button', { name: 'Save settings' }).click();
    await expect.poll(() => page.getByText('Settings saved.').isVisible()).toBe(true);
    await page.getByRole('button', { name: 'Back to chat' }).click();
  });

  it('a reply made of script, event handlers, javascript: links and remote images renders inert', async () => {
    await page.getByRole('button', { name: 'Models' }).click();
    await page.getByLabel('Choose a GGUF model file').setInputFiles(HOSTILE_MODEL);
    const card = page.getByRole('listitem', { name: 'Hostile Test Model' });
    await card.getByRole('button', { name: 'Use this model' }).click();
    await expect.poll(() => page.getByRole('status', { name: 'Model status' }).textContent(), { timeout: 30_000 }).toMatch(/Hostile Test Model · ready/);
    await page.getByRole('button', { name: 'Back to chat' }).click();
    await page.getByRole('button', { name: 'New conversation' }).first().click();
    // The new, empty conversation is open before anything is typed into it.
    await expect.poll(() => assistantMessages(page).count()).toBe(0);
    const before = page.url();
    const box = page.getByRole('textbox', { name: 'Message' });
    await box.fill('Show me the findings');
    await box.press('Enter');

    const reply = assistantMessages(page).last();
    await expect.poll(() => reply.textContent(), { timeout: 20_000 }).toContain('End of reply.');
    await expect.poll(() => reply.getByRole('button', { name: 'Regenerate' }).isVisible()).toBe(true);
    // Markdown still renders: heading, list, table, bold.
    expect(await reply.getByRole('heading', { name: 'Findings' }).isVisible()).toBe(true);
    expect(await reply.getByRole('listitem').count()).toBe(2);
    expect(await reply.getByRole('table').isVisible()).toBe(true);
    expect(await reply.locator('pre code').textContent()).toContain('const answer = 42;');
    // Nothing ran, nothing loaded, nothing navigated.
    expect(await page.evaluate(() => (globalThis as { __enclaveXss?: string }).__enclaveXss)).toBeUndefined();
    expect(await reply.locator('script, img, iframe, [onerror]').count()).toBe(0);
    expect(await reply.getByText('[tracker: http://127.0.0.2:9/pixel.png]').isVisible()).toBe(true);
    // Links are text: no anchor at all, a web address shown to be read, not followed.
    expect(await reply.locator('.content a').count()).toBe(0);
    expect(await reply.getByText('our site (https://example.com/offer)').isVisible()).toBe(true);
    const link = reply.getByText('open me');
    expect(await link.getAttribute('href')).toBeNull();
    await link.click();
    await page.waitForTimeout(200);
    expect(page.url()).toBe(before);
    expect(await page.evaluate(() => (globalThis as { __enclaveXss?: string }).__enclaveXss)).toBeUndefined();

    const foreign = requests.filter((u) => !u.startsWith(server.origin) && !u.startsWith('data:') && !u.startsWith('blob:'));
    expect(foreign.filter((u) => !u.startsWith('http://127.0.0.1:'))).toEqual([]);
    expect(requests.some((u) => u.includes('127.0.0.2'))).toBe(false);
    expect(pageErrors).toEqual([]);
  });

  it('models: a file added twice is not duplicated; a model is renamed; chat, embedding and reranking models are told apart; memory is estimated', async () => {
    await page.getByRole('button', { name: 'Models' }).click();
    const library = page.getByRole('list', { name: 'Model library' });
    const count = await library.getByRole('listitem').count();
    await page.getByLabel('Choose a GGUF model file').setInputFiles(HOSTILE_MODEL);
    await expect.poll(() => page.getByText('“Hostile Test Model” is already in your library: nothing was added.').isVisible()).toBe(true);
    expect(await library.getByRole('listitem').count()).toBe(count);

    const card = library.getByRole('listitem', { name: 'Hostile Test Model' });
    expect(await card.textContent()).toContain('Chat model');
    expect(await card.getByRole('button', { name: 'Use for search' }).count()).toBe(0);
    await expect.poll(() => card.textContent()).toMatch(/Needs about [\d.]+ [MG]B with a [\d,]+-token context .* free now\. It fits\./);

    await card.getByRole('button', { name: 'Rename Hostile Test Model' }).click();
    const name = page.getByLabel('New name for Hostile Test Model');
    await expect.poll(() => name.evaluate((el) => el === document.activeElement)).toBe(true);
    await name.fill('Markup tester');
    await name.press('Enter');
    await expect.poll(() => library.getByRole('listitem', { name: 'Markup tester' }).count()).toBe(1);
    // Esc cancels a rename.
    await library.getByRole('listitem', { name: 'Markup tester' }).getByRole('button', { name: 'Rename Markup tester' }).click();
    await page.getByLabel('New name for Markup tester').fill('Not kept');
    await page.getByLabel('New name for Markup tester').press('Escape');
    expect(await library.getByRole('listitem', { name: 'Markup tester' }).count()).toBe(1);

    await page.getByLabel('Choose a GGUF model file').setInputFiles(EMBEDDING_MODEL);
    const embedding = library.getByRole('listitem', { name: 'Bag of Words Embedding' });
    await expect.poll(() => embedding.textContent()).toContain('Embedding model (search)');
    expect(await embedding.getByRole('button', { name: 'Use this model' }).count()).toBe(0);
    expect(await embedding.getByRole('button', { name: 'Use for search' }).count()).toBe(1);
    expect(await embedding.getByRole('button', { name: 'Use for reranking' }).count()).toBe(0);

    // A reranking model: told apart, used for reranking only, named where search is described.
    await page.getByLabel('Choose a GGUF model file').setInputFiles(RERANK_MODEL);
    const reranker = library.getByRole('listitem', { name: 'Tiny Reranker' });
    await expect.poll(() => reranker.textContent()).toContain('Reranking model (search)');
    expect(await reranker.getByRole('button', { name: 'Use this model' }).count()).toBe(0);
    expect(await reranker.getByRole('button', { name: 'Use for search' }).count()).toBe(0);
    await reranker.getByRole('button', { name: 'Use for reranking' }).click();
    await page.getByText('Search results are reranked by Tiny Reranker.').waitFor();
    await expect.poll(() => reranker.textContent()).toContain('Reranking');
    await page.getByRole('button', { name: 'Documents' }).click();
    await expect.poll(() => page.getByRole('status', { name: 'Search index' }).textContent()).toContain('The best passages are reranked by Tiny Reranker.');
    await page.getByRole('button', { name: 'Models' }).click();
    await library.getByRole('listitem', { name: 'Tiny Reranker' }).getByRole('button', { name: 'Stop reranking' }).click();
    await page.getByText('Search results are no longer reranked.').waitFor();
    expect(await library.getByRole('listitem', { name: 'Tiny Reranker' }).getByRole('button', { name: 'Use for reranking' }).count()).toBe(1);
  });

  it('app lock: set in Settings; locked, only the lock screen shows; a wrong passphrase says so; the right one brings everything back; it locks by itself after the chosen minutes', async () => {
    await page.getByRole('navigation', { name: 'Conversations' }).getByRole('button', { name: 'Settings' }).click();
    await page.getByLabel('Lock passphrase', { exact: true }).fill('silver harbour 7');
    await page.getByLabel('Repeat it').fill('silver harbour 8');
    await page.getByRole('button', { name: 'Turn on the lock' }).click();
    await page.getByText('The two passphrases differ.').waitFor();
    await page.getByLabel('Repeat it').fill('silver harbour 7');
    await page.getByLabel('Lock after this many minutes without use (0: only when asked)').fill('1');
    await page.getByRole('button', { name: 'Turn on the lock' }).click();
    await page.getByText('On: Enclave locks after 1 min without use; the lock passphrase opens it again.').waitFor();

    const listed = page.getByRole('navigation', { name: 'Conversations' }).locator('li .title').first();
    const title = (await listed.textContent())!.trim();
    expect(title.length).toBeGreaterThan(3);
    await page.getByRole('button', { name: 'Lock now' }).click();
    await page.getByRole('heading', { name: 'Enclave is locked' }).waitFor();
    // Nothing of the library is on the page while locked.
    expect(await page.getByRole('navigation', { name: 'Conversations' }).count()).toBe(0);
    expect(await page.locator('body').textContent()).not.toContain(title);
    // Nor can a file be sent in while it is locked.
    const upload = await page.evaluate(async () => {
      const res = await fetch('/api/upload?purpose=document&name=note.txt', { method: 'POST', body: 'a note', headers: { 'x-enclave-token': sessionStorage.getItem('enclave.token') ?? '' } });
      return res.status;
    });
    expect(upload).toBe(423);
    await expect.poll(() => page.getByLabel('Lock passphrase').evaluate((el) => el === document.activeElement)).toBe(true);
    await page.getByLabel('Lock passphrase').fill('silver harbour 9');
    await page.getByLabel('Lock passphrase').press('Enter');
    await expect.poll(() => page.getByRole('alert').filter({ hasText: 'That passphrase is not right.' }).isVisible()).toBe(true);
    await page.getByLabel('Lock passphrase').fill('silver harbour 7');
    await page.getByRole('button', { name: 'Unlock' }).click();
    await page.getByRole('navigation', { name: 'Conversations' }).waitFor({ timeout: 20_000 });
    await expect.poll(() => page.getByRole('navigation', { name: 'Conversations' }).textContent()).toContain(title);

    // A minute without use (the page's clock is run forward): it locks by itself.
    await page.clock.install();
    await page.mouse.move(200, 300);
    await page.mouse.move(240, 320);
    await page.clock.fastForward('01:05');
    await page.getByRole('heading', { name: 'Enclave is locked' }).waitFor({ timeout: 20_000 });
  });
});
