// Evidence at the level of sentences: which sentences of the retrieved passages answer a question.
// Retrieval ranks chunks; a chunk is mostly words that do not answer. Here each sentence of the
// best passages (a heading joined to the sentence it heads) is scored by the question's key terms,
// each widened to the words a document uses for it ("governing law" → "governed by", "laws of"),
// weighted by how rare they are among the candidates; title blocks, signature blocks, running
// headers and footers, tables of contents and redaction marks are demoted, since they hold the
// words of every question ("Agreement", the parties) and answer none. One ranking serves the
// sources given to the model, "the documents say", the plain refusal and task fields. Pure functions.
import { claimTerms, isTitleLine, splitSentences, stem, tokens, type Span } from './attribution.ts';

export interface EvidencePassage {
  text: string;
  pageNumber: number;
  /** Where the passage starts on its page (a title block is only at the top of the first page). */
  charStart: number;
  documentId?: string;
}

export type BoilerplateKind = 'title' | 'signature' | 'header' | 'contents' | 'redacted';

export interface EvidenceSentence {
  /** Index of the passage in the list given. */
  passage: number;
  /** The sentence's characters in that passage's text. */
  quote: Span;
  score: number;
  /** Share of the question's key terms (weighted) that the sentence holds (0–1). */
  coverage: number;
  /** Key terms of the question it holds none of: what it leaves unanswered. */
  missing: string[];
  /** How many key terms (not generic words) the question has. */
  keyTerms: number;
  boilerplate: BoilerplateKind | null;
  /** The question asks how long or how much, and the sentence says no period or amount: it cannot be the answer. */
  lacksAsked: 'a period of time' | 'an amount' | null;
}

const NUMBER_WORD = '(?:\\d+(?:[.,]\\d+)?|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|fifteen|twenty|thirty|forty|forty-five|sixty|ninety|hundred)';
/** A period of time: "thirty (30) days", "one year", "until January 30, 2000", "perpetual". */
const DURATION = new RegExp(`\\b${NUMBER_WORD}\\s*(?:\\(\\d+\\)\\s*)?(?:[\\w-]+\\s+)?(?:days?|weeks?|months?|years?|hours?|quarters?)\\b|\\b(?:annual(?:ly)?|anniversary|perpetu\\w*|indefinite\\w*|until|through|expires? on)\\b`, 'i');
/** An amount: money, a percentage, a number. */
const AMOUNT = /[$€£¥]|\b\d|\bpercent\b|%|\b(?:one|two|three|four|five|six|seven|eight|nine|ten|twenty|fifty|hundred|thousand|million)\b/i;
const ASKS_DURATION = /\bhow long\b|\bfor how long\b|\bhow (?:much|many days of) notice\b|\bhow many (?:days|months|years)\b|\b(?:notice|warranty|renewal|initial) (?:period|term)\b|\bduration\b/i;
const ASKS_AMOUNT = /\bhow much\b(?! notice)|\bwhat (?:is|are) the (?:amount|fee|fees|price|rate|royalty|royalties|cap|limit|rent|excess|dose|dosage)\b/i;

/**
 * Words a question uses and the words documents use for the same thing (stemmed as `tokens`
 * stems). A question's term stands for its whole group: a sentence that holds any member covers it.
 * A member marked `~` only leads a question to the group: "without cause" is asked with "cause",
 * but a sentence about termination *for* cause does not answer it.
 * Kept to meanings, not to one corpus's phrasing: law, clinic and general records.
 */
const CONCEPTS: string[][] = [
  ['govern', 'governed', 'law', 'laws', 'construed', 'jurisdiction'],
  ['assign', 'assignment', 'assignable', 'assigned', 'transfer', 'transferred', 'delegate', 'delegation'],
  ['terminate', 'termination', 'terminated', 'cancel', 'cancellation', 'end', 'stop', 'non-renewal'],
  ['convenience', '~cause', '~reason', 'without cause', 'for any reason', 'any time', 'for no reason', 'without reason'],
  ['renew', 'renewal', 'renewed', 'extend', 'extension', 'successive', '~automatically', '~automatic'],
  ['notice', 'notify', 'notification', 'prior written'],
  ['cap', 'exceed', 'limit', 'limitation', 'limited', 'maximum', 'aggregate', 'in no event'],
  ['liability', 'liable', 'damages'],
  ['audit', 'inspect', 'inspection', 'examine', 'examination', 'review'],
  ['record', 'records', 'books', 'accounts'],
  ['insurance', 'insured', 'insurer', 'policy', 'policies', 'coverage'],
  ['exclusive', 'exclusively', 'exclusivity', 'sole', 'solely'],
  ['compete', 'competition', 'competitive', 'competing', 'competitor'],
  ['minimum', 'at least', 'not less than', 'commitment', 'commit'],
  ['purchase', 'buy', 'order', 'orders'],
  ['warranty', 'warrant', 'warrants', 'warranted', 'guarantee'],
  ['control', 'change of control', 'merger', 'acquisition', 'acquire', 'acquired', 'consolidation'],
  ['license', 'licence', 'licensed', 'licensee', 'licensor', 'sublicense'],
  ['grant', 'granted', 'grants'],
  ['date', 'dated', 'as of', 'day'],
  ['effective', 'effect', 'commence', 'commencement', 'begin'],
  ['expire', 'expiration', 'expiry', 'until', 'term', 'continue', 'full force'],
  ['~obligation', '~obligations', 'survive', 'survival', 'continue', 'upon termination', 'after termination', 'following termination', 'upon expiration'],
  ['pay', 'payment', 'payable', 'fee', 'fees', 'price', 'compensation', 'rate'],
  ['confidential', 'confidentiality', 'disclose', 'disclosure'],
  ['indemnify', 'indemnification', 'indemnity', 'hold harmless'],
  ['dose', 'dosage', 'dosing', 'mg', 'administer', 'administration'],
  ['side', 'adverse', 'reaction', 'reactions'],
  ['contraindication', 'contraindicated', 'do not use'],
  ['warning', 'warnings', 'caution', 'precaution', 'precautions'],
  ['child', 'children', 'pediatric', 'paediatric'],
  ['pregnancy', 'pregnant', 'nursing', 'breast'],
  ['court', 'held', 'holding', 'affirm', 'affirmed', 'reverse', 'reversed'],
];

/** Words so common in every document of a kind that they decide nothing alone (weighted low, never dropped). */
const GENERIC = new Set(
  [
    'agreement', 'contract', 'policy', 'lease', 'party', 'parties', 'company', 'document', 'this', 'product', 'person',
    // The roles a document is written between: like "party", in most of its sentences or implied by them.
    'employee', 'employer', 'tenant', 'landlord', 'patient', 'customer', 'client', 'consultant', 'supplier', 'vendor', 'buyer', 'seller', 'contractor',
  ].map((w) => stem(w)),
);
/** A company's legal form ("Inc.", "LLC"): part of a name, never what is asked. */
const LEGAL_FORMS = new Set(['inc', 'llc', 'co', 'corp', 'corporation', 'ltd', 'lp', 'llp', 'plc', 'gmbh', 'ag', 'sa', 'bv', 'nv'].map((w) => stem(w)));
/** Question words that frame an answer rather than name its subject. */
const FRAME = new Set(['period', 'term', 'duration', 'length', 'amount', 'number', 'kind', 'type', 'name', 'time', 'way', 'case', 'part', 'detail', 'information', 'happen', 'long', 'much', 'many', 'someone', 'else', 'there', 'other', 'need', 'needed', 'last', 'relationship', 'restriction', 'undergo', 'maintain', 'exist', 'apply', 'take', 'right', 'non', 'get', 'give', 'make', 'say', 'tell', 'know', 'see', 'find', 'found', 'show', 'shown', 'showed', 'mention', 'mentioned', 'describe', 'contain', 'write', 'written', 'about', 'test', 'result', 'results', 'level', 'value', 'finding'].map((w) => stem(w)));

interface Concept {
  /** The question's own term (its label in `missing`). */
  term: string;
  /** Stemmed single words, and phrases as stemmed word sequences. */
  words: Set<string>;
  phrases: string[][];
  generic: boolean;
  /** Its words and phrases, to tell two question terms of one group apart from two things asked. */
  signature: string;
}

const conceptIndex = (() => {
  const byTerm = new Map<string, string[]>();
  for (const group of CONCEPTS) {
    for (const member of group) {
      const t = tokens(member.replace(/^~/, '')).map((x) => x.term);
      if (t.length === 1) byTerm.set(t[0], [...(byTerm.get(t[0]) ?? []), ...group]);
    }
  }
  return byTerm;
})();

/**
 * The question's key terms, each with the words that cover it. `naming`: the question's words
 * that named a document ("In the Driven Deliveries agreement, …"); they say which document, not
 * what is asked, so they are left out, unless they are a term of law or medicine themselves.
 */
export function questionConcepts(question: string, naming: readonly string[] = []): Concept[] {
  const named = new Set(naming.flatMap((w) => tokens(w).map((t) => t.term)));
  const terms = [...claimTerms(question).content].filter((t) => !FRAME.has(t) && !LEGAL_FORMS.has(t) && !(named.has(t) && !conceptIndex.has(t)));
  const out: Concept[] = [];
  for (const term of terms) {
    const members = conceptIndex.get(term) ?? [term];
    const keyOnly = members.some((m) => m.startsWith('~') && tokens(m.slice(1))[0]?.term === term);
    const words = new Set<string>(keyOnly ? [] : [term]);
    const phrases: string[][] = [];
    for (const m of members) {
      if (m.startsWith('~')) continue;
      const t = tokens(m).map((x) => x.term);
      if (t.length === 1) words.add(t[0]);
      else if (t.length > 1) phrases.push(t);
    }
    // Two terms of one group ("governing" and "law") are one thing asked: keep the first.
    const signature = `${[...words].sort().join(' ')}#${phrases.map((x) => x.join(' ')).sort().join('|')}`;
    if (out.some((c) => c.words.has(term) || c.signature === signature)) continue;
    out.push({ term, words, phrases, generic: GENERIC.has(term), signature });
  }
  return out;
}

const SIGNATURE = /\bIN WITNESS(?: WHEREOF)?\b|(?:^|\n)\s*(?:By|Name|Title|Its|Signature|Witness|Attest|Print Name|Printed Name)\s*:|_{4,}|\/s\/|\[signature page|signature page follows/i;
const HEADER = /^(?:source:\s|page \d+(?: of \d+)?\b|\d{1,4}$|confidential(?: treatment)?\b|exhibit [\w.\-]+$|execution (?:copy|version)$)/i;
const CONTENTS = /(?:\.\s?){4,}\s*\d+|\btable of contents\b/i;
const MODAL = /\b(?:shall|will|may|must|agrees?|is|are|was|were|has|have|be|means|includes?|grants?|provides?)\b/i;

/**
 * What kind of boilerplate a sentence is, if any. `atTop`: it stands near the top of a document's
 * first page (where a title block is). Clauses in capitals (disclaimers, caps on liability) are
 * not titles: a title says nothing that a verb would make a clause.
 */
export function boilerplateKind(sentence: string, atTop: boolean): BoilerplateKind | null {
  const text = sentence.trim();
  if (SIGNATURE.test(text)) return 'signature';
  if (HEADER.test(text)) return 'header';
  if (CONTENTS.test(text)) return 'contents';
  const letters = text.replace(/[^\p{L}]/gu, '');
  const stars = (text.match(/\*/g) ?? []).length;
  if (stars >= 3 && stars * 2 > letters.length) return 'redacted';
  const words = text.split(/\s+/).filter((w) => /\p{L}/u.test(w));
  const upper = letters.replace(/[^\p{Lu}]/gu, '').length;
  const capitals = letters.length > 0 && upper / letters.length > 0.7;
  if (atTop && capitals && words.length <= 16 && !MODAL.test(text)) return 'title';
  if (capitals && words.length <= 8 && !MODAL.test(text)) return 'title';
  return null;
}

/** A heading ("8. Assignment.", "Governing Law:"): a short title line, no clause of its own ("Findings: troponin normal." is not one). */
function isHeading(text: string): boolean {
  const t = text.trim();
  return t.length < 60 && t.split(/\s+/).filter((w) => /\p{L}/u.test(w)).length <= 6 && isTitleLine(t);
}

interface Candidate {
  passage: number;
  quote: Span;
  /** Stemmed words of the heading that opens it ("Governing Law."), if one does. */
  heading: Set<string> | null;
  /** A heading with no sentence after it here: it names a clause but says nothing of it. */
  headingAlone: boolean;
  /** Near the top of a document's first page: where its name, parties and date are. */
  atTop: boolean;
  terms: Set<string>;
  /** Stemmed words in order (for phrases). */
  sequence: string[];
  boilerplate: BoilerplateKind | null;
  words: number;
  hasNumber: boolean;
  hasDuration: boolean;
  hasAmount: boolean;
}

/** Sentences of the passages, a heading joined to the sentence after it. */
function candidates(passages: EvidencePassage[]): Candidate[] {
  const out: Candidate[] = [];
  passages.forEach((p, index) => {
    const sentences = splitSentences(p.text, 500);
    const toks = tokens(p.text);
    for (let i = 0; i < sentences.length; i++) {
      let { start, end } = sentences[i];
      // A clause number alone ("8.", "12.1.") belongs to the heading or sentence after it.
      if (/^[\p{N}.()\s]+$/u.test(sentences[i].text) && i + 1 < sentences.length) {
        i++;
        end = sentences[i].end;
      }
      // A heading alone answers nothing; with its sentence it says where the clause is.
      const headed = isHeading(p.text.slice(start, end));
      const headingEnd = end;
      let headingAlone = headed;
      if (headed && i + 1 < sentences.length && !boilerplateKind(sentences[i + 1].text, false)) {
        end = sentences[i + 1].end;
        i++;
        headingAlone = false;
      }
      const text = p.text.slice(start, end);
      if (text.replace(/[^\p{L}]/gu, '').length < 12) continue;
      const within = toks.filter((t) => t.start >= start && t.end <= end);
      const atTop = p.pageNumber === 1 && p.charStart + start < 600;
      out.push({
        passage: index,
        quote: { start, end },
        heading: headed ? new Set(within.filter((t) => t.end <= headingEnd).map((t) => t.term)) : null,
        headingAlone,
        atTop,
        terms: new Set(within.map((t) => t.term)),
        sequence: within.map((t) => t.term),
        boilerplate: boilerplateKind(text, atTop),
        words: within.length,
        hasNumber: /\d|\b(?:one|two|three|four|five|six|seven|eight|nine|ten|twelve|thirty|sixty|ninety)\b/i.test(text),
        hasDuration: DURATION.test(text),
        hasAmount: AMOUNT.test(text),
      });
    }
  });
  // Running headers and footers: the same words on more than one page.
  const seen = new Map<string, Set<string>>();
  const key = (c: Candidate) => c.sequence.filter((t) => !/^\d+$/.test(t)).join(' ');
  for (const c of out) {
    const p = passages[c.passage];
    const k = key(c);
    if (k.length < 8) continue;
    seen.set(k, (seen.get(k) ?? new Set()).add(`${p.documentId ?? ''}|${p.pageNumber}`));
  }
  for (const c of out) if (!c.boilerplate && c.words <= 20 && (seen.get(key(c))?.size ?? 0) > 1) c.boilerplate = 'header';
  return out;
}

function covers(c: Candidate, concept: Concept): boolean {
  return members(c, concept) > 0;
}

/** How many of the concept's words and phrases the sentence holds ("governed by the laws of": two). */
function members(c: Candidate, concept: Concept): number {
  let n = 0;
  for (const w of concept.words) if (c.terms.has(w)) n++;
  for (const phrase of concept.phrases) {
    outer: for (let i = 0; i + phrase.length <= c.sequence.length; i++) {
      for (let j = 0; j < phrase.length; j++) if (c.sequence[i + j] !== phrase[j]) continue outer;
      n++;
      break;
    }
  }
  return n;
}

/** The question asks about the document as a whole: its name, its parties, its date. The answer is at the top of page 1. */
export function asksAboutDocument(question: string): boolean {
  return ASKS_ABOUT_DOCUMENT.test(question);
}
const ASKS_ABOUT_DOCUMENT =
  /\b(?:who are the parties|parties to|who (?:signed|entered into)|name of (?:this|the) (?:agreement|contract|document)|title of (?:this|the)|(?:date|dated) (?:of|on) (?:this|the) (?:agreement|contract)|what is the (?:agreement|contract) date|effective date|take effect|when (?:was|is|does|did) (?:this|the) (?:agreement|contract) (?:dated|signed|made|entered|start|begin|commence))\b/i;

/** The question asks for an amount, a duration or a date: sentences that hold one are likelier answers. */
const ASKS_NUMBER = /\b(?:how (?:long|much|many|often|soon)|when|what (?:date|day|amount|percentage|fee|price|rate)|until|period|dose|dosage)\b/i;

export interface RankOptions {
  /** The question's words that named a document (see `questionConcepts`). */
  naming?: readonly string[];
}

/**
 * The passages' sentences ranked for the question, best first. Boilerplate ranks below every
 * sentence that is not; earlier passages (ranked higher by retrieval) are preferred a little.
 */
export function rankEvidence(question: string, passages: EvidencePassage[], options: RankOptions = {}): EvidenceSentence[] {
  const concepts = questionConcepts(question, options.naming);
  if (concepts.length === 0 || passages.length === 0) return [];
  const pool = candidates(passages);
  const n = pool.length;
  const df = concepts.map((concept) => pool.filter((c) => covers(c, concept)).length);
  const weights = concepts.map((concept, i) => Math.log(1 + n / Math.max(1, df[i])) * (concept.generic ? 0.35 : 1));
  const total = weights.reduce((a, b) => a + b, 0);
  const wantsNumber = ASKS_NUMBER.test(question);
  const aboutDocument = ASKS_ABOUT_DOCUMENT.test(question);
  const keyTerms = concepts.filter((c) => !c.generic).length;
  const asked = ASKS_DURATION.test(question) ? 'a period of time' : ASKS_AMOUNT.test(question) ? 'an amount' : null;
  const ranked: EvidenceSentence[] = [];
  for (const c of pool) {
    let score = 0;
    const missing: string[] = [];
    let strength = 0;
    concepts.forEach((concept, i) => {
      const m = members(c, concept);
      if (m > 0) {
        score += weights[i];
        // More of a concept's words together say it more surely ("governed by" and "laws of").
        strength += weights[i] * 0.25 * Math.min(2, m - 1);
        // The clause's heading names it ("Governing Law."): a strong sign, as a reader uses it.
        if (c.heading && [...concept.words].some((w) => c.heading!.has(w))) strength += weights[i] * 0.3;
      } else if (!concept.generic) missing.push(concept.term);
    });
    if (score === 0 && !(aboutDocument && c.atTop)) continue;
    const coverage = total > 0 ? score / total : 0;
    score += strength;
    // Long sentences hold more words by chance: a mild length norm (BM25's b, lightly).
    score *= 1 / (0.75 + 0.25 * Math.min(4, c.words / 25));
    // Two or more key terms together beat one: the square of coverage rewards that.
    score *= 0.5 + coverage;
    if (wantsNumber && c.hasNumber) score *= 1.25;
    if (c.headingAlone) score *= 0.3;
    // Name, parties and date: the preamble says them, and its title is the name asked for.
    if (aboutDocument && c.atTop) score = (score + 1) * 2.5;
    const boilerplate = aboutDocument && c.atTop && c.boilerplate === 'title' ? null : c.boilerplate;
    score *= 1 + 0.25 * (1 - c.passage / Math.max(1, passages.length));
    if (boilerplate) score *= 0.05;
    const answersDocument = aboutDocument && c.atTop && !boilerplate;
    const lacksAsked = asked === 'a period of time' ? (c.hasDuration ? null : asked) : asked === 'an amount' ? (c.hasAmount ? null : asked) : null;
    if (lacksAsked) score *= 0.6;
    ranked.push({ passage: c.passage, quote: c.quote, score, coverage: answersDocument ? 1 : Math.round(coverage * 100) / 100, missing: answersDocument ? [] : missing, keyTerms, boilerplate, lacksAsked });
  }
  return ranked.sort((a, b) => Number(a.boilerplate !== null) - Number(b.boilerplate !== null) || b.score - a.score || a.passage - b.passage || a.quote.start - b.quote.start);
}

/**
 * The best `limit` sentences, each place once: overlapping chunks repeat sentences, and a
 * sentence already chosen (its words on the same page) is not offered again.
 */
export function topEvidence(question: string, passages: EvidencePassage[], limit = 3, options: RankOptions = {}): EvidenceSentence[] {
  const chosen: EvidenceSentence[] = [];
  const said = new Set<string>();
  const places: { at: string; start: number; end: number }[] = [];
  for (const e of rankEvidence(question, passages, options)) {
    if (chosen.length >= limit) break;
    const p = passages[e.passage];
    const words = p.text.slice(e.quote.start, e.quote.end).toLowerCase().replace(/[^\p{L}\p{N}]+/gu, ' ').trim();
    // The same words, or words overlapping a place already chosen (overlapping chunks cut one
    // clause at different starts: "12.1. Governing Law; …" and "Governing Law; …").
    const at = `${p.documentId ?? ''}|${p.pageNumber}`;
    const [start, end] = [p.charStart + e.quote.start, p.charStart + e.quote.end];
    if (said.has(words) || places.some((x) => x.at === at && x.start < end && start < x.end)) continue;
    said.add(words);
    places.push({ at, start, end });
    chosen.push(e);
  }
  return chosen;
}

/**
 * Whether the best evidence answers what was asked: it holds the question's key terms (all but
 * the generic ones, most of them by weight). Below that the documents do not say, and Enclave
 * says so before any answer the model would invent.
 */
export function evidenceAnswers(best: EvidenceSentence | undefined): boolean {
  if (!best || best.boilerplate || best.lacksAsked) return false;
  // A question of two key terms ("minimum purchase", "change of control") needs both, unless the
  // one held weighs clearly more (it is the rarer: the other is common around it); a longer one may
  // leave one unsaid.
  if (best.missing.length === 0) return best.coverage >= 0.5;
  if (best.missing.length > 1 || best.keyTerms < 2) return false;
  return best.keyTerms === 2 ? best.coverage >= 0.6 : best.coverage >= 0.5;
}

/**
 * The key terms of `subject` (a question, or a task field's label) that `text` does not hold, by
 * the same concepts evidence is ranked by; and whether that leaves it unanswered (a subject of
 * one or two key terms needs them all, a longer one may leave one out). A field cell whose
 * quoted words fail this is not "source checked": a termination-for-convenience cell must quote
 * words about terminating at will, not the purchase-price clause that mentions termination.
 */
export function subjectCovered(text: string, subject: string): { covered: boolean; missing: string[] } {
  const concepts = questionConcepts(subject).filter((c) => !c.generic);
  if (concepts.length === 0) return { covered: true, missing: [] };
  const within = tokens(text);
  const c = { terms: new Set(within.map((t) => t.term)), sequence: within.map((t) => t.term) } as Candidate;
  const missing = concepts.filter((concept) => !covers(c, concept)).map((concept) => concept.term);
  return { covered: missing.length <= (concepts.length >= 3 ? 1 : 0), missing };
}
