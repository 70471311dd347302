// Real Chromium (Debian's) for the end-to-end tests, and a drop of files on the window.
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { expect } from 'vitest';
import { tracedExecutable } from './egress.ts';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/**
 * `traceConnects`: a log path; Chromium then runs under strace (see egress.ts). `wrap`: makes the
 * executable that runs Chromium some other way (inside a network namespace).
 */
export function launchChromium(options: { traceConnects?: string; wrap?: (chromium: string) => string } = {}): Promise<Browser> {
  const executablePath = options.traceConnects ? tracedExecutable(CHROMIUM, options.traceConnects, `${options.traceConnects}-chromium.sh`) : options.wrap ? options.wrap(CHROMIUM) : CHROMIUM;
  return chromium.launch({
    executablePath,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}

/** Drops files on the window as a person dragging them from the file manager would. */
export async function dropFiles(page: Page, paths: string[]): Promise<void> {
  const files = paths.map((path) => ({ name: basename(path), b64: readFileSync(path).toString('base64') }));
  const dataTransfer = await page.evaluateHandle((list) => {
    const dt = new DataTransfer();
    for (const f of list) dt.items.add(new File([Uint8Array.from(atob(f.b64), (c) => c.charCodeAt(0))], f.name));
    return dt;
  }, files);
  await page.dispatchEvent('body', 'dragenter', { dataTransfer });
  await page.dispatchEvent('body', 'dragover', { dataTransfer });
  await page.dispatchEvent('body', 'drop', { dataTransfer });
}

/** In Documents: a new collection, files dropped into it, and each read to Ready (by the titles given). */
export async function collectionWithDocuments(page: Page, name: string, files: string[], titles: string[]): Promise<void> {
  await page.getByRole('button', { name: 'Documents' }).click();
  await page.getByLabel('New collection name').fill(name);
  await page.getByRole('button', { name: 'Create' }).click();
  const chip = page.getByRole('group', { name: 'Collections' }).getByRole('button', { name: new RegExp(`^${name}`) });
  await expect.poll(() => chip.isVisible()).toBe(true);
  await dropFiles(page, files);
  const library = page.getByRole('table', { name: 'Document library' });
  for (const title of titles) await expect.poll(() => library.getByRole('row', { name: title }).textContent(), { timeout: 30_000 }).toContain('Ready');
  await expect.poll(() => chip.textContent()).toContain(String(files.length));
}
