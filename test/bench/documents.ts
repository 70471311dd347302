// Document figures for `npm run bench`, each next to a raw baseline measured in the same run:
//  - pages/s reading a generated 300-page text PDF: the app (worker thread, SQLite, FTS5) vs
//    raw pdf.js text extraction in this process;
//  - pages/s reading 10 scanned pages: the app's OCR path vs raw pdf.js render + tesseract.js;
//  - the share of summarization time spent outside the model (parsing, storage, events).
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { getDocument } from 'pdfjs-dist/legacy/build/pdf.mjs';
import { createWorker } from 'tesseract.js';
import type { Summary } from '../../electron/contract/types.ts';
import { createEnclave, type Enclave } from '../../electron/core/app.ts';
import { englishDataPath } from '../../electron/services/documents/parsers/ocr.ts';
import { makeMixedPdf, makePdf, SCANNED_LINES } from '../fixtures/documents.ts';

async function rawPdfText(data: Buffer): Promise<number> {
  const start = performance.now();
  const task = getDocument({ data: new Uint8Array(data), verbosity: 0 });
  const doc = await task.promise;
  for (let n = 1; n <= doc.numPages; n++) {
    const page = await doc.getPage(n);
    await page.getTextContent();
    page.cleanup();
  }
  await task.destroy();
  return performance.now() - start;
}

async function rawOcr(data: Buffer): Promise<number> {
  const start = performance.now();
  const worker = await createWorker('eng', 1, { langPath: englishDataPath(), gzip: true, cacheMethod: 'none', logger: () => {} });
  const task = getDocument({ data: new Uint8Array(data), verbosity: 0 });
  const doc = await task.promise;
  for (let n = 1; n <= doc.numPages; n++) {
    const page = await doc.getPage(n);
    const viewport = page.getViewport({ scale: 2 });
    const factory = (doc as unknown as { canvasFactory: { create(w: number, h: number): { canvas: { toBuffer(m: string): Buffer }; context: unknown } } }).canvasFactory;
    const { canvas, context } = factory.create(Math.ceil(viewport.width), Math.ceil(viewport.height));
    await page.render({ canvasContext: context, viewport, canvas } as never).promise;
    await worker.recognize(canvas.toBuffer('image/png'));
  }
  await task.destroy();
  await worker.terminate();
  return performance.now() - start;
}

async function appIngest(enclave: Enclave, path: string): Promise<number> {
  const start = performance.now();
  const { document } = await enclave.documents.import(path);
  await enclave.documents.whenIdle(document.id);
  const elapsed = performance.now() - start;
  if (enclave.documents.get(document.id).status !== 'ready') throw new Error(`benchmark document failed: ${enclave.documents.get(document.id).error}`);
  await enclave.documents.delete(document.id); // so the next round is not a duplicate
  return elapsed;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

export async function benchDocuments(modelPath: string, threads: number): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'enclave-bench-docs-'));
  const enclave = createEnclave({ dataDir: join(dir, 'data'), mode: 'web', version: 'bench', settingsOverride: { threads, contextSize: 2048, gpu: 'off' } });
  try {
    const textPdf = await makePdf(300, { title: 'Bench deposition' });
    const textPath = join(dir, 'deposition-300.pdf');
    writeFileSync(textPath, textPdf);
    const app: number[] = [];
    const raw: number[] = [];
    for (let i = 0; i < 3; i++) {
      raw.push(await rawPdfText(textPdf));
      app.push(await appIngest(enclave, textPath));
    }
    const rawRate = 300 / (median(raw) / 1000);
    const appRate = 300 / (median(app) / 1000);
    console.log('\nDocuments (median of 3, alternating)');
    console.log(`  300-page text PDF   raw pdf.js ${rawRate.toFixed(0)} pages/s; Enclave (worker, SQLite, FTS) ${appRate.toFixed(0)} pages/s = ${((appRate / rawRate) * 100).toFixed(0)}% of raw`);

    const scans = await makeMixedPdf(Array.from({ length: 10 }, (_, i) => ({ scan: [...SCANNED_LINES, `Scanned page ${i + 1}.`] })));
    const scanPath = join(dir, 'scans-10.pdf');
    writeFileSync(scanPath, scans);
    const rawScan = await rawOcr(scans);
    const appScan = await appIngest(enclave, scanPath);
    console.log(`  10 scanned pages    raw pdf.js + tesseract ${(10 / (rawScan / 1000)).toFixed(2)} pages/s; Enclave OCR ${(10 / (appScan / 1000)).toFixed(2)} pages/s = ${((rawScan / appScan) * 100).toFixed(0)}% of raw`);

    // Summarization: time outside the model, over a document several times the context.
    await enclave.models.add(modelPath);
    await enclave.models.settled;
    const { document } = await enclave.documents.import(join(dir, 'deposition-300.pdf'));
    await enclave.documents.whenIdle(document.id);
    const summaryDoc = join(dir, 'lease-40.pdf');
    writeFileSync(summaryDoc, await makePdf(40, { title: 'Bench lease' }));
    const { document: lease } = await enclave.documents.import(summaryDoc);
    await enclave.documents.whenIdle(lease.id);
    const done = new Promise<Summary>((resolve) => {
      const off = enclave.events.subscribe((name, payload) => {
        if (name === 'summaries.done') {
          off();
          resolve(payload as Summary);
        }
      });
    });
    enclave.summaries.start(lease.id, 'key-points');
    const summary = await done;
    const outside = summary.durationMs! - summary.modelMs!;
    console.log(
      `  summary of 40 pages ${summary.sections.length} sections, ${(summary.durationMs! / 1000).toFixed(2)} s; outside the model ${outside} ms = ${((outside / summary.durationMs!) * 100).toFixed(1)}% (target < 5%)`,
    );
  } finally {
    await enclave.shutdown();
    rmSync(dir, { recursive: true, force: true });
  }
}
