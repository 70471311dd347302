// What the model is given about the documents shared with a conversation. A document that fits
// is given whole, page-marked so answers can cite pages. One that does not gets its latest
// summary and the pages most related to the question (BM25), until the retrieval issue brings
// proper search.
import type { StoredDocument } from '../store/document-store.ts';
import { formatCitation } from './citations.ts';

export interface DocumentContextSources {
  pages(documentId: string): { pageNumber: number; text: string }[];
  rankPages(documentId: string, query: string, limit: number): number[];
  latestSummary(documentId: string): string | null;
  countTokens(text: string): number;
}

export const DOCUMENTS_PREAMBLE =
  'The user has shared the documents below. When a question is about them, answer from them only, and cite the ' +
  'pages you used like [p. 12]. If they do not contain the answer, say so plainly.';

export interface BuiltContext {
  text: string;
  /** How each document was given: whole, or summary and excerpts. */
  modes: Record<string, 'whole' | 'excerpts'>;
}

export function buildDocumentContext(documents: StoredDocument[], question: string, budgetTokens: number, sources: DocumentContextSources): BuiltContext | null {
  const ready = documents.filter((d) => d.status === 'ready');
  if (ready.length === 0) return null;
  const perDocument = Math.floor((budgetTokens - sources.countTokens(DOCUMENTS_PREAMBLE)) / ready.length);
  const modes: BuiltContext['modes'] = {};
  const blocks: string[] = [];

  for (const doc of ready) {
    const pages = sources.pages(doc.id).filter((p) => p.text.trim());
    const mark = (n: number) => formatCitation({ first: n, last: n }, doc.paginated);
    const pageBlock = (p: { pageNumber: number; text: string }) => `${mark(p.pageNumber)}\n${p.text}\n`;
    const whole = pages.map(pageBlock).join('\n');
    const unit = doc.paginated ? 'pages' : 'parts';
    if (sources.countTokens(whole) <= perDocument) {
      modes[doc.id] = 'whole';
      blocks.push(`### “${doc.title}” (${doc.pageCount} ${unit}, complete)\n\n${whole}`);
      continue;
    }

    modes[doc.id] = 'excerpts';
    let used = 0;
    const parts: string[] = [];
    const summary = sources.latestSummary(doc.id);
    if (summary) {
      // The summary takes at most half of this document's share.
      const lines: string[] = [];
      for (const line of summary.split('\n')) {
        const t = sources.countTokens(line + '\n');
        if (used + t > perDocument / 2) break;
        lines.push(line);
        used += t;
      }
      if (lines.length) parts.push(`Summary of the whole document:\n${lines.join('\n')}\n`);
    }
    const byNumber = new Map(pages.map((p) => [p.pageNumber, p]));
    let ranked = sources.rankPages(doc.id, question, 50).filter((n) => byNumber.has(n));
    if (ranked.length === 0) ranked = pages.map((p) => p.pageNumber); // nothing matched: its opening pages
    const chosen: number[] = [];
    for (const n of ranked) {
      const t = sources.countTokens(pageBlock(byNumber.get(n)!));
      if (used + t > perDocument) continue;
      chosen.push(n);
      used += t;
    }
    chosen.sort((a, b) => a - b);
    if (chosen.length) parts.push(`${doc.paginated ? 'Pages' : 'Parts'} most related to the question:\n\n${chosen.map((n) => pageBlock(byNumber.get(n)!)).join('\n')}`);
    blocks.push(`### “${doc.title}” (${doc.pageCount} ${unit}; too long to include whole)\n\n${parts.join('\n')}`);
  }
  return { text: `${DOCUMENTS_PREAMBLE}\n\n${blocks.join('\n\n')}`, modes };
}
