// Page citations in summaries: parsing, checking, and attaching them where the model left them
// out. A citation the text could not have come from is removed; a point with none gets the pages
// of the section it was written from. Pure functions: the rules are tested on their own.

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

/**
 * Keeps only citations inside `allowed`; a point left with none gets `fallback(line)`'s range.
 * Returns the text and how many citations were dropped as impossible.
 */
export function enforceCitations(
  text: string,
  allowed: PageRange,
  fallback: (line: string) => PageRange,
  paginated = true,
): { text: string; dropped: number } {
  let dropped = 0;
  const lines = text.split('\n').map((line) => {
    if (!isPoint(line)) return line;
    let kept = 0;
    const cleaned = line.replace(CITATION, (whole, a: string, b?: string) => {
      const first = Number(a);
      const last = b ? Number(b) : first;
      if (Math.min(first, last) >= allowed.first && Math.max(first, last) <= allowed.last) {
        kept++;
        return formatCitation({ first: Math.min(first, last), last: Math.max(first, last) }, paginated);
      }
      dropped++;
      return '';
    });
    if (kept > 0) return cleaned.replace(/\s+$/, '');
    return `${cleaned.replace(/\s+$/, '')} ${formatCitation(fallback(cleaned), paginated)}`;
  });
  return { text: lines.join('\n').trim(), dropped };
}

function words(s: string): Set<string> {
  return new Set((s.toLowerCase().match(/[\p{L}\p{N}]{3,}/gu) ?? []).filter((w) => !STOP.has(w)));
}
const STOP = new Set(['the', 'and', 'for', 'with', 'that', 'this', 'from', 'are', 'was', 'were', 'has', 'have', 'not', 'but', 'its', 'their', 'page', 'pages']);

/** The source whose words a point shares most (ties: the earliest), for points with no citation. */
export function bestSource<T extends { text: string }>(line: string, sources: T[]): T {
  const w = words(line);
  let best = sources[0];
  let bestScore = -1;
  for (const s of sources) {
    const sw = words(s.text);
    let shared = 0;
    for (const x of w) if (sw.has(x)) shared++;
    const score = shared / Math.sqrt(sw.size + 1);
    if (score > bestScore) {
      bestScore = score;
      best = s;
    }
  }
  return best;
}
