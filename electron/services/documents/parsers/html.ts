// HTML is read as text: scripts, styles and templates are dropped, never run. A file nested too
// deeply for the tree parser (a tag bomb) is read by a flat tag stripper instead.
import { decodeHTML } from 'entities';
import { parse } from 'node-html-parser';
import { readPlainText } from './text.ts';
import type { PageSink } from './types.ts';

const BLOCK = /<\/?(p|div|br|li|ul|ol|h[1-6]|tr|table|section|article|header|footer|blockquote|pre|hr|dd|dt|dl)\b[^>]*>/gi;

/** Tags out, entities decoded, block elements as line breaks: no tree, no recursion. */
export function flatHtmlToText(html: string): string {
  return decodeHTML(
    html
      .replace(/<!--[\s\S]*?-->/g, '')
      .replace(/<(script|style|noscript|template|iframe|object|svg|head)\b[\s\S]*?<\/\1\s*>/gi, '')
      .replace(BLOCK, '\n')
      .replace(/<[^>]*>/g, ''),
  )
    .replace(/[ \t]+/g, ' ')
    .replace(/\n\s*\n\s*/g, '\n\n');
}

export function htmlToText(html: string): { text: string; title: string | null } {
  const titleMatch = /<title[^>]*>([\s\S]*?)<\/title>/i.exec(html);
  const title = titleMatch ? decodeHTML(titleMatch[1].replace(/<[^>]*>/g, '')).trim() || null : null;
  try {
    const root = parse(html, { comment: false, blockTextElements: { pre: true } });
    for (const el of root.querySelectorAll('script, style, noscript, template, iframe, object, svg, head')) el.remove();
    const body = root.querySelector('body') ?? root;
    return { text: body.structuredText, title };
  } catch (e) {
    if (!(e instanceof RangeError)) throw e;
    return { text: flatHtmlToText(html), title };
  }
}

export function readHtml(html: string, sink: PageSink): void {
  const { text, title } = htmlToText(html);
  readPlainText(text, sink, title);
}
