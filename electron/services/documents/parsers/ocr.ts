// OCR of image-only PDF pages, offline: pdf.js renders the page (on @napi-rs/canvas) and
// tesseract.js reads it with the English data bundled from the npm registry. Nothing is fetched.
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type { PDFPageProxy } from 'pdfjs-dist/legacy/build/pdf.mjs';
import type { Worker as TesseractWorker } from 'tesseract.js';

const require = createRequire(import.meta.url);
/** ~144 dpi for an A4 page: enough for body text, cheap enough for hundreds of pages. */
const RENDER_SCALE = 2;

export function englishDataPath(): string {
  return join(dirname(require.resolve('@tesseract.js-data/eng/package.json')), '4.0.0_best_int');
}

/** Below this, what Tesseract reads is noise, not text. */
const MIN_CONFIDENCE = 40;

export interface OcrResult {
  text: string;
  /** Tesseract's mean word confidence, 0–100. */
  confidence: number;
}

interface CanvasLike {
  toBuffer(mime: 'image/png'): Buffer;
}

export class PageOcr {
  #worker: Promise<TesseractWorker> | null = null;

  #start(): Promise<TesseractWorker> {
    // Loaded on the first scanned page only: most PDFs never need it.
    this.#worker ??= import('tesseract.js').then(({ createWorker }) =>
      createWorker('eng', 1, { langPath: englishDataPath(), gzip: true, cacheMethod: 'none', logger: () => {}, errorHandler: () => {} }),
    );
    return this.#worker;
  }

  /** Reads the text of a rendered page; empty when nothing legible is on it. */
  async read(page: PDFPageProxy, canvasFactory: { create(w: number, h: number): { canvas: unknown; context: unknown } }): Promise<OcrResult> {
    const viewport = page.getViewport({ scale: RENDER_SCALE });
    const { canvas, context } = canvasFactory.create(Math.ceil(viewport.width), Math.ceil(viewport.height));
    // pdf.js's own Node canvas factory (@napi-rs/canvas) made these; its types name the DOM ones.
    type RenderParameters = Parameters<PDFPageProxy['render']>[0];
    await page.render({ canvasContext: context, viewport, canvas } as unknown as RenderParameters).promise;
    return this.readImage((canvas as CanvasLike).toBuffer('image/png'));
  }

  /** Reads an image (PNG, JPEG, BMP…); empty text when nothing legible is on it. */
  async readImage(image: Buffer): Promise<OcrResult> {
    const worker = await this.#start();
    const { data } = await worker.recognize(image);
    // Tesseract reads noise on blank or drawn pages as stray characters: keep words only.
    return data.confidence >= MIN_CONFIDENCE ? { text: data.text, confidence: data.confidence } : { text: '', confidence: data.confidence };
  }

  async close(): Promise<void> {
    if (this.#worker) await (await this.#worker).terminate();
    this.#worker = null;
  }
}
