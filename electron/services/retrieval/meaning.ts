// Checks of meaning: a sentence whose words are all in a passage may still say the opposite of it.
// Shared words cannot tell "Pey Dirt grants Company the right to use" from "Company grants Pey Dirt
// the right to use", "shall" from "shall not", "may" from "shall", or "three (3) years" from "three
// (6) years" when a 6 stands elsewhere on the page. For each verb the sentence and the passage share,
// this compares who does it (the party named before it, or after "by" in the passive), whether it
// is negated, and whether it is an obligation or a permission; and each number with the word it
// counts. A conflict means the sentence is not verified by that place. Pure functions.
import { tokens } from './attribution.ts';

interface Word {
  term: string;
  raw: string;
  start: number;
  /** A name: capitalised where a sentence does not start, or a defined term of the passage. */
  name: boolean;
  /** A comma follows it ("shall, at any time after …, terminate"). */
  comma: boolean;
}

const OBLIGATION = new Set(['shall', 'must', 'will', 'agre', 'require', 'oblig', 'obligat', 'undertak', 'covenant']);
const PERMISSION = new Set(['may', 'can', 'entitl', 'permit', 'allow', 'option', 'right', 'discretion', 'elect']);
const NEGATION = new Set(['not', 'no', 'never', 'neither', 'nor', 'cannot', "can't", "won't", "n't"]);
/** Capitalised words that are not names of a party (contracts capitalise their defined terms). */
const NOT_NAMES = new Set(
  (
    'the this that these those a an in if any all each such upon no either neither notwithstanding section article exhibit schedule effective date term territory ' +
    'agreement products product confidential information state states united subject except unless during for after prior following where when on by to of and or ' +
    'within without with from as it its their his her he she they we you i net sales initial renewal royalty'
  ).split(' '),
);
const UNITS = new Set(['day', 'business', 'month', 'year', 'week', 'hour', 'minute', 'percent', 'cent', 'dollar', 'time', 'unit', 'mg', 'ml', 'tablet', 'dose']);
const BE = new Set(['be', 'is', 'are', 'was', 'were', 'been', 'being']);
/** Phrases that hold "not" or "no" without negating what they stand in. */
const NEUTRAL = /\b(?:including,?\s+(?:but\s+)?(?:not|without)\s+(?:being\s+)?limit\w*(?:\s+to)?|without\s+limitation|not\s+(?:less|more|fewer|later|earlier)\s+than|no\s+(?:less|more|fewer|later|earlier)\s+than|whether\s+or\s+not|if\s+not|not\s+only)\b/gi;

function words(text: string, defined: Set<string>): Word[] {
  // Neutral phrases are blanked out (same length, so offsets hold).
  const cleaned = text.replace(NEUTRAL, (m) => m.replace(/\b(?:not|no|without)\b/gi, (w) => 'x'.repeat(w.length)));
  const out: Word[] = [];
  const list = tokens(cleaned);
  // A capitalised first word is a name only if the text never writes it in lower case ("Payment" is not).
  const lowerForms = new Set([...cleaned.matchAll(/\b\p{Ll}[\p{L}]*/gu)].map((m) => m[0]));
  list.forEach((t, i) => {
    const raw = text.slice(t.start, t.end);
    const lower = raw.toLowerCase();
    const sentenceStart = i === 0 || /[.!?:;]\s*$/.test(cleaned.slice(list[i - 1].end, t.start));
    const capitalised = /^\p{Lu}/u.test(raw) && !NOT_NAMES.has(lower);
    out.push({
      term: lower.endsWith("n't") ? 'not' : t.term,
      raw,
      start: t.start,
      name: defined.has(lower) || (capitalised && (!sentenceStart || !lowerForms.has(lower))),
      comma: /^\s*,/.test(cleaned.slice(t.end, t.end + 3)),
    });
  });
  return out;
}

/**
 * Names a passage defines for its parties: `Manning Identification, Inc. ("Company")` makes
 * "Company" stand for Manning. Keys and values are lower case, the value a party's first word.
 */
export function definedAliases(passage: string): Map<string, string> {
  const aliases = new Map<string, string>();
  for (const m of passage.matchAll(/([A-Z][\p{L}&.'-]*(?:[ ,]+[A-Z][\p{L}&.'-]*){0,5})[ ,]*\((?:the\s+|hereinafter\s+(?:called\s+|referred\s+to\s+as\s+)?)?["“]([A-Z][\p{L} -]{1,30})["”]\)/gu)) {
    const first = m[1].split(/[ ,]+/).find((w) => !NOT_NAMES.has(w.toLowerCase()));
    if (first) aliases.set(m[2].toLowerCase().trim(), first.toLowerCase());
  }
  return aliases;
}

/** Who does the verb at `index`: the names joined before it in its clause, or after "by" when passive. */
function agents(list: Word[], index: number, alias: (w: string) => string): Set<string> {
  const after = list.slice(index + 1, index + 3);
  const passive = after.some((w) => w.term === 'by') && list.slice(Math.max(0, index - 3), index).some((w) => BE.has(w.raw.toLowerCase()));
  const found = new Set<string>();
  if (passive) {
    const by = list.findIndex((w, i) => i > index && w.term === 'by');
    for (let i = by + 1; i < Math.min(list.length, by + 5); i++) {
      if (list[i].name) found.add(alias(list[i].raw.toLowerCase()));
      else if (found.size > 0 && !['and', 'or'].includes(list[i].term)) break;
    }
    return found;
  }
  for (let i = index - 1; i >= Math.max(0, index - 14); i--) {
    const w = list[i];
    if (w.name) {
      found.add(alias(w.raw.toLowerCase()));
      // "A and B shall …": both do it. Runs of a multi-word name count once.
      while (i - 1 >= 0 && list[i - 1].name) i--;
      if (i - 2 >= 0 && ['and', 'or'].includes(list[i - 1].term) && list[i - 2].name) continue;
      break;
    }
    if (['that', 'which', 'who'].includes(w.term) && found.size === 0) continue;
  }
  return found;
}

/** Words that may stand between a modal and the verb it governs ("shall not be", "may also", "shall promptly"). */
const LIGHT = new Set(['not', 'no', 'never', 'be', 'been', 'also', 'hereby', 'to', 'have', 'then', 'only', 'thereafter', 'each', 'either', 'both', 'at', 'its', 'sole']);

/**
 * What governs the word at `index`: negated (a negation in the few words before it), and
 * obligation or permission — a modal only for the verb it governs ("may terminate", "shall not be
 * assigned"), not for every word after it ("may terminate this Agreement upon notice": not "upon").
 */
function mode(list: Word[], index: number): { negated: boolean; modality: 'obligation' | 'permission' | null } {
  let negated = false;
  let modality: 'obligation' | 'permission' | null = null;
  let governs = true;
  for (let i = index - 1; i >= Math.max(0, index - 14); i--) {
    const t = list[i].term;
    const raw = list[i].raw.toLowerCase();
    if (index - i <= 6 && (NEGATION.has(raw) || NEGATION.has(t))) negated = true;
    // A modal set off by a comma governs the verb after the aside.
    const reaches = governs || list[i].comma;
    if (reaches && modality === null && (OBLIGATION.has(t) || OBLIGATION.has(raw))) modality = 'obligation';
    else if (reaches && modality === null && (PERMISSION.has(t) || PERMISSION.has(raw))) modality = 'permission';
    if (!LIGHT.has(raw) && !raw.endsWith('ly') && !NEGATION.has(raw)) governs = false;
    if (list[i].name) break; // the subject: what governs the verb stands after it
  }
  if (raw(list, index) === 'cannot') negated = true;
  return { negated, modality };
}

const raw = (list: Word[], i: number) => list[i]?.raw.toLowerCase() ?? '';

/** Merges "three (3)" into one number, as a model's "3" says the same. */
function collapseNumbers(list: Word[]): Word[] {
  return list.filter((w, i) => !(i > 0 && /^\d/.test(w.term) && list[i - 1].term === w.term));
}

/**
 * Why `claim` does not say what `window` (a part of `passage`) says, or null when nothing
 * conflicts: a party in another role, a negation or a modality that differs, or a number that
 * counts something else there.
 */
export function meaningConflict(claim: string, window: string, passage = window): string | null {
  const aliasMap = definedAliases(passage);
  const defined = new Set(aliasMap.keys());
  const alias = (w: string) => aliasMap.get(w) ?? w;
  const c = collapseNumbers(words(claim, defined));
  const p = collapseNumbers(words(window, defined));
  const claimNames = new Set(c.filter((w) => w.name).map((w) => alias(w.raw.toLowerCase())));
  const passageNames = new Set([...words(passage, defined)].filter((w) => w.name).map((w) => alias(w.raw.toLowerCase())));
  // Numbers: each must count the same thing (the word after it, or before it at the end).
  for (let i = 0; i < c.length; i++) {
    if (!/^\d/.test(c[i].term)) continue;
    const next = c[i + 1]?.term;
    const prev = c[i - 1]?.term;
    const unit = next !== undefined && UNITS.has(next);
    const ok = p.some((w, j) => w.term === c[i].term && ((next !== undefined && p[j + 1]?.term === next) || (!unit && prev !== undefined && p[j - 1]?.term === prev) || (next === undefined && prev === undefined)));
    if (!ok) return `“${c[i].raw}” counts something else there`;
  }
  // Verbs both say: the same doer, the same negation, the same kind of duty.
  let aligned = 0;
  for (let i = 0; i < c.length; i++) {
    const w = c[i];
    if (w.name || /^\d/.test(w.term) || w.term.length < 3 || NEGATION.has(w.term) || OBLIGATION.has(w.term) || PERMISSION.has(w.term) || BE.has(w.raw.toLowerCase())) continue;
    const matches = p.map((x, j) => (x.term === w.term ? j : -1)).filter((j) => j >= 0);
    if (matches.length === 0) continue;
    const cm = mode(c, i);
    const cameFromModal = cm.modality !== null || cm.negated;
    const ca = agents(c, i, alias);
    // The passage's place that agrees best: one that agrees clears it; a place that names no doer
    // cannot clear a doer the claim names when another place names someone else.
    let conflict: string | null = null;
    let clear = false;
    let undecided = false;
    for (const j of matches) {
      const pm = mode(p, j);
      const pa = agents(p, j, alias);
      let why: string | null = null;
      if (cameFromModal || pm.negated || pm.modality) {
        if (cm.negated !== pm.negated) why = cm.negated ? `it says “not” where the document does not (${w.raw})` : `the document says “not” (${w.raw})`;
        else if (cm.modality && pm.modality && cm.modality !== pm.modality) {
          why = `it says ${cm.modality === 'obligation' ? 'must' : 'may'} where the document says ${pm.modality === 'obligation' ? 'must' : 'may'} (${w.raw})`;
        } else if (cm.modality === 'permission' && pm.modality === null && !pm.negated) why = `it says “may” where the document states a fact (${w.raw})`;
      }
      if (!why && ca.size > 0 && pa.size > 0 && ![...ca].some((a) => pa.has(a))) {
        // Another party does it there, and each party is one the other text names.
        if ([...ca].some((a) => passageNames.has(a)) && [...pa].some((a) => claimNames.has(a))) why = `someone else does it in the document (${w.raw})`;
      }
      if (why) conflict ??= why;
      else if (ca.size > 0 && pa.size === 0) undecided = true;
      else {
        clear = true;
        break;
      }
    }
    if (!clear && !conflict && undecided) clear = true;
    if (cameFromModal || ca.size > 0) aligned++;
    if (!clear && conflict) return conflict;
  }
  // Nothing aligned (the verbs differ): a negation on one side only still reverses the sentence.
  if (aligned === 0) {
    const neg = (list: Word[]) => list.some((w) => NEGATION.has(w.raw.toLowerCase()) || NEGATION.has(w.term));
    if (neg(c) !== neg(p)) return 'one of them says “not”';
  }
  return null;
}
