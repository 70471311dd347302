import { tidyPageText, type PageSink } from './types.ts';

/** Target size of a "part" when a text has no pages of its own. */
export const PART_CHARS = 4000;

/**
 * Plain text has pages only where it has form feeds (as pdftotext writes them). Otherwise it is
 * cut into parts of about PART_CHARS at paragraph boundaries, and said to have no page numbers.
 * Pages are produced one at a time, so a reader's page cap stops a form-feed bomb early.
 */
export function readPlainText(text: string, sink: PageSink, title: string | null = null): void {
  const normalized = text.replace(/^\uFEFF/, '').replace(/\r\n?/g, '\n');
  if (normalized.includes('\f')) {
    let count = 1;
    for (let i = normalized.indexOf('\f'); i >= 0; i = normalized.indexOf('\f', i + 1)) count++;
    // A trailing form feed (as pdftotext ends its output) does not start an empty last page.
    const trailing = /\f\s*$/.test(normalized);
    if (trailing) count--;
    sink.meta({ pageCount: count, paginated: true, title });
    let start = 0;
    for (let n = 1; n <= count; n++) {
      const end = normalized.indexOf('\f', start);
      sink.page(n, tidyPageText(normalized.slice(start, end < 0 ? undefined : end)));
      start = end + 1;
    }
    return;
  }
  sink.meta({ pageCount: Math.max(1, Math.ceil(normalized.length / PART_CHARS)), paginated: false, title });
  let n = 0;
  for (const part of iterateParts(normalized, PART_CHARS)) sink.page(++n, tidyPageText(part));
}

/**
 * Sends a document's pages: its own pages when it has page breaks, otherwise its text cut into
 * parts of about PART_CHARS, said to have no page numbers.
 */
export function emitPages(sink: PageSink, pages: string[], paginated: boolean, title: string | null): void {
  if (paginated) {
    sink.meta({ pageCount: pages.length, paginated: true, title });
    pages.forEach((t, i) => sink.page(i + 1, tidyPageText(t)));
    return;
  }
  const all = pages.join('');
  sink.meta({ pageCount: Math.max(1, Math.ceil(all.length / PART_CHARS)), paginated: false, title });
  let n = 0;
  for (const part of iterateParts(all, PART_CHARS)) sink.page(++n, tidyPageText(part));
}

export function splitIntoParts(text: string, target: number): string[] {
  return [...iterateParts(text, target)];
}

/** Parts of about `target` characters, cut at paragraph, then line, then word boundaries. */
export function* iterateParts(text: string, target: number): Generator<string> {
  let current = '';
  let any = false;
  let from = 0;
  const boundary = /\n\s*\n/g;
  while (from <= text.length) {
    boundary.lastIndex = from;
    const m = boundary.exec(text);
    const paragraph = text.slice(from, m ? m.index : undefined);
    from = m ? m.index + m[0].length : text.length + 1;
    if (current && current.length + paragraph.length > target) {
      yield current;
      any = true;
      current = '';
    }
    // A single paragraph longer than a part is cut at line or word boundaries.
    let rest = paragraph;
    while (rest.length > target * 1.5) {
      let cut = rest.lastIndexOf('\n', target);
      if (cut < target / 2) cut = rest.lastIndexOf(' ', target);
      if (cut < target / 2) cut = target;
      yield (current ? current + '\n\n' : '') + rest.slice(0, cut);
      any = true;
      current = '';
      rest = rest.slice(cut).trimStart();
    }
    current = current ? `${current}\n\n${rest}` : rest;
  }
  if (current.trim() || !any) yield current;
}
