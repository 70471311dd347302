// OpenDocument text (.odt: LibreOffice, Google Docs exports) read from its content.xml: headings,
// paragraphs, lists and tables in reading order; footnotes and endnotes after the paragraph that
// cites them; comments (office:annotation) likewise; headers and footers (styles.xml) on page 1.
// Page breaks that LibreOffice recorded (text:soft-page-break) give page numbers.
import { UserFacingError } from '../../../contract/errors.ts';
import { decodeXml, extractEntries } from './docx.ts';
import { emitPages } from './text.ts';
import { MAX_PAGES, pageCapNotice, pageList, tidyPageText, type PageSink } from './types.ts';

interface OdtWalk {
  pages: string[];
  paginated: boolean;
  pictures: number[];
  objects: number[];
  truncated: boolean;
}

const BLOCK_END = new Set(['text:p', 'text:h', 'table:table-row']);

/** Walks an OpenDocument body; notes and annotations are gathered and placed after their paragraph. */
export function odtPages(xml: string, maxPages = MAX_PAGES): OdtWalk {
  const pages: string[] = [];
  let current = '';
  let breaks = 0;
  const pictures: number[] = [];
  const objects: number[] = [];
  // Stack of open elements; text inside a note body or annotation goes to its own buffer.
  const side: { kind: 'note' | 'annotation' | 'citation' | 'skip'; text: string; author?: string }[] = [];
  const queued: string[] = [];
  let cite = '';
  let truncated = false;
  const append = (s: string) => {
    const top = side[side.length - 1];
    if (top) {
      if (top.kind !== 'skip') top.text += s;
    } else current += s;
  };
  const newPage = () => {
    if (!current.trim()) return;
    pages.push(current);
    current = '';
    breaks++;
  };
  const token = /<(\/?)([\w:.-]+)([^>]*?)(\/?)>|<[?!][^>]*>|([^<]+)/g;
  let m: RegExpExecArray | null;
  const depthOf: number[] = []; // element depth at which each side buffer opened
  let depth = 0;
  while ((m = token.exec(xml))) {
    if (pages.length >= maxPages) {
      truncated = true;
      break;
    }
    const [, closing, tag, attrs, selfClosing, text] = m;
    if (text !== undefined) {
      append(decodeXml(text));
      continue;
    }
    if (!tag) continue;
    const opening = !closing;
    const empty = selfClosing === '/';
    if (opening && !empty) depth++;
    if (opening) {
      switch (tag) {
        case 'text:note-citation':
        case 'text:note-body':
        case 'office:annotation':
        case 'dc:creator':
        case 'dc:date':
        case 'text:tracked-changes':
          if (!empty) {
            const kind = tag === 'text:note-body' ? 'note' : tag === 'office:annotation' ? 'annotation' : tag === 'text:note-citation' ? 'citation' : 'skip';
            side.push({ kind, text: '' });
            depthOf.push(depth);
          }
          break;
        case 'text:tab':
          append('\t');
          break;
        case 'text:s': {
          const c = Number(/text:c="(\d+)"/.exec(attrs)?.[1] ?? 1);
          append(' '.repeat(Math.min(Math.max(c, 1), 100)));
          break;
        }
        case 'text:line-break':
          append('\n');
          break;
        case 'text:soft-page-break':
          newPage();
          break;
        case 'draw:image':
          pictures.push(pages.length + 1);
          break;
        case 'draw:object':
        case 'draw:object-ole':
          objects.push(pages.length + 1);
          break;
      }
    } else {
      if (side.length && depthOf[depthOf.length - 1] === depth) {
        const done = side.pop()!;
        depthOf.pop();
        if (done.kind === 'citation') {
          cite = done.text.trim();
          append(`[${cite}]`);
        } else if (done.kind === 'note') {
          const text = tidyPageText(done.text).replace(/\n+/g, ' ');
          if (text) queued.push(cite ? `[${cite}] ${text}` : text);
          cite = '';
        } else if (done.kind === 'annotation') {
          const text = tidyPageText(done.text).replace(/\n+/g, ' ');
          if (text) queued.push(`[Comment: ${text}]`);
        }
      } else if (BLOCK_END.has(tag)) {
        if (side.length > 0) append('\n');
        else {
          current += '\n';
          if (queued.length) current += queued.splice(0).map((q) => `${q}\n`).join('');
        }
      } else if (tag === 'table:table-cell' && side.length === 0) {
        current += '\t';
      }
      depth--;
    }
  }
  if (!truncated) pages.push(current);
  return { pages, paginated: breaks > 0, pictures, objects, truncated };
}

/** Text of the master pages' headers and footers (styles.xml), each distinct one once. */
function headersAndFooters(styles: string | undefined): string[] {
  if (!styles) return [];
  const out = new Set<string>();
  for (const m of styles.matchAll(/<style:(header|footer)\b[^>]*>([\s\S]*?)<\/style:\1>/g)) {
    const text = tidyPageText(odtPages(m[2]).pages.join('\n'));
    if (text) out.add(text);
  }
  return [...out];
}

export function readOdt(data: Uint8Array, fileName: string, sink: PageSink): void {
  const parts = extractEntries(data, (n) => n === 'content.xml' || n === 'styles.xml' || n === 'META-INF/manifest.xml' || n === 'meta.xml', fileName);
  if (/manifest:encryption-data/.test(parts.get('META-INF/manifest.xml') ?? '')) {
    throw new UserFacingError('document/encrypted', `“${fileName}” is password-protected. Open it in LibreOffice, save it without a password (File › Properties › Security), and add it again — or export it to PDF.`);
  }
  const content = parts.get('content.xml');
  if (!content) throw new UserFacingError('document/corrupt', `“${fileName}” is damaged: it has no content. Open it in LibreOffice and save it again, or export it to PDF.`);
  const body = /<office:body>([\s\S]*)<\/office:body>/.exec(content)?.[1] ?? content;
  const walk = odtPages(body);
  const title = /<dc:title>([^<]*)<\/dc:title>/.exec(parts.get('meta.xml') ?? '')?.[1];
  const extras = headersAndFooters(parts.get('styles.xml'));
  if (extras.length) walk.pages[0] = `${extras.join('\n')}\n\n${walk.pages[0] ?? ''}`;
  const where = (pages: number[]) => (walk.paginated ? ` (${pageList(pages)})` : '');
  if (walk.pictures.length) sink.notice(`${walk.pictures.length === 1 ? 'A picture' : `${walk.pictures.length} pictures`}${where(walk.pictures)} ${walk.pictures.length === 1 ? 'was' : 'were'} not read: text inside pictures is not recognised in OpenDocument files.`);
  if (walk.objects.length) sink.notice(`${walk.objects.length === 1 ? 'An embedded object' : `${walk.objects.length} embedded objects`}${where(walk.objects)} (a chart, formula or another file) ${walk.objects.length === 1 ? 'was' : 'were'} not read.`);
  if (walk.truncated) sink.notice(pageCapNotice(fileName));
  const docTitle = title ? decodeXml(title).trim() || null : null;
  emitPages(sink, walk.pages, walk.paginated, docTitle);
}
