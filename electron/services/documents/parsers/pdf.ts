// PDF text, page by page, with pdf.js (no rendering, no fonts). An encrypted PDF asks
// for its password; a damaged one is a clear error.
import { getDocument, type PDFDocumentProxy } from 'pdfjs-dist/legacy/build/pdf.mjs';
import { UserFacingError } from '../../../contract/errors.ts';
import type { PageOcr } from './ocr.ts';
import { tidyPageText, type PageSink } from './types.ts';

export class PasswordRequired extends Error {
  readonly wrongPassword: boolean;
  constructor(wrongPassword: boolean) {
    super(wrongPassword ? 'wrong password' : 'password required');
    this.wrongPassword = wrongPassword;
  }
}

interface TextItemLike {
  str?: string;
  hasEOL?: boolean;
}

/** Reads every page's text; pages with no text layer (scans) are read by `ocr` when given. */
export async function readPdf(data: Uint8Array, fileName: string, sink: PageSink, password?: string, ocr?: PageOcr): Promise<void> {
  let doc: PDFDocumentProxy;
  const task = getDocument({ data, password, disableFontFace: true, useSystemFonts: false, stopAtErrors: false, verbosity: 0 });
  try {
    doc = await task.promise;
  } catch (e) {
    const err = e as { name?: string; code?: number; message?: string };
    if (err.name === 'PasswordException') throw new PasswordRequired(err.code === 2);
    throw new UserFacingError('document/corrupt', `“${fileName}” is not a readable PDF: it may be damaged or incomplete (${err.message ?? 'unknown error'}).`);
  }
  try {
    const metadata = await doc.getMetadata().catch(() => null);
    const info = metadata?.info as { Title?: unknown } | undefined;
    const title = typeof info?.Title === 'string' && info.Title.trim() ? info.Title.trim() : null;
    sink.meta({ pageCount: doc.numPages, paginated: true, title });
    for (let n = 1; n <= doc.numPages; n++) {
      let text = '';
      let byOcr = false;
      try {
        const page = await doc.getPage(n);
        const content = await page.getTextContent();
        for (const item of content.items as TextItemLike[]) {
          if (typeof item.str === 'string') text += item.str;
          if (item.hasEOL) text += '\n';
        }
        if (!text.trim() && ocr) {
          text = await ocr.read(page, (doc as unknown as { canvasFactory: Parameters<PageOcr['read']>[1] }).canvasFactory);
          byOcr = true;
        }
        page.cleanup();
      } catch {
        // A damaged page reads as empty; its number is kept so the others keep theirs.
        text = '';
      }
      sink.page(n, tidyPageText(text), byOcr && text.trim().length > 0);
    }
  } finally {
    await task.destroy();
  }
}
