/** What a parser reports as it reads; pages are 1-based and arrive in order. */
export interface PageSink {
  meta(info: { pageCount: number | null; paginated: boolean; title: string | null }): void;
  /** `ocrConfidence` (0–100) is given for a page whose text OCR read. */
  page(pageNumber: number, text: string, ocrConfidence?: number | null): void;
  /** Something of the document that could not be read, said in words a reader understands. */
  notice(text: string): void;
}

/** The most pages Enclave reads from one document; the rest is named in a notice. */
export const MAX_PAGES = 10_000;
/** The most characters of text Enclave keeps from one document (a 1,000-page contract holds ~3 million). */
export const MAX_TEXT_CHARS = 25_000_000;

/** What a reader is told when a document has more pages than Enclave reads. */
export function pageCapNotice(fileName: string): string {
  const cap = MAX_PAGES.toLocaleString('en-US');
  return `Only the first ${cap} pages of “${fileName}” were read: Enclave reads at most ${cap} pages of one document. Split it into smaller files to read the rest.`;
}

/** Thrown by a bounded sink when a document reaches a cap: reading stops there, what was read is kept. */
export class ReadLimitReached extends Error {
  readonly pagesRead: number;
  constructor(message: string, pagesRead: number) {
    super(message);
    this.pagesRead = pagesRead;
  }
}

/** Text of a page as people read it: trimmed lines, no runs of blank lines. */
export function tidyPageText(text: string): string {
  return text
    .replace(/\r\n?/g, '\n')
    .split('\n')
    .map((l) => l.replace(/[ \t\u00a0]+/g, ' ').trim())
    .join('\n')
    .replace(/\n{3,}/g, '\n\n')
    .trim();
}

/** "page 3", "pages 3 and 5", "pages 3, 5 and 9", "pages 3–7, 9 and 12 to 40 more" */
export function pageList(pages: number[], word = 'page'): string {
  const sorted = [...new Set(pages)].sort((a, b) => a - b);
  const ranges: string[] = [];
  for (let i = 0; i < sorted.length; ) {
    let j = i;
    while (j + 1 < sorted.length && sorted[j + 1] === sorted[j] + 1) j++;
    ranges.push(j > i ? `${sorted[i]}–${sorted[j]}` : `${sorted[i]}`);
    i = j + 1;
  }
  const shown = ranges.length > 12 ? [...ranges.slice(0, 12), `${ranges.length - 12} more`] : ranges;
  const joined = shown.length > 1 ? `${shown.slice(0, -1).join(', ')} and ${shown[shown.length - 1]}` : shown[0];
  return `${sorted.length === 1 ? word : `${word}s`} ${joined}`;
}
