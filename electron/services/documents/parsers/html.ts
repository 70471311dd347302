// HTML is read as text: scripts, styles and templates are dropped, never run.
import { parse } from 'node-html-parser';
import { readPlainText } from './text.ts';
import type { PageSink } from './types.ts';

export function htmlToText(html: string): { text: string; title: string | null } {
  const root = parse(html, { comment: false, blockTextElements: { pre: true } });
  for (const el of root.querySelectorAll('script, style, noscript, template, iframe, object, svg, head')) el.remove();
  const titleMatch = /<title[^>]*>([\s\S]*?)<\/title>/i.exec(html);
  const title = titleMatch ? parse(titleMatch[1]).textContent.trim() || null : null;
  const body = root.querySelector('body') ?? root;
  return { text: body.structuredText, title };
}

export function readHtml(html: string, sink: PageSink): void {
  const { text, title } = htmlToText(html);
  readPlainText(text, sink, title);
}
