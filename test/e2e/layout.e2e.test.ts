// Every view at 1280, 900 and 760 px wide: nothing wider than the window (checked element by
// element, not by eye), and no serious or critical accessibility violation (axe-core, injected
// from the installed package). Screenshots are kept under the fixtures folder for a person to see.
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateDocumentFixtures, type DocumentFixtures } from '../fixtures/documents.ts';
import { FIXTURES, SUMMARY_MODEL } from '../fixtures/paths.ts';
import { dropFiles, launchChromium } from '../support/browser.ts';
import { startWebServer, type RunningServer } from '../support/web-server.ts';

const require = createRequire(import.meta.url);
const AXE = require.resolve('axe-core/axe.min.js');
const SHOTS = join(FIXTURES, 'screenshots');
const dir = mkdtempSync(join(tmpdir(), 'enclave-e2e-layout-'));
let browser: Browser;
let server: RunningServer;
let page: Page;
let fx: DocumentFixtures;

/** Visible elements whose right edge passes the window's (a horizontal scrollbar, or clipped content). */
function overflowing(p: Page): Promise<string[]> {
  return p.evaluate(() => {
    const width = document.documentElement.clientWidth;
    const out: string[] = [];
    if (document.documentElement.scrollWidth > width + 1) out.push(`page scrolls sideways (${document.documentElement.scrollWidth} > ${width})`);
    for (const el of Array.from(document.body.querySelectorAll<HTMLElement>('*'))) {
      const r = el.getBoundingClientRect();
      if (r.width === 0 || r.height === 0) continue;
      const style = getComputedStyle(el);
      if (style.visibility === 'hidden' || style.position === 'fixed') continue;
      // Inside a scroll container, content may extend (it scrolls into view); inside a clipping
      // one, it must fit that container, or it is cut off.
      let limit = width;
      for (let a = el.parentElement; a && a !== document.body; a = a.parentElement) {
        const o = getComputedStyle(a).overflowX;
        if (o === 'auto' || o === 'scroll') {
          limit = Infinity;
          break;
        }
        if (o === 'hidden' || o === 'clip') {
          limit = Math.min(width, a.getBoundingClientRect().right);
          break;
        }
      }
      // A panel that scrolls sideways hides what is past its edge (code blocks and wide tables may).
      const ox = style.overflowX;
      if ((ox === 'auto' || ox === 'scroll') && el.scrollWidth > el.clientWidth + 1 && !el.closest('pre, .scroll-x')) {
        out.push(`${el.tagName.toLowerCase()}.${String(el.className).trim().split(/\s+/).join('.')} scrolls sideways (${el.scrollWidth} > ${el.clientWidth})`);
      }
      if (r.right > limit + 1) out.push(`${el.tagName.toLowerCase()}${el.className && typeof el.className === 'string' ? `.${el.className.trim().split(/\s+/).join('.')}` : ''} ends at ${Math.round(r.right)} (room to ${Math.round(limit)})`);
    }
    return out.slice(0, 10);
  });
}

async function axeViolations(p: Page): Promise<string[]> {
  if (!(await p.evaluate(() => 'axe' in window))) await p.addScriptTag({ path: AXE });
  return p.evaluate(async () => {
    const axe = (window as unknown as { axe: { run: (ctx: Document, opts: object) => Promise<{ violations: { id: string; impact: string; nodes: { target: string[] }[] }[] }> } }).axe;
    const result = await axe.run(document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] } });
    return result.violations
      .filter((v) => v.impact === 'serious' || v.impact === 'critical')
      .map((v) => `${v.id} (${v.impact}): ${v.nodes.slice(0, 3).map((n) => n.target.join(' ')).join(', ')}`);
  });
}

/** Clicks an item of the sidebar, opening it first where it is a drawer (narrow windows). */
async function fromSidebar(p: Page, name: string | RegExp, exact = true): Promise<void> {
  const menu = p.getByRole('button', { name: 'Menu' });
  if (await menu.isVisible()) {
    await menu.click();
    await p.getByRole('navigation', { name: 'Conversations' }).getByRole('button', { name: 'New conversation' }).waitFor();
  }
  await p.getByRole('navigation', { name: 'Conversations' }).getByRole('button', { name, exact }).first().click();
}

const VIEWS: { name: string; open: (p: Page) => Promise<void>; close?: (p: Page) => Promise<void> }[] = [
  {
    name: 'chat',
    open: async (p) => {
      await fromSidebar(p, /^Lease question/, false);
      await p.getByRole('article', { name: 'Model replied' }).first().waitFor();
    },
  },
  { name: 'documents', open: (p) => fromSidebar(p, 'Documents') },
  {
    name: 'reader',
    open: async (p) => {
      await fromSidebar(p, 'Documents');
      await p.getByRole('button', { name: 'Lease of 12 pages', exact: true }).click();
      await p.getByRole('article', { name: 'Page 1' }).waitFor();
    },
  },
  {
    name: 'library',
    open: async (p) => {
      await fromSidebar(p, 'Documents');
      const back = p.getByRole('button', { name: '← All documents' });
      if (await back.isVisible()) await back.click();
      await p.getByRole('table', { name: 'Document library' }).waitFor();
    },
  },
  { name: 'tasks', open: (p) => fromSidebar(p, 'Tasks') },
  { name: 'evaluate', open: (p) => fromSidebar(p, 'Evaluate') },
  { name: 'models', open: (p) => fromSidebar(p, 'Models') },
  {
    name: 'audit',
    open: async (p) => {
      await fromSidebar(p, 'Audit trail');
      await p.getByRole('table', { name: 'Audit entries' }).waitFor();
      await p.getByRole('button', { name: 'Verify the chain' }).click();
      await p.getByText(/^Intact: all/).waitFor();
      await p.getByRole('button', { name: /^Details of entry/ }).first().click();
    },
  },
  {
    name: 'export dialog',
    open: async (p) => {
      await fromSidebar(p, /^Lease question/, false);
      await p.getByRole('button', { name: 'Export…' }).click();
      await p.getByRole('checkbox', { name: /^Redact personal identifiers/ }).check();
      await p.getByLabel('Another term to redact').waitFor();
    },
    close: async (p) => {
      await p.keyboard.press('Escape');
      await p.getByRole('dialog').waitFor({ state: 'detached' });
    },
  },
  {
    name: 'retention dialog',
    open: async (p) => {
      await fromSidebar(p, 'Documents');
      const back = p.getByRole('button', { name: '← All documents' });
      if (await back.isVisible()) await back.click();
      const chip = p.getByRole('group', { name: 'Collections' }).getByRole('button', { name: /^Layout matter/ });
      if (await chip.count()) await chip.click();
      else {
        await p.getByLabel('New collection name').fill('Layout matter');
        await p.getByRole('button', { name: 'Create', exact: true }).click();
      }
      await p.getByRole('button', { name: 'Retention of Layout matter' }).click();
      await p.getByRole('checkbox', { name: /^Hold everything/ }).check();
    },
    close: async (p) => {
      await p.keyboard.press('Escape');
      await p.getByRole('dialog').waitFor({ state: 'detached' });
      // The library shows all documents again for the views after this one.
      await p.getByRole('button', { name: 'All documents' }).click();
    },
  },
  { name: 'settings', open: (p) => fromSidebar(p, 'Settings') },
  { name: 'assistants', open: (p) => fromSidebar(p, 'Manage') },
  {
    name: 'drawer',
    open: async (p) => {
      const menu = p.getByRole('button', { name: 'Menu' });
      if (await menu.isVisible()) await menu.click();
    },
  },
];

beforeAll(async () => {
  fx = await generateDocumentFixtures();
  mkdirSync(SHOTS, { recursive: true });
  browser = await launchChromium();
  server = await startWebServer(['--data-dir', join(dir, 'data'), '--threads', '1']);
  // The app's CSP rightly refuses injected scripts: this context bypasses it only to load axe.
  const context = await browser.newContext({ viewport: { width: 1280, height: 860 }, bypassCSP: true });
  page = await context.newPage();
  await page.goto(server.url);
  await page.getByLabel('Choose a GGUF model file').setInputFiles(SUMMARY_MODEL);
  await page.getByRole('button', { name: 'Documents', exact: true }).click();
  await dropFiles(page, [fx.pdf12, fx.docx3, fx.withNotes]);
  const library = page.getByRole('table', { name: 'Document library' });
  await library.getByRole('row', { name: 'Lease of 12 pages' }).getByText('Ready').waitFor({ timeout: 30_000 });
  await page.getByRole('button', { name: 'Back to chat' }).click();
  await page.getByRole('button', { name: 'New conversation' }).first().click();
  const box = page.getByRole('textbox', { name: 'Message' });
  await box.fill('Lease question: what is the notice period?');
  await box.press('Enter');
  await page.getByRole('article', { name: 'Model replied' }).last().getByRole('button', { name: 'Regenerate' }).waitFor({ timeout: 30_000 });
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await server?.kill();
  rmSync(dir, { recursive: true, force: true });
});

describe('every view fits the window and passes axe', () => {
  for (const width of [1280, 900, 760]) {
    it(`at ${width} px`, async () => {
      await page.setViewportSize({ width, height: 860 });
      const problems: string[] = [];
      for (const view of VIEWS) {
        await view.open(page);
        await page.waitForTimeout(150);
        await page.screenshot({ path: join(SHOTS, `${view.name}-${width}.png`) });
        for (const o of await overflowing(page)) problems.push(`${view.name}: ${o}`);
        for (const v of await axeViolations(page)) problems.push(`${view.name}: ${v}`);
        await view.close?.(page);
      }
      // The drawer closes with Esc.
      if (await page.getByRole('button', { name: 'Menu' }).isVisible()) {
        await page.keyboard.press('Escape');
        await expect.poll(() => page.getByRole('button', { name: 'Menu' }).getAttribute('aria-expanded')).toBe('false');
      }
      expect(problems).toEqual([]);
    }, 120_000);
  }
});
