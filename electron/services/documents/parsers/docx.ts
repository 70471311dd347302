// Word (.docx) read straight from its XML, so page breaks survive: explicit ones
// (<w:br w:type="page"/>, pageBreakBefore) and the ones Word recorded when it last laid the
// document out (<w:lastRenderedPageBreak/>). Decompression is capped: a zip bomb is refused,
// whatever sizes its directory claims.
import { Unzip, UnzipInflate } from 'fflate';
import { UserFacingError } from '../../../contract/errors.ts';
import { splitIntoParts, PART_CHARS } from './text.ts';
import { tidyPageText, type PageSink } from './types.ts';

/** The most XML Enclave will inflate from one .docx (far above any real document's text). */
export const MAX_DOCX_XML_BYTES = 64 * 1024 * 1024;

const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };
function decodeXml(s: string): string {
  return s.replace(/&(#x[0-9a-f]+|#\d+|\w+);/gi, (m, e: string) => {
    if (e[0] === '#') {
      const code = e[1] === 'x' || e[1] === 'X' ? parseInt(e.slice(2), 16) : parseInt(e.slice(1), 10);
      return Number.isFinite(code) && code >= 0 && code <= 0x10ffff ? String.fromCodePoint(code) : '';
    }
    return ENTITIES[e] ?? m;
  });
}

export function extractEntry(data: Uint8Array, name: string, fileName: string): string | null {
  const chunks: Uint8Array[] = [];
  let total = 0;
  let found = false;
  let tooBig = false;
  let failure: unknown = null;
  const unzip = new Unzip((file) => {
    if (file.name !== name) return;
    found = true;
    file.ondata = (err, chunk) => {
      if (err) {
        failure = err;
        return;
      }
      total += chunk.length;
      if (total > MAX_DOCX_XML_BYTES) {
        tooBig = true;
        file.terminate();
        return;
      }
      chunks.push(chunk);
    };
    file.start();
  });
  unzip.register(UnzipInflate);
  try {
    // Pushed in slices so the cap stops inflation early.
    const step = 1 << 20;
    for (let i = 0; i < data.length && !tooBig; i += step) unzip.push(data.subarray(i, i + step), i + step >= data.length);
  } catch (e) {
    failure = e;
  }
  if (tooBig) {
    throw new UserFacingError(
      'document/corrupt',
      `“${fileName}” expands to more than ${MAX_DOCX_XML_BYTES / 1024 / 1024} MB of text when unpacked. It looks like a “zip bomb” and was not opened.`,
    );
  }
  if (failure) throw new UserFacingError('document/corrupt', `“${fileName}” is damaged: its contents cannot be unpacked.`);
  if (!found) return null;
  return Buffer.concat(chunks).toString('utf8');
}

/** Splits document.xml into page texts; `paginated` is false when it holds no page breaks. */
export function docxPages(xml: string): { pages: string[]; paginated: boolean } {
  const pages: string[] = [];
  let current = '';
  let breaks = 0;
  let pendingBreak = false;
  let inText = false;
  const breakPage = () => {
    // Word often writes an explicit break and a rendered one together: count one.
    if (current.trim() || pages.length === 0) pendingBreak = true;
  };
  const emit = (s: string) => {
    if (pendingBreak && s.trim()) {
      pages.push(current);
      current = '';
      pendingBreak = false;
      breaks++;
    }
    current += s;
  };
  const token = /<(\/?)([\w:]+)([^>]*?)(\/?)>|([^<]+)/g;
  let m: RegExpExecArray | null;
  while ((m = token.exec(xml))) {
    const [, closing, tag, attrs, selfClosing, text] = m;
    if (text !== undefined) {
      if (inText) emit(decodeXml(text));
      continue;
    }
    if (tag === 'w:t') inText = !closing && !selfClosing;
    else if (tag === 'w:p' && closing) current += '\n';
    else if (tag === 'w:tab' && !closing) emit('\t');
    else if ((tag === 'w:br' || tag === 'w:cr') && !closing) {
      if (/w:type="page"/.test(attrs)) breakPage();
      else emit('\n');
    } else if (tag === 'w:lastRenderedPageBreak') breakPage();
    else if (tag === 'w:pageBreakBefore' && !/w:val="(0|false)"/.test(attrs)) breakPage();
  }
  pages.push(current);
  return { pages, paginated: breaks > 0 };
}

export function readDocx(data: Uint8Array, fileName: string, sink: PageSink): void {
  const xml = extractEntry(data, 'word/document.xml', fileName);
  if (xml === null) {
    throw new UserFacingError('document/unsupported', `“${fileName}” is a ZIP archive but not a Word document (it has no word/document.xml).`);
  }
  const { pages, paginated } = docxPages(xml);
  const texts = paginated ? pages : splitIntoParts(pages.join(''), PART_CHARS);
  sink.meta({ pageCount: texts.length, paginated, title: null });
  texts.forEach((t, i) => sink.page(i + 1, tidyPageText(t)));
}
