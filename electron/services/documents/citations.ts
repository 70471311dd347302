// Page citations in summaries: parsing and checking. A point is cited only with a page whose
// text supports it; otherwise it is marked as having no source. Pure functions: the rules are
// tested on their own.
import { findSupport } from '../retrieval/attribution.ts';

export interface PageRange {
  first: number;
  last: number;
}

const CITATION = /\[(?:pp?\.|part)\s*(\d+)(?:\s*[–-]\s*(\d+))?\]/gi;

export function formatCitation(range: PageRange, paginated = true): string {
  const label = paginated ? 'p.' : 'part';
  return range.first === range.last ? `[${label} ${range.first}]` : `[${label} ${range.first}–${range.last}]`;
}

export function parseCitations(line: string): PageRange[] {
  const out: PageRange[] = [];
  for (const m of line.matchAll(CITATION)) {
    const first = Number(m[1]);
    const last = m[2] ? Number(m[2]) : first;
    out.push({ first: Math.min(first, last), last: Math.max(first, last) });
  }
  return out;
}

function isPoint(line: string): boolean {
  const t = line.trim();
  return t.length > 0 && !/^#{1,6}\s/.test(t) && !/^(-{3,}|\*{3,}|_{3,})$/.test(t) && /[\p{L}\p{N}]/u.test(t);
}

/** Marks a point whose words no page it may cite supports. */
export const NO_SOURCE = '[no source]';
const NOT_STATED = /^\s*(?:[-*•]\s*)?(?:\*\*)?(?:not stated|none stated|not mentioned|not specified|none)\.?(?:\*\*)?\s*$/i;

export interface CheckedPoints {
  text: string;
  /** Points citing a page whose text supports them. */
  verified: number;
  /** Points marked [no source]. */
  unverified: number;
  /** Empty and repeated points removed, and citations of pages the text could not have come from. */
  dropped: number;
}

/**
 * Checks every point against the pages it may cite (`allowed`). A point keeps a citation only of
 * a page whose text supports it (its words, numbers and names are there, as for answers); a point
 * with no such citation is checked against the allowed pages and cited where one supports it, or
 * else marked [no source]: no page is ever assigned by default. "Not stated." carries no page.
 * Empty points (no words once citations are removed) and repeated points are dropped.
 */
export function verifyPoints(text: string, allowed: PageRange, pageText: (page: number) => string, paginated = true): CheckedPoints {
  let verified = 0;
  let unverified = 0;
  let dropped = 0;
  const seen = new Set<string>();
  const out: string[] = [];
  const pagesIn = (r: PageRange) => Array.from({ length: Math.max(0, Math.min(r.last, allowed.last) - Math.max(r.first, allowed.first) + 1) }, (_, i) => Math.max(r.first, allowed.first) + i);
  for (const line of text.split('\n')) {
    if (/^\s*(?:[-*•]|\d{1,3}[.)])\s*$/.test(line)) {
      dropped++; // a bullet with nothing after it
      continue;
    }
    if (!isPoint(line)) {
      out.push(line);
      continue;
    }
    const cited = parseCitations(line);
    const bare = line.replace(CITATION, '').replace(/\s*\[no source\]/gi, '').replace(/\s+$/, '');
    const words = bare.replace(/^\s*(?:[-*•]|\d{1,3}[.)])\s*/, '').replace(/[*_`]/g, '').trim();
    if (!/[\p{L}\p{N}]/u.test(words)) {
      dropped++;
      continue;
    }
    const key = words.toLowerCase().replace(/[^\p{L}\p{N}]+/gu, ' ').trim();
    if (seen.has(key)) {
      dropped++;
      continue;
    }
    seen.add(key);
    if (NOT_STATED.test(bare)) {
      dropped += cited.length;
      out.push(bare);
      continue;
    }
    const outside = cited.filter((c) => c.last < allowed.first || c.first > allowed.last).length;
    dropped += outside;
    // The pages it cites first, then every page it may cite.
    const candidates = [...new Set([...cited.flatMap(pagesIn), ...pagesIn(allowed)])];
    const texts = candidates.map((n) => pageText(n));
    const support = findSupport(words, texts);
    if (support) {
      verified++;
      const n = candidates[support.passage];
      out.push(`${bare} ${formatCitation({ first: n, last: n }, paginated)}`);
    } else {
      unverified++;
      out.push(`${bare} ${NO_SOURCE}`);
    }
  }
  return { text: out.join('\n').replace(/\n{3,}/g, '\n\n').trim(), verified, unverified, dropped };
}
