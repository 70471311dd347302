// Checks a structured answer the way citations are checked: the quoted words must be on the page
// cited, and the value must be in those words (its content words, and every number, date and
// name it states). Pure functions.
import { claimTerms, tokens } from '../retrieval/attribution.ts';
import { locateQuote } from '../retrieval/grounding.ts';
import { subjectCovered } from '../retrieval/evidence.ts';

export type FieldCheck =
  | { status: 'verified'; charStart: number; charEnd: number }
  | { status: 'unverified'; reason: string; charStart: number | null; charEnd: number | null };

/** Share of the value's content words that must be in the quote. */
const MIN_VALUE_COVERAGE = 0.75;

/** Whether `value` is stated by `quote`: its words there, every number, month and name among them. */
export function valueInQuote(value: string, quote: string): boolean {
  const v = claimTerms(value);
  if (v.content.size === 0) return false;
  const q = new Set(tokens(quote).map((t) => t.term));
  for (const c of v.critical) if (c !== 'not' && !q.has(c)) return false;
  if (v.critical.has('not') && !/\b(?:not|no|never|none|without|nor|neither)\b|n't/i.test(quote)) return false;
  const found = [...v.content].filter((t) => q.has(t)).length;
  return found / v.content.size >= MIN_VALUE_COVERAGE;
}

export type ValueKind = 'text' | 'date' | 'number';

const MONTH = /\b(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\b/i;
const NUMBER_WORD = /\b(?:one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|fifteen|twenty|thirty|forty|fifty|sixty|ninety|hundred)\b/i;

/** Whether a value is of the kind its field holds: a date names a day, month or year; a number (a period, a dose) has a number. */
export function valueOfKind(value: string, kind: ValueKind): boolean {
  if (kind === 'date') return /\b(?:1[89]|20)\d{2}\b/.test(value) || MONTH.test(value) || /\b\d{1,2}[/.-]\d{1,2}[/.-]\d{2,4}\b/.test(value);
  if (kind === 'number') return /\d/.test(value) || NUMBER_WORD.test(value);
  return true;
}

/** Words too common to say what a sentence is about. */
const COMMON = new Set(
  ('the and for not any all this that these those with from into upon under over such each other its their his her our your been have has had was were are '
    + 'shall will may must can would should could which who whom whose when where what than then there here also only same said').split(' '),
);
/** Words every clause of a contract uses: they do not tell one field from another. */
const GENERIC = new Set(['agreement', 'party', 'parties', 'date', 'term', 'written', 'notice', 'day', 'days', 'year', 'years', 'month', 'months', 'time', 'period']);

/** What a sentence about a field has: one of its words, or one of its phrases whole (stemmed). */
export interface Cues {
  terms: Set<string>;
  phrases: string[][];
}

/**
 * The cues of a field: the words of its label and its one-word hints, and its hint phrases as
 * whole phrases ("construed in accordance" counts, "in accordance" alone does not: a
 * reimbursement "in accordance with" a schedule is not a governing-law clause). Without
 * `dropGeneric`, only the commonest words are left out (a list's item words: "mg", "shall"…).
 */
export function cueTerms(label: string, hints: string[], dropGeneric = true): Cues {
  // A list's items may be obligations: "shall", "must" and "will" are what states them.
  const common = dropGeneric ? COMMON : [...COMMON].filter((w) => !['shall', 'must', 'will'].includes(w));
  const skip = new Set([...common, ...(dropGeneric ? GENERIC : [])].map((w) => tokens(w)[0]?.term ?? w));
  const keep = (t: string) => (t.length > 2 || /^(?:mg|iv|po|im|sc)$/.test(t)) && !skip.has(t);
  const terms = new Set<string>();
  const phrases: string[][] = [];
  for (const t of tokens(label)) if (keep(t.term)) terms.add(t.term);
  for (const hint of hints) {
    const words = tokens(hint).map((t) => t.term);
    if (words.length === 1) {
      if (keep(words[0])) terms.add(words[0]);
    } else if (words.length > 1) phrases.push(words);
  }
  return { terms, phrases };
}

/** Whether a sentence uses one of the cues (so it could state the field). No cues: any sentence. */
export function mentionsCue(text: string, cues: Cues): boolean {
  if (cues.terms.size === 0 && cues.phrases.length === 0) return true;
  const words = tokens(text).map((t) => t.term);
  if (words.some((w) => cues.terms.has(w))) return true;
  return cues.phrases.some((p) => words.some((_, i) => p.every((w, j) => words[i + j] === w)));
}

export interface FieldRules {
  kind?: ValueKind;
  /** The quote must have one of these cues: it is about the field. */
  cues?: Cues;
  label?: string;
  /** What the reason says the quote is not about (default: "the <label>"). */
  subject?: string;
}

/** Checks one value against the page it cites, and that the quote is about the field. */
export function verifyField(answer: { value: string; quote: string }, pageText: string | null, rules: FieldRules = {}): FieldCheck {
  if (pageText === null) return { status: 'unverified', reason: 'It cites a page the task did not read.', charStart: null, charEnd: null };
  const span = locateQuote(answer.quote, pageText);
  if (!span) return { status: 'unverified', reason: 'The quoted words are not on the page cited.', charStart: null, charEnd: null };
  const unverified = (reason: string): FieldCheck => ({ status: 'unverified', reason, charStart: span.start, charEnd: span.end });
  if (!valueInQuote(answer.value, answer.quote)) return unverified('The value is not in the quoted words.');
  if (rules.kind && !valueOfKind(answer.value, rules.kind)) return unverified(rules.kind === 'date' ? 'The value is not a date.' : 'The value states no number.');
  if ((rules.cues && !mentionsCue(answer.quote, rules.cues)) || (rules.label && !subjectCovered(answer.quote, rules.label).covered)) {
    return unverified(`The quoted words do not mention ${rules.subject ?? (rules.label ? `the ${rules.label.toLowerCase()}` : 'the field')}.`);
  }
  return { status: 'verified', charStart: span.start, charEnd: span.end };
}
