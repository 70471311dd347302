// PDF text, page by page, with pdf.js. Its character maps (CJK fonts), standard fonts and image
// decoders come from the installed pdfjs-dist package as local files, never a URL. An encrypted
// PDF asks for its password; a damaged one is recovered as far as pdf.js can, else a clear error.
// Pages with no usable text layer (scans, or a layer of garbage or a few words over a picture) are
// read by OCR, and OCR's confidence is kept so the reader can flag doubtful pages.
import { createRequire } from 'node:module';
import { dirname, join, sep } from 'node:path';
import { getDocument, OPS, type PDFDocumentProxy, type PDFPageProxy } from 'pdfjs-dist/legacy/build/pdf.mjs';
import { UserFacingError } from '../../../contract/errors.ts';
import type { PageOcr } from './ocr.ts';
import { pageList, tidyPageText, type PageSink } from './types.ts';

const require = createRequire(import.meta.url);
const PDFJS_DIR = dirname(require.resolve('pdfjs-dist/package.json'));
/** pdf.js in Node reads these with fs: plain folder paths, ending with a separator. */
const ASSETS = {
  cMapUrl: join(PDFJS_DIR, 'cmaps') + sep,
  cMapPacked: true,
  standardFontDataUrl: join(PDFJS_DIR, 'standard_fonts') + sep,
  wasmUrl: join(PDFJS_DIR, 'wasm') + sep,
};

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

/** A text layer shorter than this over a picture is taken for a scan with a stamp or a header on it. */
const THIN_TEXT_CHARS = 200;
/**
 * A picture covering at least this share of a page with a full text layer may hold text of its
 * own (a scanned letter pasted into a typed page): the page is read by OCR too. A picture covering
 * nearly all of it (FULL_PAGE) is a searchable scan, whose text layer already is its OCR.
 */
const MIXED_COVERAGE = 0.2;
const FULL_PAGE = 0.9;

/**
 * True when a text layer is not text a person could read: mostly control characters, private-use
 * code points or replacement characters (a font with no mapping to Unicode).
 */
export function isGarbageText(text: string): boolean {
  const compact = text.replace(/\s+/g, '');
  if (compact.length < 20) return false;
  let odd = 0;
  for (const ch of compact) {
    const cp = ch.codePointAt(0)!;
    if (cp < 0x20 || (cp >= 0x7f && cp < 0xa0) || (cp >= 0xe000 && cp <= 0xf8ff) || cp === 0xfffd || cp >= 0xf0000) odd++;
  }
  return odd / compact.length > 0.3;
}

function wordCount(text: string): number {
  return (text.match(/\p{L}{2,}/gu) ?? []).length;
}

type Matrix = [number, number, number, number, number, number];
const IMAGE_OPS = new Set<number>([OPS.paintImageXObject, OPS.paintInlineImageXObject, OPS.paintImageMaskXObject]);

function multiply(m: Matrix, t: ArrayLike<number>): Matrix {
  return [
    t[0] * m[0] + t[1] * m[2],
    t[0] * m[1] + t[1] * m[3],
    t[2] * m[0] + t[3] * m[2],
    t[2] * m[1] + t[3] * m[3],
    t[4] * m[0] + t[5] * m[2] + m[4],
    t[4] * m[1] + t[5] * m[3] + m[5],
  ];
}

/** The share of the page's area that pictures cover (0–1), from where the page paints them. */
export async function imageCoverage(page: PDFPageProxy): Promise<number> {
  const { fnArray, argsArray } = await page.getOperatorList();
  const [x0, y0, x1, y1] = page.view;
  const area = Math.abs((x1 - x0) * (y1 - y0)) || 1;
  let ctm: Matrix = [1, 0, 0, 1, 0, 0];
  const stack: Matrix[] = [];
  let covered = 0;
  for (let i = 0; i < fnArray.length; i++) {
    const fn = fnArray[i];
    const args = argsArray[i] as unknown[] | null;
    if (fn === OPS.save) stack.push(ctm);
    else if (fn === OPS.restore) ctm = stack.pop() ?? ctm;
    else if (fn === OPS.transform && args) ctm = multiply(ctm, args as number[]);
    else if (fn === OPS.paintFormXObjectBegin) {
      stack.push(ctm);
      const matrix = args?.[0] as ArrayLike<number> | null | undefined;
      if (matrix && matrix.length === 6) ctm = multiply(ctm, matrix);
    } else if (fn === OPS.paintFormXObjectEnd) ctm = stack.pop() ?? ctm;
    else if (IMAGE_OPS.has(fn)) covered += Math.abs(ctm[0] * ctm[3] - ctm[1] * ctm[2]);
  }
  return Math.min(1, covered / area);
}

/**
 * Lines OCR read that the text layer does not already hold (the words of a picture pasted on a
 * typed page). A line repeats the layer when most of its word pairs are in it: OCR of typed text
 * matches pair by pair; a new sentence shares a word or two, not pairs.
 */
export function linesNotInLayer(ocrText: string, layer: string): string[] {
  const words = (s: string) => s.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? [];
  const layerWords = words(layer);
  const pairs = new Set(layerWords.slice(1).map((w, i) => `${layerWords[i]} ${w}`));
  return ocrText
    .split('\n')
    .map((l) => l.trim())
    .filter((line) => {
      const w = words(line);
      if (w.length < 3) return false;
      const linePairs = w.slice(1).map((x, i) => `${w[i]} ${x}`);
      return linePairs.filter((p) => pairs.has(p)).length / linePairs.length < 0.5;
    });
}

/** Filled-in form fields: their values are not in the page's text layer. */
async function formValues(page: PDFPageProxy): Promise<string> {
  const annotations = (await page.getAnnotations({ intent: 'display' }).catch(() => [])) as {
    fieldType?: string;
    fieldValue?: unknown;
    fieldName?: string;
    alternativeText?: string;
    checkBox?: boolean;
    radioButton?: boolean;
    exportValue?: string;
  }[];
  const lines: string[] = [];
  for (const a of annotations) {
    const label = (a.alternativeText || a.fieldName?.split('.').pop()?.replace(/\[\d+\]$/, '') || 'Field').trim();
    if (a.fieldType === 'Tx' || a.fieldType === 'Ch') {
      const value = Array.isArray(a.fieldValue) ? a.fieldValue.join(', ') : typeof a.fieldValue === 'string' ? a.fieldValue : '';
      if (value.trim()) lines.push(`${label}: ${value.trim()}`);
    } else if (a.fieldType === 'Btn' && (a.checkBox || a.radioButton) && typeof a.fieldValue === 'string' && a.fieldValue !== 'Off') {
      if (!a.radioButton || a.fieldValue === a.exportValue) lines.push(`${label}: ☒ ${a.checkBox ? 'checked' : a.fieldValue}`);
    }
  }
  return lines.join('\n');
}

interface XfaNode {
  name?: string;
  value?: string;
  attributes?: { value?: unknown; class?: string[]; type?: string; checked?: boolean; xfaOn?: string };
  children?: XfaNode[];
}

/**
 * The text of an XFA form page as its reader sees it: drawn text, captions and every field's
 * value (pdf.js's own text of such a page leaves the values out). Walked without recursion.
 */
export function xfaText(root: XfaNode | null): string {
  if (!root) return '';
  const out: string[] = [];
  const stack: (XfaNode | '\n')[] = [root];
  while (stack.length) {
    const node = stack.pop()!;
    if (node === '\n') {
      out.push('\n');
      continue;
    }
    if (typeof node.value === 'string') out.push(node.value);
    const a = node.attributes;
    if ((node.name === 'input' || node.name === 'textarea') && a) {
      if (a.type === 'checkbox' || a.type === 'radio') {
        if (a.checked) out.push(' ☒');
      } else if (typeof a.value === 'string' && a.value.trim()) out.push(` ${a.value}`);
    }
    if (node.name === 'option' && a && (a as { selected?: boolean }).selected && typeof node.value !== 'string') out.push(' (selected)');
    const children = node.children ?? [];
    // Fields and drawn blocks end their line; their children are visited in order.
    if (a?.class?.some((c) => c === 'xfaField' || c === 'xfaDraw' || c === 'xfaRich' || c === 'xfaSubform')) stack.push('\n');
    for (let i = children.length - 1; i >= 0; i--) stack.push(children[i]);
  }
  return out.join('').replace(/[ \t]+\n/g, '\n');
}

async function open(data: Uint8Array, password: string | undefined, enableXfa = true): Promise<{ task: ReturnType<typeof getDocument>; doc: PDFDocumentProxy; xfaFailed: boolean }> {
  const task = getDocument({
    // With XFA on, a copy: the bytes are needed again if the form cannot be laid out.
    data: enableXfa ? data.slice() : data,
    password,
    ...ASSETS,
    enableXfa,
    disableFontFace: true,
    useSystemFonts: false,
    stopAtErrors: false,
    verbosity: 0,
  });
  try {
    return { task, doc: await task.promise, xfaFailed: false };
  } catch (e) {
    // An XFA form pdf.js cannot lay out must not cost the rest of the file: open it without XFA.
    if (enableXfa && (e as { name?: string }).name !== 'PasswordException') {
      const plain = await open(data, password, false);
      return { ...plain, xfaFailed: true };
    }
    throw e;
  }
}

/** Reads every page's text; pages with no usable text layer are read by `ocr` when given. */
export async function readPdf(data: Uint8Array, fileName: string, sink: PageSink, password?: string, ocr?: PageOcr): Promise<void> {
  let opened: Awaited<ReturnType<typeof open>>;
  // pdf.js takes ownership of (and may detach) the buffer it is given: a retry needs its own copy.
  const header = Buffer.from(data.subarray(0, 64 * 1024)).indexOf('%PDF-');
  // Junk before the header is cut off for a second try; a missing header is put back.
  const retry = header > 0 ? data.slice(header) : header < 0 ? new Uint8Array(Buffer.concat([Buffer.from('%PDF-1.7\n'), data])) : null;
  try {
    opened = await open(data, password);
  } catch (e) {
    const err = e as { name?: string; code?: number };
    if (err.name === 'PasswordException') throw new PasswordRequired(err.code === 2);
    // Junk before the header can throw the cross-reference offsets off: try from the header.
    if (!retry) throw damaged(fileName);
    try {
      opened = await open(retry, password);
    } catch (e2) {
      const err2 = e2 as { name?: string; code?: number };
      if (err2.name === 'PasswordException') throw new PasswordRequired(err2.code === 2);
      throw damaged(fileName);
    }
  }
  const { task, doc, xfaFailed } = opened;
  try {
    const metadata = await doc.getMetadata().catch(() => null);
    const info = metadata?.info as { Title?: unknown; IsXFAPresent?: boolean } | undefined;
    const title = typeof info?.Title === 'string' && info.Title.trim() ? info.Title.trim() : null;
    sink.meta({ pageCount: doc.numPages, paginated: true, title });
    const unreadable: number[] = [];
    const doubtful: number[] = [];
    const mixed: number[] = [];
    for (let n = 1; n <= doc.numPages; n++) {
      let text = '';
      let confidence: number | null = null;
      try {
        const page = await doc.getPage(n);
        if (doc.isPureXfa) text = xfaText((await page.getXfa()) as XfaNode | null);
        else {
          const content = await page.getTextContent();
          for (const item of content.items as TextItemLike[]) {
            if (typeof item.str === 'string') text += item.str;
            if (item.hasEOL) text += '\n';
          }
        }
        const garbage = isGarbageText(text);
        const thin = text.trim().length < THIN_TEXT_CHARS;
        const canvasFactory = (doc as unknown as { canvasFactory: Parameters<PageOcr['read']>[1] }).canvasFactory;
        if (ocr && !doc.isPureXfa) {
          const coverage = !text.trim() || garbage ? 1 : await imageCoverage(page).catch(() => 0);
          if (!text.trim() || garbage || (thin && coverage >= 0.05)) {
            const read = await ocr.read(page, canvasFactory);
            // OCR is kept when the layer is garbage or empty, or when it reads more words than the layer.
            if (read.text.trim() && (garbage || !text.trim() || wordCount(read.text) > wordCount(text) + 3)) {
              text = read.text;
              confidence = read.confidence;
              if (read.confidence < 70) doubtful.push(n);
            } else if (garbage) text = '';
          } else if (coverage >= MIXED_COVERAGE && coverage < FULL_PAGE) {
            // Typed text and a picture with words in it: the picture's lines are added after the layer's.
            const read = await ocr.read(page, canvasFactory);
            const extra = read.text.trim() ? linesNotInLayer(read.text, text) : [];
            if (extra.length) {
              text = `${text}\n\n${extra.join('\n')}`;
              confidence = read.confidence;
              mixed.push(n);
              if (read.confidence < 70) doubtful.push(n);
            }
          }
        } else if (garbage) {
          text = '';
        }
        if (garbage && !text.trim()) unreadable.push(n);
        if (!doc.isPureXfa) {
          const fields = await formValues(page);
          if (fields) text = text.trim() ? `${text}\n\n${fields}` : fields;
        }
        page.cleanup();
      } catch {
        // A damaged page reads as empty; its number is kept so the others keep theirs.
        text = '';
        unreadable.push(n);
      }
      sink.page(n, tidyPageText(text), confidence);
    }
    if (unreadable.length) sink.notice(`The text of ${pageList(unreadable)} could not be read: the page is damaged or its fonts map to no letters, and OCR found nothing legible.`);
    if (mixed.length) sink.notice(`Pictures on ${pageList(mixed)} hold text of their own: it was read by OCR and added after the page's typed text.`);
    if (doubtful.length) sink.notice(`OCR was unsure of ${pageList(doubtful)}: words there may be misread. Check them against the original.`);
    if (xfaFailed) sink.notice('This PDF is an XFA form Enclave could not lay out: only what is printed on its pages was read, and the form’s own fields and text may be missing. Print it to a new PDF from Adobe Reader and add that.');
    else if (info?.IsXFAPresent && !doc.isPureXfa) sink.notice('This PDF also holds an XFA form; its fields were read as the page shows them, and parts that appear only when the form runs may be missing.');
  } finally {
    await task.destroy();
  }
}

function damaged(fileName: string): UserFacingError {
  return new UserFacingError(
    'document/corrupt',
    `“${fileName}” is damaged beyond what Enclave can recover: it is not a readable PDF. If it opens in another viewer, print it to a new PDF and add that.`,
  );
}
