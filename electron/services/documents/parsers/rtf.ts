// Rich Text Format, read without recursion (a deeply nested file cannot exhaust the stack): text in
// its code page (\ansicpg, per-font \fcharset) and Unicode escapes (\uN), paragraphs, tabs, table
// cells, page breaks (\page) as page numbers; footnotes, headers and footers read in place; field
// results kept and field instructions, font tables, styles, pictures and other destinations
// skipped. Pictures and embedded objects are named in a notice.
import { emitPages } from './text.ts';
import { MAX_PAGES, pageCapNotice, pageList, tidyPageText, type PageSink } from './types.ts';

/** Destinations whose content is not text of the document. */
const SKIP = new Set([
  'fonttbl', 'colortbl', 'stylesheet', 'listtable', 'listoverridetable', 'revtbl', 'rsidtbl', 'generator', 'xmlnstbl',
  'fldinst', 'datafield', 'themedata', 'colorschememapping', 'latentstyles', 'datastore', 'pgdsctbl', 'filetbl',
  'private', 'mmathPr', 'wgrffmtfilter', 'bkmkstart', 'bkmkend', 'pn', 'pntext', 'pntxta', 'pntxtb', 'xe', 'tc',
  'operator', 'author', 'company', 'keywords', 'comment', 'doccomm', 'hlinkbase', 'subject', 'category', 'manager',
  'creatim', 'revtim', 'printim', 'buptim', 'objdata', 'objclass', 'objname', 'nonshppict', 'passwordhash',
  'userprops', 'docvar', 'background', 'shpinst', 'sp', 'sn', 'sv', 'atnid', 'atnauthor', 'atntime', 'atnref',
  'listtext', 'fldtype', 'ftnsep', 'ftnsepc', 'ftncn', 'aftnsep', 'aftnsepc', 'aftncn',
]);

/** Code pages by \fcharset number. */
const CHARSET_CODEPAGE: Record<number, number> = {
  0: 1252, 77: 10000, 128: 932, 129: 949, 134: 936, 136: 950, 161: 1253, 162: 1254, 163: 1258, 177: 1255, 178: 1256, 186: 1257, 204: 1251, 222: 874, 238: 1250,
};

function decoderFor(codepage: number): InstanceType<typeof TextDecoder> {
  const label = codepage === 932 ? 'shift_jis' : codepage === 936 ? 'gbk' : codepage === 949 ? 'euc-kr' : codepage === 950 ? 'big5' : codepage === 10000 ? 'macintosh' : `windows-${codepage}`;
  try {
    return new TextDecoder(label);
  } catch {
    return new TextDecoder('windows-1252');
  }
}

interface GroupState {
  skip: boolean;
  font: number | null;
  uc: number;
  /** The group holds the title of \info. */
  title: boolean;
}

export interface RtfText {
  pages: string[];
  paginated: boolean;
  title: string | null;
  pictures: number[];
  objects: number[];
  truncated: boolean;
}

export function rtfToText(rtf: string, maxPages = MAX_PAGES): RtfText {
  const pages: string[] = [];
  let current = '';
  let breaks = 0;
  let title = '';
  const pictures: number[] = [];
  const objects: number[] = [];
  const fontCodepage = new Map<number, number>();
  let defaultCodepage = 1252;
  const decoders = new Map<number, InstanceType<typeof TextDecoder>>();
  const decode = (bytes: number[], codepage: number) => {
    let d = decoders.get(codepage);
    if (!d) decoders.set(codepage, (d = decoderFor(codepage)));
    return d.decode(Uint8Array.from(bytes));
  };
  const stack: GroupState[] = [];
  let state: GroupState = { skip: false, font: null, uc: 1, title: false };
  let pendingBytes: number[] = [];
  let skipChars = 0; // characters to skip after \uN
  let inFontTable = false;
  let fontTableDepth = -1;
  let currentFontDef: number | null = null;
  let truncated = false;

  const codepage = () => (state.font !== null ? fontCodepage.get(state.font) : undefined) ?? defaultCodepage;
  const flushBytes = () => {
    if (pendingBytes.length) {
      out(decode(pendingBytes, codepage()));
      pendingBytes = [];
    }
  };
  const out = (s: string) => {
    if (state.title) title += s;
    else if (!state.skip) current += s;
  };
  const newPage = () => {
    if (!current.trim()) return;
    pages.push(current);
    current = '';
    breaks++;
  };

  const re = /\\([a-zA-Z]{1,32})(-?\d{1,10})? ?|\\'([0-9a-fA-F]{2})|\\([^a-zA-Z])|([{}])|([^\\{}\r\n]+)|[\r\n]+/g;
  let m: RegExpExecArray | null;
  let groupJustOpened = false;
  while ((m = re.exec(rtf))) {
    if (pages.length >= maxPages) {
      truncated = true;
      break;
    }
    const [, word, param, hex, symbol, brace, text] = m;
    if (hex !== undefined) {
      if (skipChars > 0) {
        skipChars--;
        continue;
      }
      if (!state.skip || state.title) pendingBytes.push(parseInt(hex, 16));
      groupJustOpened = false;
      continue;
    }
    flushBytes();
    if (brace === '{') {
      stack.push(state);
      state = { ...state, title: false };
      groupJustOpened = true;
      skipChars = 0;
      continue;
    }
    if (brace === '}') {
      if (inFontTable && stack.length === fontTableDepth) inFontTable = false;
      state = stack.pop() ?? state;
      groupJustOpened = false;
      continue;
    }
    if (text !== undefined) {
      let t = text;
      if (skipChars > 0) {
        const n = Math.min(skipChars, t.length);
        t = t.slice(n);
        skipChars -= n;
      }
      if (inFontTable) continue;
      if (t) out(t);
      groupJustOpened = false;
      continue;
    }
    if (symbol !== undefined) {
      groupJustOpened = false;
      if (symbol === '*') {
        // An optional destination this reader does not know: skipped whole.
        state.skip = true;
        continue;
      }
      if (skipChars > 0) {
        skipChars--;
        continue;
      }
      if (symbol === '~') out('\u00a0');
      else if (symbol === '-') out('');
      else if (symbol === '_') out('-');
      else if (symbol === '\\' || symbol === '{' || symbol === '}') out(symbol);
      else if (symbol === '\n' || symbol === '\r') out('\n');
      continue;
    }
    if (word === undefined) {
      // A bare line break in the source is not text.
      continue;
    }
    const n = param === undefined ? null : Number(param);
    const atStart = groupJustOpened;
    groupJustOpened = false;
    if (SKIP.has(word) && atStart) {
      if (word === 'fonttbl') {
        inFontTable = true;
        fontTableDepth = stack.length;
      } else state.skip = true;
      continue;
    }
    if (inFontTable) {
      if (word === 'f' && n !== null) currentFontDef = n;
      else if (word === 'fcharset' && n !== null && currentFontDef !== null && CHARSET_CODEPAGE[n]) fontCodepage.set(currentFontDef, CHARSET_CODEPAGE[n]);
      else if (word === 'cpg' && n !== null && currentFontDef !== null) fontCodepage.set(currentFontDef, n);
      continue;
    }
    switch (word) {
      case 'ansicpg':
        if (n !== null && n > 0) defaultCodepage = n;
        break;
      case 'mac':
        defaultCodepage = 10000;
        break;
      case 'title':
        if (atStart) state.title = true;
        break;
      case 'info':
        if (atStart) state.skip = true;
        break;
      case 'pict':
        if (!state.skip) pictures.push(pages.length + 1);
        state.skip = true;
        break;
      case 'object':
        if (!state.skip) objects.push(pages.length + 1);
        break;
      case 'result':
        state.skip = false;
        break;
      case 'f':
        if (n !== null) state.font = n;
        break;
      case 'uc':
        if (n !== null) state.uc = n;
        break;
      case 'u':
        if (n !== null) {
          out(String.fromCharCode(n < 0 ? n + 65536 : n));
          skipChars = state.uc;
        }
        break;
      case 'par':
      case 'line':
      case 'sect':
      case 'row':
        out('\n');
        break;
      case 'tab':
        out('\t');
        break;
      case 'cell':
        out('\t');
        break;
      case 'page':
        if (!state.skip) newPage();
        break;
      case 'emdash':
        out('—');
        break;
      case 'endash':
        out('–');
        break;
      case 'bullet':
        out('•');
        break;
      case 'lquote':
        out('‘');
        break;
      case 'rquote':
        out('’');
        break;
      case 'ldblquote':
        out('“');
        break;
      case 'rdblquote':
        out('”');
        break;
      case 'footnote':
        out('\n[Note] ');
        break;
      case 'annotation':
        out('\n[Comment] ');
        break;
    }
  }
  flushBytes();
  if (!truncated) pages.push(current);
  return { pages, paginated: breaks > 0, title: tidyPageText(title) || null, pictures, objects, truncated };
}

export function readRtf(data: Uint8Array, fileName: string, sink: PageSink): void {
  // RTF is 7-bit: bytes beyond ASCII are escaped as \'hh, so latin1 keeps them as they are.
  const doc = rtfToText(Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString('latin1'));
  const where = (pages: number[]) => (doc.paginated ? ` (${pageList(pages)})` : '');
  if (doc.pictures.length) sink.notice(`${doc.pictures.length === 1 ? 'A picture' : `${doc.pictures.length} pictures`}${where(doc.pictures)} ${doc.pictures.length === 1 ? 'was' : 'were'} not read: text inside pictures is not recognised in RTF files.`);
  if (doc.objects.length) sink.notice(`${doc.objects.length === 1 ? 'An embedded object' : `${doc.objects.length} embedded objects`}${where(doc.objects)} ${doc.objects.length === 1 ? 'was' : 'were'} not read.`);
  if (doc.truncated) sink.notice(pageCapNotice(fileName));
  emitPages(sink, doc.pages, doc.paginated, doc.title);
}
