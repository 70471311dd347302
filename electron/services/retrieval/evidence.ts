// Evidence at the level of sentences: which sentences of the retrieved passages answer a question.
// Retrieval ranks chunks; a chunk is mostly words that do not answer. Here each sentence of the
// best passages (a heading joined to the sentence it heads) is scored by the question's key terms,
// each widened to the words a document uses for it ("governing law" → "governed by", "laws of"),
// weighted by how rare they are among the candidates; title blocks, signature blocks, running
// headers and footers, tables of contents and redaction marks are demoted, since they hold the
// words of every question ("Agreement", the parties) and answer none. One ranking serves the
// sources given to the model, "the documents say", the plain refusal and task fields. Pure functions.
import { claimTerms, splitSentences, stem, tokens, type Span } from './attribution.ts';

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
  boilerplate: BoilerplateKind | null;
}

/**
 * Words a question uses and the words documents use for the same thing (stemmed as `tokens`
 * stems). A question's term stands for its whole group: a sentence that holds any member covers it.
 * Kept to meanings, not to one corpus's phrasing: law, clinic and general records.
 */
const CONCEPTS: string[][] = [
  ['govern', 'governed', 'law', 'laws', 'construed', 'jurisdiction'],
  ['assign', 'assignment', 'assignable', 'assigned', 'transfer', 'transferred', 'delegate', 'delegation'],
  ['terminate', 'termination', 'terminated', 'cancel', 'cancellation', 'end'],
  ['convenience', 'cause', 'reason', 'any time', 'without cause'],
  ['renew', 'renewal', 'renewed', 'extend', 'extension', 'successive', 'automatically'],
  ['notice', 'notify', 'notification', 'prior written'],
  ['cap', 'exceed', 'limit', 'limitation', 'limited', 'maximum', 'aggregate', 'in no event'],
  ['liability', 'liable', 'damages'],
  ['audit', 'inspect', 'inspection', 'examine', 'examination', 'review'],
  ['record', 'records', 'books', 'accounts'],
  ['insurance', 'insured', 'insurer', 'policy', 'policies', 'coverage'],
  ['exclusive', 'exclusively', 'exclusivity', 'sole', 'solely'],
  ['compete', 'competition', 'competitive', 'competing', 'competitor'],
  ['minimum', 'at least', 'not less than'],
  ['purchase', 'buy', 'order', 'orders'],
  ['warranty', 'warrant', 'warrants', 'warranted', 'guarantee'],
  ['control', 'merger', 'acquisition', 'acquire', 'acquired', 'consolidation'],
  ['license', 'licence', 'licensed', 'licensee', 'licensor', 'sublicense'],
  ['grant', 'granted', 'grants'],
  ['date', 'dated', 'as of', 'day'],
  ['effective', 'commence', 'commencement', 'begin'],
  ['expire', 'expiration', 'expiry', 'until'],
  ['obligation', 'obligations', 'survive', 'survival'],
  ['pay', 'payment', 'payable', 'fee', 'fees', 'price', 'compensation', 'rate'],
  ['confidential', 'confidentiality', 'disclose', 'disclosure'],
  ['indemnify', 'indemnification', 'indemnity', 'hold harmless'],
  ['dose', 'dosage', 'dosing', 'mg', 'administer', 'administration', 'take'],
  ['side', 'adverse', 'reaction', 'reactions'],
  ['contraindication', 'contraindicated', 'do not use'],
  ['warning', 'warnings', 'caution', 'precaution', 'precautions'],
  ['child', 'children', 'pediatric', 'paediatric'],
  ['pregnancy', 'pregnant', 'nursing', 'breast'],
  ['court', 'held', 'holding', 'affirm', 'affirmed', 'reverse', 'reversed'],
];

/** Words so common in every document of a kind that they decide nothing alone (weighted low, never dropped). */
const GENERIC = new Set(['agreement', 'contract', 'party', 'parties', 'company', 'document', 'this', 'product', 'person'].map((w) => stem(w)));
/** Question words that frame an answer rather than name its subject. */
const FRAME = new Set(['period', 'term', 'duration', 'length', 'amount', 'number', 'kind', 'type', 'name', 'time', 'way', 'case', 'part', 'detail', 'information', 'happen', 'long', 'much', 'many', 'someone', 'else', 'there', 'other', 'need', 'needed'].map((w) => stem(w)));

interface Concept {
  /** The question's own term (its label in `missing`). */
  term: string;
  /** Stemmed single words, and phrases as stemmed word sequences. */
  words: Set<string>;
  phrases: string[][];
  generic: boolean;
}

const conceptIndex = (() => {
  const byTerm = new Map<string, string[]>();
  for (const group of CONCEPTS) {
    for (const member of group) {
      const t = tokens(member).map((x) => x.term);
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
  const terms = [...claimTerms(question).content].filter((t) => !FRAME.has(t) && !(named.has(t) && !conceptIndex.has(t)));
  const out: Concept[] = [];
  for (const term of terms) {
    const members = conceptIndex.get(term) ?? [term];
    const words = new Set<string>([term]);
    const phrases: string[][] = [];
    for (const m of members) {
      const t = tokens(m).map((x) => x.term);
      if (t.length === 1) words.add(t[0]);
      else if (t.length > 1) phrases.push(t);
    }
    // Two terms of one group ("governing" and "law") are one thing asked: keep the first.
    if (out.some((c) => c.words.has(term))) continue;
    out.push({ term, words, phrases, generic: GENERIC.has(term) });
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

/** A heading ("8. Assignment.", "Governing Law:"): short, and no clause of its own. */
function isHeading(text: string): boolean {
  const t = text.trim();
  const words = t.split(/\s+/).filter((w) => /\p{L}/u.test(w));
  if (words.length === 0 || words.length > 6 || t.length >= 60 || /\b(?:shall|will|may|must|is|are)\b/i.test(t)) return false;
  // Headings capitalise their words ("Governing Law; Consent to Jurisdiction"); a short finding does not ("Findings: troponin normal.").
  return words.every((w) => /^[^\p{L}]*\p{Lu}/u.test(w) || HEADING_SMALL.has(w.toLowerCase().replace(/[^\p{L}]/gu, '')));
}
const HEADING_SMALL = new Set(['of', 'and', 'to', 'the', 'for', 'on', 'in', 'or', 'a', 'an', 'by', 'with']);

interface Candidate {
  passage: number;
  quote: Span;
  terms: Set<string>;
  /** Stemmed words in order (for phrases). */
  sequence: string[];
  boilerplate: BoilerplateKind | null;
  words: number;
  hasNumber: boolean;
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
      if (isHeading(p.text.slice(start, end)) && i + 1 < sentences.length && !boilerplateKind(sentences[i + 1].text, false)) {
        end = sentences[i + 1].end;
        i++;
      }
      const text = p.text.slice(start, end);
      if (text.replace(/[^\p{L}]/gu, '').length < 12) continue;
      const within = toks.filter((t) => t.start >= start && t.end <= end);
      const atTop = p.pageNumber === 1 && p.charStart + start < 600;
      out.push({
        passage: index,
        quote: { start, end },
        terms: new Set(within.map((t) => t.term)),
        sequence: within.map((t) => t.term),
        boilerplate: boilerplateKind(text, atTop),
        words: within.length,
        hasNumber: /\d|\b(?:one|two|three|four|five|six|seven|eight|nine|ten|twelve|thirty|sixty|ninety)\b/i.test(text),
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
  for (const w of concept.words) if (c.terms.has(w)) return true;
  for (const phrase of concept.phrases) {
    outer: for (let i = 0; i + phrase.length <= c.sequence.length; i++) {
      for (let j = 0; j < phrase.length; j++) if (c.sequence[i + j] !== phrase[j]) continue outer;
      return true;
    }
  }
  return false;
}

/** The question asks for an amount, a duration or a date: sentences that hold one are likelier answers. */
const ASKS_NUMBER = /\b(?:how (?:long|much|many|often|soon)|when|what (?:date|day|amount|percentage|fee|price|rate)|until|period|dose|dosage)\b/i;

export interface RankOptions {
  /** The question's words that named a document (see `questionConcepts`). */
  naming?: readonly string[];
  /** Cosine of each candidate's text with the question (the embedding model), when measured. */
  similarity?: (text: string) => number | undefined;
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
  const ranked: EvidenceSentence[] = [];
  for (const c of pool) {
    let score = 0;
    const missing: string[] = [];
    concepts.forEach((concept, i) => {
      if (covers(c, concept)) score += weights[i];
      else if (!concept.generic) missing.push(concept.term);
    });
    if (score === 0) continue;
    const coverage = total > 0 ? score / total : 0;
    // Long sentences hold more words by chance: a mild length norm (BM25's b, lightly).
    score *= 1 / (0.75 + 0.25 * Math.min(4, c.words / 25));
    // Two or more key terms together beat one: the square of coverage rewards that.
    score *= 0.5 + coverage;
    if (wantsNumber && c.hasNumber) score *= 1.25;
    const similarity = options.similarity?.(passages[c.passage].text.slice(c.quote.start, c.quote.end));
    if (similarity !== undefined) score *= 0.6 + Math.max(0, similarity);
    score *= 1 + 0.25 * (1 - c.passage / Math.max(1, passages.length));
    if (c.boilerplate) score *= 0.05;
    ranked.push({ passage: c.passage, quote: c.quote, score, coverage: Math.round(coverage * 100) / 100, missing, boilerplate: c.boilerplate });
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
  for (const e of rankEvidence(question, passages, options)) {
    if (chosen.length >= limit) break;
    const p = passages[e.passage];
    const words = p.text.slice(e.quote.start, e.quote.end).toLowerCase().replace(/[^\p{L}\p{N}]+/gu, ' ').trim();
    const at = `${p.documentId ?? ''}|${p.pageNumber}|${words}`;
    if (said.has(at) || said.has(words)) continue;
    said.add(at);
    said.add(words);
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
  if (!best || best.boilerplate) return false;
  return best.coverage >= 0.5 && best.missing.length <= 1;
}
