// The air-gapped bundle: `npm run bundle` makes the archive; it is unpacked and started inside a
// network namespace that has only loopback, Chromium inside the same namespace drives a whole
// grounded workflow, and the bundle's first start checks every file against SHA256SUMS: a bundled
// model that was changed is refused with a message in the window, and a changed app file stops
// the start with the file named.
import { execFileSync, spawnSync } from 'node:child_process';
import { appendFileSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, statSync, writeSync, closeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeCorpus } from '../fixtures/documents.ts';
import { GROUNDED_MODEL, REPO_ROOT, SUMMARY_MODEL } from '../fixtures/paths.ts';
import { collectionWithDocuments, launchChromium } from '../support/browser.ts';
import { createNetns, type Netns } from '../support/netns.ts';
import { startWebServer, TEST_KEY_DIR, type RunningServer } from '../support/web-server.ts';

const dir = mkdtempSync(join(tmpdir(), 'enclave-e2e-bundle-'));
const version = (JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string }).version;
const name = `enclave-${version}-linux-x64`;
const unpacked = join(dir, 'unpacked', name);
const made = createNetns(`enclave-e2e-${process.pid}`);
const ns: Netns | null = typeof made === 'string' ? null : made;
let bundleOutput = '';
let browser: Browser;
let server: RunningServer;
let page: Page;
let corpus: Record<string, string>;

beforeAll(async () => {
  if (!ns) return;
  bundleOutput = execFileSync(process.execPath, [join(REPO_ROOT, 'build', 'bundle.ts'), '--out', join(dir, 'release'), '--model', GROUNDED_MODEL, '--model', SUMMARY_MODEL], { encoding: 'utf8' });
  mkdirSync(join(dir, 'unpacked'));
  execFileSync('tar', ['-xzf', join(dir, 'release', `${name}.tar.gz`), '-C', join(dir, 'unpacked')]);
  // One bundled model is damaged in the copy: a byte in its middle changed.
  const damaged = join(unpacked, 'models', 'summary-writer.gguf');
  const fd = openSync(damaged, 'r+');
  writeSync(fd, Buffer.from([0x5a]), 0, 1, Math.floor(statSync(damaged).size / 2));
  closeSync(fd);

  corpus = await writeCorpus(join(dir, 'corpus'));
  browser = await launchChromium({ wrap: (chromium) => ns.wrapper(chromium, join(dir, 'chromium-in-namespace.sh')) });
  server = await startWebServer(['--data-dir', join(dir, 'data'), '--threads', '1'], {}, { command: ns.exec([join(unpacked, 'enclave')]) });
  page = await browser.newPage({ viewport: { width: 1280, height: 860 } });
  await page.goto(server.url);
}, 240_000);

afterAll(async () => {
  await browser?.close();
  await server?.kill();
  ns?.remove();
  rmSync(dir, { recursive: true, force: true });
});

describe.skipIf(!ns)(`the air-gapped bundle${ns ? '' : ` (not run: ${made as string})`}`, () => {
  it('is one archive with its own Node, this platform’s CPU binaries only, the chosen models and SHA256SUMS', () => {
    expect(bundleOutput).toMatch(/Bundle: .*\.tar\.gz\n {2}\d+ MB packed, \d+ MB unpacked, \d+ files \(\d+ packages for other systems or GPUs left out\)/);
    const sums = readFileSync(join(unpacked, 'SHA256SUMS'), 'utf8');
    expect(sums).toMatch(/^[0-9a-f]{64} {2}node\/bin\/node$/m);
    expect(sums).toMatch(/^[0-9a-f]{64} {2}app\/dist\/electron\/web\.js$/m);
    expect(sums).toMatch(/^[0-9a-f]{64} {2}models\/grounded-answer\.gguf$/m);
    expect(sums).toMatch(/^[0-9a-f]{64} {2}app\/node_modules\/@node-llama-cpp\/linux-x64\//m);
    expect(sums).not.toMatch(/@node-llama-cpp\/linux-x64-(cuda|vulkan)|@node-llama-cpp\/linux-arm|gitRelease\.bundle|prebuilds\/(darwin|win32)|node_modules\/electron\//);
    expect(execFileSync(join(unpacked, 'node', 'bin', 'node'), ['--version'], { encoding: 'utf8' }).trim()).toBe(process.version);
  });

  it('runs where only loopback exists', () => {
    expect(ns!.links()).toEqual(['lo']);
    // From inside, an address outside cannot even be routed to.
    const [program, ...rest] = ns!.exec([join(unpacked, 'node', 'bin', 'node'), '-e', "require('net').connect(53, '1.1.1.1').on('connect', () => { console.log('connected'); process.exit(0) }).on('error', (e) => { console.log(e.code); process.exit(0) })"]);
    expect(spawnSync(program, rest, { encoding: 'utf8', timeout: 20_000 }).stdout.trim()).toBe('ENETUNREACH');
  });

  it('at its first start every file is checked; the changed model is refused, with a message in the window; the other is loaded', async () => {
    expect(server.output()).toContain("Checking this bundle's files against SHA256SUMS (first start)…");
    expect(server.output()).toContain("The app's files match SHA256SUMS.");
    // Bundled models are added once the server is up.
    await expect.poll(() => server.output()).toContain('Bundled model added: Grounded Test Model');
    const refused = 'The bundled model summary-writer.gguf does not match its SHA-256 in SHA256SUMS: it was damaged or changed after the bundle was made. It was not added to your models; copy it again from the bundle\'s source.';
    expect(server.output()).toContain(refused);
    await expect.poll(() => page.getByText(refused).isVisible()).toBe(true);
    await page.getByText('Grounded Test Model · ready').waitFor({ timeout: 30_000 });
    await page.getByRole('button', { name: 'Models' }).click();
    await expect.poll(() => page.getByRole('main').textContent()).toContain('Grounded Test Model');
    expect(await page.getByRole('main').textContent()).not.toContain('summary-writer');
  });

  it('a whole grounded workflow works offline: a collection, documents dropped in, a question answered with its checked source', async () => {
    await collectionWithDocuments(page, 'Lease matter', [corpus.lease, corpus.employment], ['Lease agreement', 'Employment contract']);

    await page.getByRole('button', { name: 'Back to chat' }).click();
    await page.getByRole('button', { name: 'New conversation' }).first().click();
    await page.getByText('Answer from:').click();
    await page.getByLabel('Lease matter').check();
    await page.getByText('Answer from:').click();
    const box = page.getByRole('textbox', { name: 'Message' });
    await box.fill('What is the notice period for terminating the lease?');
    await box.press('Enter');
    const reply = page.getByRole('article', { name: 'Model replied' }).last();
    await expect.poll(() => reply.getByRole('group', { name: 'Sources' }).isVisible(), { timeout: 30_000 }).toBe(true);
    expect(await reply.getByRole('button', { name: 'The notice period is thirty days. (source 1, open it)' }).isVisible()).toBe(true);
    expect(await reply.getByRole('button', { name: 'Source 1: Lease agreement, page 3' }).textContent()).toContain('“notice of thirty days”');
  });

  it('a bundle whose app files were changed does not start, and names them', () => {
    appendFileSync(join(unpacked, 'app', 'dist', 'renderer', 'index.html'), '<!-- changed -->');
    rmSync(join(unpacked, 'app', 'resources', 'assistants'), { recursive: true, force: true });
    const run = spawnSync(join(unpacked, 'enclave'), ['--data-dir', join(dir, 'data-2'), '--port', '0'], { encoding: 'utf8', env: { ...process.env, ENCLAVE_KEY_DIR: TEST_KEY_DIR }, timeout: 60_000 });
    expect(run.status).toBe(5);
    expect(run.stderr).toMatch(/^This Enclave bundle is damaged, so it was not started: \d+ files do not match SHA256SUMS: app\/dist\/renderer\/index\.html \(changed\), app\/resources\/assistants\/.+ \(missing\)/);
    expect(run.stderr).toContain('check the copy with “sha256sum -c SHA256SUMS” in its folder');
  });
});
