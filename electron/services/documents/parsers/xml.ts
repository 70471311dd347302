// XML documents (drug labels in SPL, statutes in USLM, articles in JATS or DocBook…) read as the
// text a person would see: markup out, block elements (paragraphs, headings, sections, list items,
// table rows) on lines of their own, inline ones (bold, superscripts, links) kept in the line.
// Processing instructions, comments and metadata-only elements carry no text and are left out.
import { decodeXml } from './docx.ts';
import { readPlainText } from './text.ts';
import type { PageSink } from './types.ts';

const BLOCK = new Set([
  'p', 'para', 'paragraph', 'subparagraph', 'clause', 'subclause', 'item', 'subitem', 'li', 'list', 'title', 'heading', 'subheading',
  'section', 'subsection', 'chapter', 'subchapter', 'part', 'subpart', 'division', 'article', 'level', 'chapeau',
  'continuation', 'text', 'table', 'tr', 'row', 'caption', 'br', 'note', 'footnote', 'notes', 'div', 'block', 'quotedcontent',
  'longtitle', 'officialtitle', 'enactingformula', 'sidenote', 'abstract', 'body', 'sec', 'label', 'name', 'excerpt', 'component',
  'highlight', 'preamble', 'recital', 'signature', 'signatures', 'action', 'proviso',
]);
const CELL = new Set(['td', 'th', 'entry', 'cell']);
/** Markup inside a line: no break, no space (H<sub>2</sub>O stays H2O). Any other element is a word boundary. */
const INLINE = new Set(['b', 'i', 'u', 'em', 'strong', 'sup', 'sub', 'span', 'a', 'content', 'linkhtml', 'ref', 'font', 'small', 'big', 'tt', 'inline', 'italic', 'bold', 'term', 'date', 'shorttitle']);

export function xmlToText(xml: string): { text: string; title: string | null } {
  const title = /<(?:[\w-]+:)?title\b[^>]*>([\s\S]*?)<\/(?:[\w-]+:)?title>/i.exec(xml)?.[1];
  const out: string[] = [];
  const token = /<!\[CDATA\[([\s\S]*?)\]\]>|<!--[\s\S]*?-->|<[?!][^>]*>|<(\/?)([\w:.-]+)[^>]*?(\/?)>|([^<]+)/g;
  let m: RegExpExecArray | null;
  while ((m = token.exec(xml))) {
    const [, cdata, , tag, , text] = m;
    if (cdata !== undefined) out.push(cdata);
    else if (text !== undefined) out.push(decodeXml(text).replace(/\s+/g, ' '));
    else if (tag) {
      const local = tag.slice(tag.indexOf(':') + 1).toLowerCase();
      if (CELL.has(local)) out.push('\t');
      else if (BLOCK.has(local)) out.push('\n');
      else if (!INLINE.has(local)) out.push(' ');
    }
  }
  const text = out
    .join('')
    .split('\n')
    .map((l) => l.replace(/[ \t]{2,}/g, (w) => (w.includes('\t') ? '\t' : ' ')).trim())
    .join('\n')
    .replace(/\n{3,}/g, '\n\n');
  const cleanTitle = title ? decodeXml(title.replace(/<[^>]*>/g, ' ')).replace(/\s+/g, ' ').trim() : '';
  return { text, title: cleanTitle ? cleanTitle.slice(0, 200) : null };
}

export function readXml(xml: string, sink: PageSink): void {
  const { text, title } = xmlToText(xml);
  readPlainText(text, sink, title);
}
