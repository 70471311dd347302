// Word (.docx) read straight from its XML, so page breaks survive: explicit ones
// (<w:br w:type="page"/>, pageBreakBefore) and the ones Word recorded when it last laid the
// document out (<w:lastRenderedPageBreak/>). A maintained converter (mammoth) was considered: it
// drops page breaks, headers and footers, which is why this reader exists.
//
// Every part that holds text is read, in reading order: the body with its tables and text boxes;
// footnotes and comments right after the paragraph that refers to them (so they stay on its
// page); endnotes at the end; each section's headers and footers on its first page. The
// WordprocessingML namespace is found by its URI, whatever prefix a producer gave it, and the
// main part by the package's relationships. What cannot be read (pictures, charts, embedded
// objects) is named with its pages. Decompression is capped: a zip bomb is refused, whatever
// sizes its directory claims.
import { posix } from 'node:path';
import { Unzip, UnzipInflate } from 'fflate';
import { UserFacingError } from '../../../contract/errors.ts';
import { emitPages } from './text.ts';
import { MAX_PAGES, pageCapNotice, pageList, tidyPageText, type PageSink } from './types.ts';

/** The most XML Enclave will inflate from one package (far above any real document's text). */
export const MAX_DOCX_XML_BYTES = 64 * 1024 * 1024;

const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };
export function decodeXml(s: string): string {
  return s.replace(/&(#x[0-9a-f]+|#\d+|\w+);/gi, (m, e: string) => {
    if (e[0] === '#') {
      const code = e[1] === 'x' || e[1] === 'X' ? parseInt(e.slice(2), 16) : parseInt(e.slice(1), 10);
      return Number.isFinite(code) && code >= 0 && code <= 0x10ffff ? String.fromCodePoint(code) : '';
    }
    return ENTITIES[e] ?? m;
  });
}

/**
 * The XML parts of a ZIP package (entries for which `wanted` is true), inflated in one streamed
 * pass with a cap on the total. Null when the archive holds none of them.
 */
export function extractEntries(data: Uint8Array, wanted: (name: string) => boolean, fileName: string): Map<string, string> {
  const parts = new Map<string, Uint8Array[]>();
  let total = 0;
  let tooBig = false;
  let failure: unknown = null;
  const unzip = new Unzip((file) => {
    if (!wanted(file.name) || tooBig) return;
    const chunks: Uint8Array[] = [];
    parts.set(file.name, chunks);
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
  if (failure && parts.size === 0) throw new UserFacingError('document/corrupt', `“${fileName}” is damaged: its contents cannot be unpacked. Open it in Word and save it again, or export it to PDF.`);
  const out = new Map<string, string>();
  for (const [name, chunks] of parts) out.set(name, Buffer.concat(chunks).toString('utf8'));
  return out;
}

/** Kept for callers that want one entry. */
export function extractEntry(data: Uint8Array, name: string, fileName: string): string | null {
  return extractEntries(data, (n) => n === name, fileName).get(name) ?? null;
}

const W_NAMESPACES = ['http://schemas.openxmlformats.org/wordprocessingml/2006/main', 'http://purl.oclc.org/ooxml/wordprocessingml/main'];

/** The prefix (with its colon, or '' for the default namespace) that a part gives WordprocessingML. */
export function wordPrefix(xml: string): string {
  const head = xml.slice(0, 20_000);
  for (const m of head.matchAll(/xmlns(?::([\w.-]+))?\s*=\s*["']([^"']+)["']/g)) {
    if (W_NAMESPACES.includes(m[2])) return m[1] ? `${m[1]}:` : '';
  }
  return 'w:';
}

interface Relationship {
  type: string;
  target: string;
}

/** rId → relationship, with targets resolved against the part's folder. */
function relationships(xml: string | undefined, partDir: string): Map<string, Relationship> {
  const out = new Map<string, Relationship>();
  if (!xml) return out;
  for (const m of xml.matchAll(/<(?:\w+:)?Relationship\b([^>]*)\/?>/g)) {
    const attr = (name: string) => new RegExp(`\\b${name}\\s*=\\s*["']([^"']*)["']`).exec(m[1])?.[1];
    const id = attr('Id');
    const target = attr('Target');
    if (!id || !target || attr('TargetMode') === 'External') continue;
    const resolved = target.startsWith('/') ? target.slice(1) : posix.normalize(posix.join(partDir, decodeXml(target)));
    out.set(id, { type: attr('Type') ?? '', target: resolved });
  }
  return out;
}

function relsPathOf(part: string): string {
  return posix.join(posix.dirname(part), '_rels', `${posix.basename(part)}.rels`);
}

/** What a document holds that is not read as text, by kind, with the pages it is on. */
interface Unread {
  pictures: number[];
  charts: number[];
  objects: number[];
}

interface WalkOptions {
  /** Notes and comments placed after the paragraph that refers to them. */
  footnotes?: Map<string, string>;
  comments?: Map<string, string>;
  endnotes?: Map<string, string>;
  /** Stops after this many pages (the document's page cap). */
  maxPages?: number;
}

interface Walk {
  pages: string[];
  paginated: boolean;
  sections: { startPage: number; headers: string[]; footers: string[] }[];
  endnotes: string[];
  unread: Unread;
  truncated: boolean;
}

/**
 * Walks one part's XML. Only elements in the WordprocessingML namespace (by prefix `w`) count;
 * the fallback of mc:AlternateContent is skipped (it repeats the choice's text box).
 */
function walk(xml: string, w: string, options: WalkOptions = {}): Walk {
  const pages: string[] = [];
  let current = '';
  let breaks = 0;
  let pendingBreak = false;
  let inText = 0;
  let skipDepth = 0; // inside mc:Fallback (or deleted text), counting nested elements
  let noteNumber = 0;
  let truncated = false;
  const queued: string[] = [];
  const endnotes: string[] = [];
  const sections: Walk['sections'] = [];
  let sectionStart = 0;
  let sectionRefs: { headers: string[]; footers: string[] } | null = null;
  const unread: Unread = { pictures: [], charts: [], objects: [] };
  const pageNow = () => pages.length + (pendingBreak ? 2 : 1);
  const maxPages = options.maxPages ?? Infinity;

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
  const attr = (attrs: string, name: string) => new RegExp(`\\b${name}\\s*=\\s*["']([^"']*)["']`).exec(attrs)?.[1];

  const token = /<(\/?)([\w:.-]+)([^>]*?)(\/?)>|<!\[CDATA\[[\s\S]*?\]\]>|<[?!][^>]*>|([^<]+)/g;
  let m: RegExpExecArray | null;
  while ((m = token.exec(xml))) {
    if (pages.length >= maxPages) {
      truncated = true;
      break;
    }
    const [, closing, tag, attrs, selfClosing, text] = m;
    if (text !== undefined) {
      if (inText > 0 && skipDepth === 0) emit(decodeXml(text));
      continue;
    }
    if (!tag) continue;
    const opening = !closing;
    const empty = selfClosing === '/';
    // Skipped subtrees: the fallback copy of alternate content, and tracked deletions.
    if (skipDepth > 0) {
      if (opening && !empty) skipDepth++;
      else if (closing) skipDepth--;
      continue;
    }
    if (tag === 'mc:Fallback' && opening && !empty) {
      skipDepth = 1;
      continue;
    }
    const local = w === '' ? (tag.includes(':') ? null : tag) : tag.startsWith(w) ? tag.slice(w.length) : null;
    if (local === null) {
      // Outside WordprocessingML: note what is not text.
      if (opening && (tag === 'pic:pic' || tag === 'v:imagedata')) unread.pictures.push(pageNow());
      else if (opening && tag === 'c:chart') unread.charts.push(pageNow());
      continue;
    }
    switch (local) {
      case 't':
        if (!empty) inText += opening ? 1 : -1;
        break;
      case 'del':
        if (opening && !empty) skipDepth = 1;
        break;
      case 'p':
        if (closing) {
          current += '\n';
          if (queued.length) current += queued.splice(0).map((q) => `${q}\n`).join('');
        }
        break;
      case 'tab':
      case 'ptab':
        if (opening) emit('\t');
        break;
      case 'noBreakHyphen':
        if (opening) emit('-');
        break;
      case 'br':
      case 'cr':
        if (opening) {
          if (attr(attrs, `${w}type`) === 'page') breakPage();
          else emit('\n');
        }
        break;
      case 'lastRenderedPageBreak':
        breakPage();
        break;
      case 'pageBreakBefore':
        if (!/="(0|false|off)"/.test(attrs)) breakPage();
        break;
      case 'footnoteReference':
      case 'endnoteReference':
      case 'commentReference': {
        if (!opening) break;
        const id = attr(attrs, `${w}id`) ?? '';
        if (local === 'commentReference') {
          const comment = options.comments?.get(id);
          if (comment) queued.push(comment);
        } else if (local === 'footnoteReference') {
          const note = options.footnotes?.get(id);
          if (note !== undefined) {
            const n = ++noteNumber;
            emit(`[${n}]`);
            queued.push(`[${n}] ${note}`);
          }
        } else {
          const note = options.endnotes?.get(id);
          if (note !== undefined) {
            const n = endnotes.length + 1;
            emit(`[${toRoman(n)}]`);
            endnotes.push(`[${toRoman(n)}] ${note}`);
          }
        }
        break;
      }
      case 'object':
        if (opening) unread.objects.push(pageNow());
        break;
      case 'sectPr':
        if (opening && !empty) sectionRefs = { headers: [], footers: [] };
        else if (closing && sectionRefs) {
          sections.push({ startPage: sectionStart, ...sectionRefs });
          sectionRefs = null;
          sectionStart = pages.length + (pendingBreak ? 1 : 0);
        }
        break;
      case 'headerReference':
      case 'footerReference': {
        const rid = attr(attrs, 'r:id') ?? /\b[\w-]+:id\s*=\s*["']([^"']*)["']/.exec(attrs)?.[1];
        if (sectionRefs && rid) (local === 'headerReference' ? sectionRefs.headers : sectionRefs.footers).push(rid);
        break;
      }
    }
  }
  if (!truncated) pages.push(current);
  return { pages, paginated: breaks > 0, sections, endnotes, unread, truncated };
}

function toRoman(n: number): string {
  const numerals: [number, string][] = [[1000, 'm'], [900, 'cm'], [500, 'd'], [400, 'cd'], [100, 'c'], [90, 'xc'], [50, 'l'], [40, 'xl'], [10, 'x'], [9, 'ix'], [5, 'v'], [4, 'iv'], [1, 'i']];
  let out = '';
  for (const [value, numeral] of numerals) while (n >= value) {
    out += numeral;
    n -= value;
  }
  return out;
}

/** Splits document.xml into page texts; `paginated` is false when it holds no page breaks. */
export function docxPages(xml: string): { pages: string[]; paginated: boolean } {
  const { pages, paginated } = walk(xml, wordPrefix(xml));
  return { pages, paginated };
}

/** The text of each note (footnote, endnote) or comment in a part, by id; separators are left out. */
export function notesById(xml: string | undefined, element: 'footnote' | 'endnote' | 'comment'): Map<string, string> {
  const out = new Map<string, string>();
  if (!xml) return out;
  const w = wordPrefix(xml);
  const re = new RegExp(`<${w}${element}\\b([^>]*?)(?:/>|>([\\s\\S]*?)</${w}${element}>)`, 'g');
  for (const m of xml.matchAll(re)) {
    const attrs = m[1];
    if (/\btype\s*=\s*["'](separator|continuationSeparator|continuationNotice)["']/.test(attrs)) continue;
    const id = /\bid\s*=\s*["']([^"']*)["']/.exec(attrs)?.[1];
    if (id === undefined) continue;
    const text = tidyPageText(walk(m[2] ?? '', w).pages.join('\n')).replace(/\n+/g, ' ');
    if (element === 'comment') {
      const author = /\bauthor\s*=\s*["']([^"']*)["']/.exec(attrs)?.[1];
      if (text) out.set(id, `[Comment${author ? ` by ${decodeXml(author)}` : ''}: ${text}]`);
    } else out.set(id, text);
  }
  return out;
}

/** Reads a .docx package: every part that holds text, and notices for what does not. */
export function readDocx(data: Uint8Array, fileName: string, sink: PageSink): void {
  const parts = extractEntries(data, (n) => n.endsWith('.xml') || n.endsWith('.rels'), fileName);
  const rootRels = relationships(parts.get('_rels/.rels'), '');
  const mainPart =
    [...rootRels.values()].find((r) => r.type.endsWith('/officeDocument') && parts.has(r.target))?.target ??
    (parts.has('word/document.xml') ? 'word/document.xml' : null);
  if (!mainPart) {
    if ([...parts.keys()].some((n) => n.startsWith('xl/'))) {
      throw new UserFacingError('document/unsupported', `“${fileName}” is an Excel workbook named like a Word document; rename it to .xlsx and add it again.`);
    }
    throw new UserFacingError('document/unsupported', `“${fileName}” is a ZIP archive but not a Word document (it has no main document part).`);
  }
  const xml = parts.get(mainPart)!;
  const rels = relationships(parts.get(relsPathOf(mainPart)), posix.dirname(mainPart));
  const partOfType = (suffix: string) => [...rels.values()].find((r) => r.type.endsWith(suffix))?.target;
  const footnotes = notesById(parts.get(partOfType('/footnotes') ?? ''), 'footnote');
  const endnotes = notesById(parts.get(partOfType('/endnotes') ?? ''), 'endnote');
  const comments = notesById(parts.get(partOfType('/comments') ?? ''), 'comment');
  const w = wordPrefix(xml);
  const body = walk(xml, w, { footnotes, endnotes, comments, maxPages: MAX_PAGES });

  // Headers and footers: each distinct one once, on the first page of the section that uses it.
  const seen = new Set<string>();
  const textOfPart = (rid: string) => {
    const target = rels.get(rid)?.target;
    const partXml = target ? parts.get(target) : undefined;
    if (!partXml) return '';
    return tidyPageText(walk(partXml, wordPrefix(partXml)).pages.join('\n'));
  };
  for (const section of body.sections) {
    const page = Math.min(section.startPage, body.pages.length - 1);
    const fresh = (rids: string[]) =>
      rids.map(textOfPart).filter((t) => {
        if (!t || seen.has(t)) return false;
        seen.add(t);
        return true;
      });
    const headers = fresh(section.headers);
    const footers = fresh(section.footers);
    if (headers.length) body.pages[page] = `${headers.join('\n')}\n\n${body.pages[page]}`;
    if (footers.length) body.pages[page] = `${body.pages[page]}\n\n${footers.join('\n')}`;
  }
  if (body.endnotes.length) body.pages[body.pages.length - 1] += `\n\nEndnotes\n${body.endnotes.join('\n')}\n`;

  const { unread } = body;
  const where = (pages: number[]) => (body.paginated ? ` (${pageList(pages)})` : '');
  const say = (pages: number[], one: string, many: string, tail = '') => {
    if (pages.length) sink.notice(`${pages.length === 1 ? one : `${pages.length} ${many}`}${where(pages)} ${pages.length === 1 ? 'was' : 'were'} not read${tail}.`);
  };
  say(unread.pictures, 'A picture', 'pictures', ': text inside pictures is not recognised in Word files (export the document to PDF to have it read by OCR)');
  say(unread.charts, 'A chart', 'charts');
  say(unread.objects, 'An embedded object', 'embedded objects', ' (a spreadsheet or another file inside this one)');
  if (body.truncated) sink.notice(pageCapNotice(fileName));

  emitPages(sink, body.pages, body.paginated, null);
}
