// Reading figures for `npm run bench`, on real documents (../shared/corpora, when present) and on
// the generated pathological files:
//  - how much of each real PDF's text Enclave keeps, against poppler's pdftotext when it is
//    installed (word recall: the share of pdftotext's words that Enclave's pages hold too);
//  - pages/s, documents that failed or came with notices;
//  - peak RSS of the app (its process and the reader process) while reading, RSS after (the
//    reader ended, as after a large document or a minute idle), and the longest main-thread stall.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { extname, join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { createEnclave, type Enclave } from '../../electron/core/app.ts';
import { generateOddFixtures } from '../fixtures/odd-documents.ts';
import { REAL_CORPUS } from '../fixtures/paths.ts';
import { appRss } from '../support/app-memory.ts';

function files(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const path = join(dir, e.name);
    if (e.isDirectory()) return files(path);
    return ['.pdf', '.xml', '.txt'].includes(extname(e.name)) ? [path] : [];
  });
}

const tokens = (s: string) => s.toLowerCase().normalize('NFKC').match(/[\p{L}\p{N}]+/gu) ?? [];

/** Share of `reference`'s words (with their counts) that `text` holds. */
function wordRecall(text: string, reference: string): { hit: number; total: number } {
  const have = new Map<string, number>();
  for (const t of tokens(text)) have.set(t, (have.get(t) ?? 0) + 1);
  let hit = 0;
  let total = 0;
  for (const t of tokens(reference)) {
    total++;
    const n = have.get(t) ?? 0;
    if (n > 0) {
      hit++;
      have.set(t, n - 1);
    }
  }
  return { hit, total };
}

function pdftotext(path: string): string | null {
  try {
    return execFileSync('pdftotext', ['-q', path, '-'], { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 });
  } catch {
    return null;
  }
}

interface Watch {
  stop(): { peakRss: number; maxStallMs: number };
}

function watch(): Watch {
  let peak = appRss();
  const timer = setInterval(() => (peak = Math.max(peak, appRss())), 25);
  const lag = monitorEventLoopDelay({ resolution: 10 });
  lag.enable();
  return {
    stop() {
      clearInterval(timer);
      lag.disable();
      return { peakRss: Math.max(peak, appRss()), maxStallMs: lag.max / 1e6 };
    },
  };
}

/** Reads each file as the app does (import, then wait until it is read). */
async function readAll(enclave: Enclave, paths: string[]) {
  const out = [];
  for (const path of paths) {
    const start = performance.now();
    const { document } = await enclave.documents.import(path);
    await enclave.documents.whenIdle(document.id);
    out.push({ path, doc: enclave.documents.get(document.id), ms: performance.now() - start });
  }
  return out;
}

/** A document's text, page after page (read after the measurement: it is the benchmark's own work). */
function textOf(enclave: Enclave, doc: { id: string; status: string; pageCount: number }): string {
  let text = '';
  if (doc.status === 'ready') for (let n = 1; n <= doc.pageCount; n++) text += `${enclave.documents.page(doc.id, n).text}\n`;
  return text;
}

const mb = (n: number) => `${Math.round(n / 1024 / 1024)} MB`;
/** The app's memory now, and how much of it is the app's own process (the rest is the reader). */
const afterRss = () => `${mb(appRss())} (app process ${mb(process.memoryUsage().rss)}, V8 heap ${mb(process.memoryUsage().heapUsed)})`;

export async function benchReading(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'enclave-bench-reading-'));
  const enclave = createEnclave({ dataDir: join(dir, 'data'), mode: 'web', version: 'bench' });
  try {
    console.log('\nReading documents');
    if (existsSync(REAL_CORPUS)) {
      const paths = files(REAL_CORPUS);
      const before = appRss();
      const w = watch();
      const results = await readAll(enclave, paths);
      const { peakRss, maxStallMs } = w.stop();
      const pages = results.reduce((s, r) => s + r.doc.pageCount, 0);
      const ms = results.reduce((s, r) => s + r.ms, 0);
      const failed = results.filter((r) => r.doc.status !== 'ready');
      const noticed = results.filter((r) => r.doc.notices.length > 0);
      const bytes = paths.reduce((s, p) => s + statSync(p).size, 0);
      console.log(
        `  ${paths.length} real documents (${mb(bytes)}: PDFs, XML, text)  ${pages} pages in ${(ms / 1000).toFixed(1)} s = ${(pages / (ms / 1000)).toFixed(0)} pages/s; ` +
          `${failed.length} failed${failed.length ? ` (${failed.map((f) => `${f.doc.fileName}: ${f.doc.error}`).join('; ')})` : ''}; ${noticed.length} with reading notes`,
      );
      console.log(`  memory   RSS before ${mb(before)}, peak ${mb(peakRss)}, after ${afterRss()}; longest main-thread stall ${maxStallMs.toFixed(0)} ms`);
      const pdfs = results.filter((r) => r.path.endsWith('.pdf'));
      let hit = 0;
      let total = 0;
      let worst = { name: '', recall: 1 };
      let compared = 0;
      for (const r of pdfs) {
        const reference = pdftotext(r.path);
        if (reference === null) continue;
        compared++;
        const recall = wordRecall(textOf(enclave, r.doc), reference);
        hit += recall.hit;
        total += recall.total;
        const share = recall.total ? recall.hit / recall.total : 1;
        if (share < worst.recall) worst = { name: r.doc.fileName, recall: share };
      }
      if (compared) {
        console.log(`  PDF text kept vs poppler's pdftotext: ${((hit / total) * 100).toFixed(2)}% of its ${total.toLocaleString('en-US')} words over ${compared} PDFs; lowest ${(worst.recall * 100).toFixed(1)}% (${worst.name})`);
      } else console.log('  (pdftotext not installed: no comparison with poppler)');
    } else console.log('  (../shared/corpora not present: real documents skipped)');

    const odd = await generateOddFixtures();
    for (const [label, path] of [
      ['1,000,000 page breaks in a .docx', odd.pageBreakBomb],
      ['1,000,000 form feeds in a .txt', odd.formFeedBomb],
      ['300,000 nested <div>s', odd.deepHtml],
    ] as const) {
      const before = appRss();
      const w = watch();
      const [r] = await readAll(enclave, [path]);
      const { peakRss, maxStallMs } = w.stop();
      console.log(
        `  ${label.padEnd(34)} ${r.doc.status}, ${r.doc.pageCount} pages in ${(r.ms / 1000).toFixed(1)} s; RSS ${mb(before)} → peak ${mb(peakRss)} → ${afterRss()}; longest stall ${maxStallMs.toFixed(0)} ms`,
      );
      await enclave.documents.delete(r.doc.id);
    }
  } finally {
    await enclave.shutdown();
    rmSync(dir, { recursive: true, force: true });
  }
}
