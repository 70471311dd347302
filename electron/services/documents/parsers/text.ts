import { tidyPageText, type PageSink } from './types.ts';

/** Target size of a "part" when a text has no pages of its own. */
export const PART_CHARS = 4000;

/**
 * Plain text has pages only where it has form feeds (as pdftotext writes them). Otherwise it is
 * cut into parts of about PART_CHARS at paragraph boundaries, and said to have no page numbers.
 */
export function readPlainText(text: string, sink: PageSink, title: string | null = null): void {
  const normalized = text.replace(/^\uFEFF/, '').replace(/\r\n?/g, '\n');
  if (normalized.includes('\f')) {
    const pages = normalized.split('\f');
    if (pages.length > 1 && pages[pages.length - 1].trim() === '') pages.pop();
    sink.meta({ pageCount: pages.length, paginated: true, title });
    pages.forEach((p, i) => sink.page(i + 1, tidyPageText(p)));
    return;
  }
  const parts = splitIntoParts(normalized, PART_CHARS);
  sink.meta({ pageCount: parts.length, paginated: false, title });
  parts.forEach((p, i) => sink.page(i + 1, tidyPageText(p)));
}

export function splitIntoParts(text: string, target: number): string[] {
  const paragraphs = text.split(/\n\s*\n/);
  const parts: string[] = [];
  let current = '';
  for (const paragraph of paragraphs) {
    if (current && current.length + paragraph.length > target) {
      parts.push(current);
      current = '';
    }
    // A single paragraph longer than a part is cut at line or word boundaries.
    let rest = paragraph;
    while (rest.length > target * 1.5) {
      let cut = rest.lastIndexOf('\n', target);
      if (cut < target / 2) cut = rest.lastIndexOf(' ', target);
      if (cut < target / 2) cut = target;
      parts.push((current ? current + '\n\n' : '') + rest.slice(0, cut));
      current = '';
      rest = rest.slice(cut).trimStart();
    }
    current = current ? `${current}\n\n${rest}` : rest;
  }
  if (current.trim() || parts.length === 0) parts.push(current);
  return parts;
}
