/** What a parser reports as it reads; pages are 1-based and arrive in order. */
export interface PageSink {
  meta(info: { pageCount: number | null; paginated: boolean; title: string | null }): void;
  page(pageNumber: number, text: string, ocr?: boolean): void;
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
