// Attribution: which passage, and which words in it, support each sentence of an answer.
// It does not depend on the model following a citation format: every sentence of the answer is
// matched against the passages the model was given. A sentence counts as supported only when
// most of its content words are in one place of one passage and every number, date, name and
// negation it states is there too; anything else is marked as not supported. Pure functions.

import { meaningConflict } from './meaning.ts';

/** A span of text: [start, end) character offsets. */
export interface Span {
  start: number;
  end: number;
}

export interface Sentence extends Span {
  text: string;
}

export interface Support {
  /** Index of the passage in the list given. */
  passage: number;
  /** The supporting words: offsets within that passage's text. */
  quote: Span;
  /** Share of the sentence's content words found there (0–1). */
  coverage: number;
}

const ABBREVIATIONS = new Set(
  'inc ltd co corp no nos sec secs art arts para mr mrs ms dr st vs etc e.g i.e u.s u.k jan feb mar apr jun jul aug sep sept oct nov dec approx fig p pp ch cf'.split(' '),
);

/**
 * Sentences of a text, with their offsets. Splits at sentence ends, line breaks and (for long
 * runs) semicolons; list markers and Markdown emphasis are left outside the sentence.
 */
export function splitSentences(text: string, maxChars = 600): Sentence[] {
  const out: Sentence[] = [];
  const push = (start: number, end: number) => {
    // Trim spaces, list markers ("- ", "1. ", "(a) ") and emphasis at the edges.
    while (start < end && /\s/.test(text[start])) start++;
    const marker = /^(?:[-*•·]\s+|\d{1,3}[.)]\s+|\([a-z0-9]{1,3}\)\s+|#{1,6}\s+|>\s+)/i.exec(text.slice(start, Math.min(end, start + 8)));
    if (marker) start += marker[0].length;
    while (end > start && /\s/.test(text[end - 1])) end--;
    if (end <= start || !/[\p{L}\p{N}]/u.test(text.slice(start, end))) return;
    if (end - start > maxChars) {
      // A very long run (a clause of a contract): cut at semicolons or commas near the limit.
      let cut = -1;
      for (const re of [/;\s/g, /,\s/g, /\s/g]) {
        re.lastIndex = start + Math.floor(maxChars / 2);
        const m = re.exec(text);
        if (m && m.index < start + maxChars) {
          cut = m.index + 1;
          break;
        }
      }
      if (cut > start && cut < end) {
        push(start, cut);
        push(cut, end);
        return;
      }
    }
    out.push({ start, end, text: text.slice(start, end) });
  };
  let start = 0;
  const boundary = /([.!?]["”’)\]]*)(\s+)|\n\s*\n|\n/g;
  let m: RegExpExecArray | null;
  while ((m = boundary.exec(text))) {
    if (m[1]) {
      // Not an end: an abbreviation, an initial, or a decimal/section number before the dot.
      const before = /([\p{L}.]+)\.["”’)\]]*$/u.exec(text.slice(Math.max(0, m.index - 12), m.index + m[1].length));
      const word = before?.[1]?.toLowerCase() ?? '';
      if (m[1].startsWith('.') && (ABBREVIATIONS.has(word) || /^\p{Lu}$/u.test(before?.[1] ?? ''))) continue;
      const next = text[m.index + m[0].length] ?? '';
      if (next && /[\p{Ll}]/u.test(next)) continue; // "see sec. 4 of the …": not a sentence end
      push(start, m.index + m[1].length);
      start = m.index + m[1].length;
    } else {
      // A single line break is layout (a PDF's line, a model's wrapping), not a boundary, unless
      // the line ends like a sentence or a heading does, or the next line starts a list item.
      if (m[0] === '\n') {
        const lineBefore = text.slice(start, m.index);
        const listItem = /^\s*(?:[-*•]|\d{1,3}[.)]|#{1,6})\s/.test(text.slice(m.index + 1, m.index + 12));
        if (!listItem && lineBefore.trim().length > 0 && !/[.!?:;]["”’)\]]*\s*$/.test(lineBefore)) continue;
      }
      push(start, m.index);
      start = m.index + m[0].length;
    }
  }
  push(start, text.length);
  return out;
}

const STOPWORDS = new Set(
  (
    'a an and are as at be been being but by can could did do does doing for from had has have having he her here hers him his how i if in into is it its ' +
    'itself me my of on or our ours she so than that the their theirs them then there these they this those to too us was we were what when where which ' +
    'while who whom whose why will with would you your yours also any each other such only own same just very about above after again against all am ' +
    'because before below between both during few further more most off once out over under until up upon down again there shall may must should ' +
    'said says state states stated document documents source sources according answer question text page pages following based provided mentioned ' +
    'section yes'
  ).split(' '),
);
const NEGATIONS = new Set(['not', 'no', 'never', 'none', 'neither', 'nor', 'without', "n't", 'cannot']);
const NUMBER_WORDS = new Set(
  'one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen seventeen eighteen nineteen twenty thirty forty fifty sixty seventy eighty ninety hundred thousand million billion first second third fourth fifth sixth seventh eighth ninth tenth half quarter'.split(' '),
);
/**
 * Words an answer frames a value with ("the notice period is thirty days") that a document
 * often does not use: repeating them from the question does not make them the subject.
 */
const FRAME_WORDS = new Set(['period', 'term', 'duration', 'length', 'amount', 'number', 'kind', 'type', 'name', 'time', 'way', 'case', 'part', 'detail', 'information'].map(stem));
const MONTHS = new Set('january february march april may june july august september october november december'.split(' '));

/** A light stem, applied the same way to answers and passages: plural, past and -ing forms meet. */
export function stem(word: string): string {
  if (word.length <= 3 || /\d/.test(word)) return word;
  let w = word;
  if (w.endsWith('ies') && w.length > 5) w = `${w.slice(0, -3)}y`;
  else if (w.endsWith('ing') && w.length > 6) w = w.slice(0, -3);
  else if (w.endsWith('ed') && w.length > 4 && !w.endsWith('eed')) w = w.slice(0, -2);
  else if (/(ss|x|ch|sh)es$/.test(w)) w = w.slice(0, -2);
  else if (w.endsWith('s') && !/(ss|us|is)$/.test(w)) w = w.slice(0, -1);
  // "terminate", "terminated", "terminating" and "notice", "noticed" meet without their final e.
  if (w.length > 3 && w.endsWith('e') && !w.endsWith('ee')) w = w.slice(0, -1);
  return w;
}

interface Token {
  /** Stemmed, lowercase form. */
  term: string;
  start: number;
  end: number;
}

/** Number words as digits, so "thirty (30) days" and "30 days" say the same number. */
const NUMBER_VALUES = new Map(
  'one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen seventeen eighteen nineteen twenty'
    .split(' ')
    .map((w, i) => [w, String(i + 1)] as [string, string])
    .concat(['thirty', 'forty', 'fifty', 'sixty', 'seventy', 'eighty', 'ninety'].map((w, i) => [w, String((i + 3) * 10)])),
);

/** Words of a text with offsets; "1,000" and "$1000" both become "1000", "thirty" becomes "30". */
export function tokens(text: string): Token[] {
  const out: Token[] = [];
  for (const m of text.matchAll(/\d+(?:[.,]\d+)*|[\p{L}\p{M}]+(?:['’][\p{L}]+)?/gu)) {
    let raw = m[0].toLowerCase().replace(/’/g, "'");
    raw = NUMBER_VALUES.get(raw) ?? raw;
    if (/^\d/.test(raw)) raw = raw.replace(/,(?=\d{3}\b)/g, '').replace(/\.0+$/, '');
    if (raw.endsWith("'s")) raw = raw.slice(0, -2);
    out.push({ term: stem(raw), start: m.index!, end: m.index! + m[0].length });
  }
  return out;
}

export interface ClaimTerms {
  /** Content words (stemmed), the basis of coverage. */
  content: Set<string>;
  /** Words that must all be present: numbers, number words, months, names, negations. */
  critical: Set<string>;
}

/** What a sentence claims, as words: content words, and the critical ones that must agree. */
export function claimTerms(sentence: string): ClaimTerms {
  const content = new Set<string>();
  const critical = new Set<string>();
  const words = [...sentence.matchAll(/\d+(?:[.,]\d+)*|[\p{L}\p{M}]+(?:['’][\p{L}]+)?/gu)];
  words.forEach((m, i) => {
    const raw = m[0];
    const lower = raw.toLowerCase().replace(/’/g, "'");
    const [t] = tokens(raw);
    if (!t) return;
    if (NEGATIONS.has(lower) || lower.endsWith("n't")) {
      critical.add('not');
      return;
    }
    if (STOPWORDS.has(lower) || lower.length < 2) return;
    content.add(t.term);
    const isNumber = /\d/.test(lower) || NUMBER_WORDS.has(lower);
    // A capitalised word not at the start of the sentence is a name (a party, a place, a law).
    const isName = i > 0 && /^\p{Lu}\p{Ll}/u.test(raw) && !MONTHS.has(lower);
    if (isNumber || MONTHS.has(lower) || isName) critical.add(t.term);
  });
  return { content, critical };
}

const NEGATION_TERMS = new Set(['not', 'no', 'never', 'none', 'neither', 'nor', 'without', 'cannot']);

function windowTerms(passageTokens: Token[], from: number, to: number): Set<string> {
  const set = new Set<string>();
  for (const t of passageTokens) {
    if (t.start >= from && t.end <= to) {
      set.add(t.term);
      if (NEGATION_TERMS.has(t.term) || t.term.endsWith("n't")) set.add('not');
    }
  }
  return set;
}

/** A sentence is supported by a place in a passage when at least this share of its new content words are there. */
export const MIN_COVERAGE = 0.6;

export interface SupportOptions {
  /** Look in this passage only (the one the model cited). */
  only?: number;
  /**
   * The question answered. Words the sentence repeats from it say what the sentence is about
   * ("the date of the agreement"): they must be at the supporting place too, so a right date
   * found beside another subject does not count. The other words are what it claims.
   */
  question?: string;
}

/**
 * The place in one of the passages that supports the sentence best, or null. Candidate places are
 * one or two consecutive sentences of a passage; every critical word must be there, every word
 * the sentence repeats from the question, and most of the words it adds.
 */
export function findSupport(sentence: string, passages: string[], options: SupportOptions = {}): Support | null {
  const claim = claimTerms(sentence);
  const asked = options.question ? claimTerms(options.question).content : new Set<string>();
  const echo = [...claim.content].filter((t) => asked.has(t) && !FRAME_WORDS.has(t));
  const added = [...claim.content].filter((t) => !asked.has(t) && !FRAME_WORDS.has(t));
  // A sentence that only restates the question, or says almost nothing, claims nothing checkable.
  if (added.length === 0 || claim.content.size < 2) return null;
  const required = [...new Set([...claim.critical, ...echo])];
  let best: Support | null = null;
  let bestLength = Infinity;
  passages.forEach((passage, index) => {
    if (options.only !== undefined && index !== options.only) return;
    const passageTokens = tokens(passage);
    const all = windowTerms(passageTokens, 0, passage.length);
    // Quick reject: the whole passage lacks a required word, or too many of the added ones.
    for (const c of required) if (!all.has(c)) return;
    if (added.filter((t) => all.has(t)).length / added.length < MIN_COVERAGE) return;
    const sentences = splitSentences(passage, 400);
    for (let i = 0; i < sentences.length; i++) {
      for (let width = 1; width <= 2 && i + width <= sentences.length; width++) {
        const from = sentences[i].start;
        const to = sentences[i + width - 1].end;
        const terms = windowTerms(passageTokens, from, to);
        if (required.some((c) => !terms.has(c))) continue;
        const matchedAdded = added.filter((t) => terms.has(t)).length;
        if (matchedAdded / added.length < MIN_COVERAGE || echo.length + matchedAdded < 2) continue;
        const coverage = (echo.length + matchedAdded) / claim.content.size;
        // The supporting words: from the first to the last matched word in the window.
        const hits = passageTokens.filter((t) => t.start >= from && t.end <= to && (claim.content.has(t.term) || claim.critical.has(t.term)));
        const quote = hits.length ? { start: hits[0].start, end: hits[hits.length - 1].end } : { start: from, end: to };
        // Headings state nothing ("General Provisions. 9.1 Entire Agreement"): they cannot support a claim.
        if (sentences.slice(i, i + width).every((x) => isTitleLine(x.text))) continue;
        // The same words may say the opposite: who does it, "not", may or shall, what a number counts.
        if (meaningConflict(sentence, passage.slice(from, to), passage)) continue;
        const length = quote.end - quote.start;
        if (!best || coverage > best.coverage + 1e-9 || (Math.abs(coverage - best.coverage) < 1e-9 && length < bestLength)) {
          best = { passage: index, quote, coverage };
          bestLength = length;
        }
      }
    }
  });
  return best;
}

const REFUSAL =
  /\b(?:(?:do|does|did)(?: not|n't) (?:say|state|mention|specify|contain|provide|include|address|answer|cover)|(?:is|are) not (?:stated|mentioned|specified|given|provided|included|addressed)|not (?:stated|mentioned|specified) in|no (?:information|mention|answer)|(?:can ?not|could not|couldn't|can't|unable to) (?:find|determine|answer|tell)|i (?:do not|don't) know|nothing (?:found )?in\b.{0,200}\banswers this|no passage (?:speaks of|says|mentions))\b/i;

const TITLE_SMALL = new Set(['of', 'and', 'to', 'the', 'for', 'on', 'in', 'or', 'a', 'an', 'by', 'with']);
/** A heading or title line: a few words, each capitalised (or a number), no verb ("9.1 Entire Agreement"). */
export function isTitleLine(text: string): boolean {
  const words = text.trim().split(/\s+/).filter((w) => /\p{L}/u.test(w));
  if (words.length === 0 || words.length > 8 || /\b(?:shall|will|may|must|is|are|was|were|has|have)\b/i.test(text)) return false;
  return words.every((w) => /^[^\p{L}]*\p{Lu}/u.test(w) || TITLE_SMALL.has(w.toLowerCase().replace(/[^\p{L}]/gu, '')));
}

/**
 * A sentence that asks (it ends with a question mark, before any closing quote, bracket or
 * citation): it claims nothing, so it is neither verified against the passages nor marked.
 */
export function isQuestion(sentence: string): boolean {
  return /\?[\s"'”’»)\]]*(?:\[\d+(?:[^\]]*)\][\s.]*)*$/.test(sentence.trim());
}

/** A sentence that says the documents do not answer: a statement about the sources, not a claim from them. */
export function isRefusal(sentence: string): boolean {
  return REFUSAL.test(sentence);
}

/**
 * The evidence ranking before evidence.ts (the question's words in whole sentences, no concepts,
 * no boilerplate): the app no longer uses it; `npm run eval -- --only evidence` measures it as
 * the "before" column.
 */
export function bestEvidence(question: string, passages: string[], limit = 2): { passage: number; quote: Span; coverage: number }[] {
  const q = new Set([...claimTerms(question).content].filter((t) => !FRAME_WORDS.has(t)));
  if (q.size === 0) return [];
  const candidates: { passage: number; quote: Span; terms: Set<string> }[] = [];
  passages.forEach((passage, index) => {
    const passageTokens = tokens(passage);
    for (const s of splitSentences(passage, 400)) {
      if (s.end - s.start < 20) continue;
      candidates.push({ passage: index, quote: { start: s.start, end: s.end }, terms: windowTerms(passageTokens, s.start, s.end) });
    }
  });
  const df = new Map<string, number>();
  for (const c of candidates) for (const t of q) if (c.terms.has(t)) df.set(t, (df.get(t) ?? 0) + 1);
  const n = candidates.length;
  const scored = candidates
    .map((c) => {
      let score = 0;
      for (const t of q) if (c.terms.has(t)) score += Math.log(1 + n / (df.get(t) ?? 1));
      // Earlier passages ranked higher by retrieval: a small prior.
      score *= 1 + 0.3 * (1 - c.passage / Math.max(1, passages.length));
      return { ...c, score };
    })
    .filter((c) => c.score > 0)
    .sort((a, b) => b.score - a.score || a.passage - b.passage || a.quote.start - b.quote.start);
  const chosen: { passage: number; quote: Span; coverage: number }[] = [];
  for (const c of scored) {
    if (chosen.length >= limit) break;
    if (chosen.some((x) => x.passage === c.passage)) continue; // one place per passage
    // How much of what was asked this place speaks of: the share of the question's words in it.
    const coverage = [...q].filter((t) => c.terms.has(t)).length / q.size;
    chosen.push({ passage: c.passage, quote: c.quote, coverage });
  }
  return chosen;
}
