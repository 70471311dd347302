// An office server, as a new user sets it up: Enclave, its browser and llama-server run in a
// network namespace whose only addresses are loopback and the "office network" 10.213.0.5, where
// llama-server listens. From the welcome screen, Settings → Inference → Check connection → Use
// the office server; the title bar names the server; a reply streams; the server is killed
// mid-reply and the reply is kept, marked, and regenerated once it is back. Enclave runs under
// strace: the only address off this computer it connects to is the server's. The local API is
// turned on in Settings and answers the token shown there.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ENDLESS_MODEL, WEB_ENTRY } from '../fixtures/paths.ts';
import { launchChromium } from '../support/browser.ts';
import { connectsIn, dnsQuestionsIn, staysLocal, straceWorks } from '../support/egress.ts';
import { llamaTools, startLlamaServer, type RunningLlamaServer } from '../support/llama-server.ts';
import { createNetns, IP, type Netns } from '../support/netns.ts';
import { startWebServer, type RunningServer } from '../support/web-server.ts';

const OFFICE_HOST = '10.213.0.5';
const PORT = 18_900 + (process.pid % 80);
const dir = mkdtempSync(join(tmpdir(), 'enclave-e2e-office-'));
const made = straceWorks() ? createNetns(`enclave-office-${process.pid}`) : 'strace cannot trace here';
const ns: Netns | null = typeof made === 'string' ? null : made;
const serverConnects = join(dir, 'server-connects');
let browser: Browser;
let app: RunningServer;
let office: RunningLlamaServer;
let page: Page;

const startOffice = () =>
  startLlamaServer({ model: ENDLESS_MODEL, host: OFFICE_HOST, port: PORT, args: ['--alias', 'office-chat', '-c', '4096'], wrap: (command) => ns!.exec(command) });

beforeAll(async () => {
  if (!ns) return;
  llamaTools();
  // The office server's address, on the namespace's own interface (a container may have no dummy
  // or veth devices): connecting to it is not loopback to strace, so it is told apart below.
  execFileSync(IP!, ['netns', 'exec', ns.name, IP!, 'addr', 'add', `${OFFICE_HOST}/32`, 'dev', 'lo']);
  office = await startOffice();
  browser = await launchChromium({ wrap: (chromium) => ns.wrapper(chromium, join(dir, 'chromium-in-namespace.sh')) });
  app = await startWebServer(['--data-dir', join(dir, 'data'), '--threads', '1'], {}, { command: ns.exec([process.execPath, WEB_ENTRY]), traceConnects: serverConnects });
  page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  await page.goto(app.url);
}, 45 * 60_000);

afterAll(async () => {
  await browser?.close();
  await app?.stop();
  await office?.kill();
  ns?.remove();
  rmSync(dir, { recursive: true, force: true });
});

describe.skipIf(!ns)(`an office server on the local network${ns ? '' : ` (not run: ${made as string})`}`, () => {
  it('is chosen from the welcome screen: the connection is checked, its models listed, and the title bar names it', async () => {
    await page.getByRole('button', { name: 'Connect to an office server…' }).click();
    await expect.poll(() => page.getByRole('heading', { name: 'Inference' }).isVisible()).toBe(true);
    expect(await page.getByLabel('An office server').isChecked()).toBe(true);
    // An address on the internet is refused before anything is sent.
    await page.getByLabel('Server address').fill('http://8.8.8.8:8080');
    await page.getByRole('button', { name: 'Check connection' }).click();
    await expect.poll(() => page.getByRole('alert').first().textContent()).toMatch(/outside your local network/);
    await page.getByLabel('Server address').fill(`${OFFICE_HOST}:${PORT}`);
    await page.getByRole('button', { name: 'Check connection' }).click();
    await expect.poll(() => page.getByRole('status').filter({ hasText: 'Connected to' }).textContent()).toMatch(new RegExp(`Connected to ${OFFICE_HOST.replace(/\./g, '\\.')}:${PORT}: 1 model, 4,096 tokens of context`));
    expect(await page.getByLabel('Model that answers').inputValue()).toBe('office-chat');
    await page.getByRole('button', { name: 'Use the office server' }).click();
    const badge = page.getByRole('status', { name: 'Model status' });
    await expect.poll(() => badge.textContent()).toContain(`Answers by office server at ${OFFICE_HOST}:${PORT} (office-chat) · ready`);
    // A longer reply, so that the server can be lost in the middle of one.
    await page.getByLabel('Max reply tokens').fill('3008');
    await page.getByRole('button', { name: 'Save settings' }).click();
    await expect.poll(() => page.getByText('Settings saved.').isVisible()).toBe(true);
  });

  it('answers through it; a server lost mid-reply leaves the words written, marked, and Regenerate answers once it is back', async () => {
    await page.getByRole('button', { name: 'Back to chat' }).click();
    await page.getByRole('button', { name: 'New conversation' }).first().click();
    const box = page.getByRole('textbox', { name: 'Message' });
    await box.fill('Tell me about the fox.');
    await box.press('Enter');
    const reply = page.getByRole('article', { name: 'Model replied' }).last();
    await expect.poll(() => reply.textContent(), { timeout: 20_000 }).toContain('quick brown fox');
    await office.kill('SIGKILL');
    await expect.poll(() => reply.locator('.status-note.error').textContent(), { timeout: 20_000 }).toMatch(/Failed: The office server at .* stopped answering mid-reply .*What it wrote is kept; retry when it is back/);
    expect(await reply.locator('.content').textContent()).toContain('quick brown fox');
    office = await startOffice();
    await reply.getByRole('button', { name: 'Regenerate' }).click();
    const again = page.getByRole('article', { name: 'Model replied' }).last();
    await expect.poll(() => again.textContent(), { timeout: 30_000 }).toMatch(/Stopped at the length limit/);
    expect(await again.textContent()).toContain(`office-chat (office server at ${OFFICE_HOST}:${PORT})`);
  });

  it('turns on the local API in Settings; it answers a program that has the token shown there', async () => {
    await page.getByRole('button', { name: 'Settings' }).click();
    const api = page.getByRole('region', { name: 'Local API' });
    await api.getByLabel('On', { exact: true }).check();
    await api.getByLabel('Port').fill(String(PORT + 100));
    await api.getByRole('button', { name: 'Save the API settings' }).click();
    await expect.poll(() => api.getByRole('status').textContent()).toContain(`Listening at http://127.0.0.1:${PORT + 100}/v1`);
    await api.getByRole('button', { name: 'Show' }).click();
    const token = (await api.getByLabel('API token').textContent())!.trim();
    expect(token).toMatch(/^enclave-/);
    // A program in the same (network) place as Enclave.
    const models = (c: string) => execFileSync(IP!, ['netns', 'exec', ns!.name, process.execPath, '-e', c], { encoding: 'utf8' });
    const script = (auth: string) => `fetch('http://127.0.0.1:${PORT + 100}/v1/models',{headers:{authorization:'${auth}'}}).then(async r=>console.log(r.status, await r.text()))`;
    expect(models(script(`Bearer ${token}`))).toMatch(/^200 .*"office-chat"/);
    expect(models(script('Bearer nope'))).toMatch(/^401 /);
  });

  it('Enclave connected to nothing off this computer but the office server it was given, and looked no name up', () => {
    const connects = connectsIn(serverConnects);
    const toServer = connects.filter((c) => c.family === 'AF_INET' && c.address === OFFICE_HOST);
    expect(toServer.length).toBeGreaterThan(0);
    expect(toServer.every((c) => c.line.includes(`htons(${PORT})`))).toBe(true);
    // The check of 8.8.8.8 was refused before any connection.
    expect(connects.filter((c) => !staysLocal(c) && c.address !== OFFICE_HOST).map((c) => `${c.program ?? 'a thread'}: ${c.line}`)).toEqual([]);
    expect(dnsQuestionsIn(serverConnects)).toEqual([]);
  });
});
