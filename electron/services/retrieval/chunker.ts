// Cuts a page into overlapping chunks at sentence or line boundaries, keeping each chunk's
// character offsets in the page, so a citation can point at (and highlight) its exact passage.

export interface Chunk {
  pageNumber: number;
  charStart: number;
  charEnd: number;
  text: string;
}

export const CHUNK_CHARS = 900;
export const CHUNK_OVERLAP = 150;

/** The last boundary (sentence end, line break, then space) in text[from, to). */
function boundary(text: string, from: number, to: number): number {
  for (const re of [/[.!?;:]\s/g, /\n/g, /\s/g]) {
    let best = -1;
    re.lastIndex = from;
    let m: RegExpExecArray | null;
    while ((m = re.exec(text)) && m.index < to) best = m.index + m[0].length;
    if (best > from) return best;
  }
  return to;
}

/** The first boundary (sentence end, else a space) in text[from, to), or -1. */
function firstBoundary(text: string, from: number, to: number): number {
  for (const re of [/[.!?;:]\s/g, /\s/g]) {
    re.lastIndex = from;
    const m = re.exec(text);
    if (m && m.index + m[0].length < to) return m.index + m[0].length;
  }
  return -1;
}

export function chunkPage(pageNumber: number, text: string, size = CHUNK_CHARS, overlap = CHUNK_OVERLAP): Chunk[] {
  const chunks: Chunk[] = [];
  let start = 0;
  while (start < text.length) {
    // Skip leading whitespace so offsets point at words.
    while (start < text.length && /\s/.test(text[start])) start++;
    if (start >= text.length) break;
    let end = Math.min(text.length, start + size);
    if (end < text.length) end = boundary(text, start + Math.floor(size / 2), end);
    const piece = text.slice(start, end).trimEnd();
    if (piece.trim()) chunks.push({ pageNumber, charStart: start, charEnd: start + piece.length, text: piece });
    if (end >= text.length) break;
    // The next chunk starts at the first boundary inside the overlap, so neighbours share words.
    const next = firstBoundary(text, Math.max(start + 1, end - overlap), end);
    start = next > start && next < end ? next : Math.max(start + 1, end - overlap);
  }
  return chunks;
}
