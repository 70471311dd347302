// Grounded answers with the real models in ../shared/models, on real contracts with lawyers'
// labels (CUAD, ../shared/corpora): how often the model follows the citation format, how many
// answer sentences are verified, whether every other sentence is marked, how often a verified
// source is on the labelled page, refusals, and the page-level recall@5 of the retrieval that
// fed the answers. Figures from one run; not a test.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Message } from '../../electron/contract/types.ts';
import { claimTerms } from '../../electron/services/retrieval/attribution.ts';
import { locateQuote } from '../../electron/services/retrieval/grounding.ts';

/** CUAD categories as a person would ask about them (the same wording for every contract). */
export const QUESTIONS: Record<string, string> = {
  'Document Name': 'What is the name of this agreement?',
  Parties: 'Who are the parties to the agreement?',
  'Agreement Date': 'What is the date of the agreement?',
  'Effective Date': 'When does the agreement take effect?',
  'Expiration Date': 'When does the agreement expire?',
  'Renewal Term': 'Does the agreement renew automatically, and for how long?',
  'Notice Period To Terminate Renewal': 'How much notice is needed to stop the agreement from renewing?',
  'Governing Law': 'Which law governs the agreement?',
  'Anti-Assignment': 'Can a party assign the agreement to someone else?',
  'Cap On Liability': 'Is there a cap on liability?',
  'Termination For Convenience': 'Can a party terminate the agreement without cause?',
  'License Grant': 'What license does the agreement grant?',
  'Audit Rights': "Does a party have the right to audit the other party's records?",
  Insurance: 'What insurance must a party maintain?',
  Exclusivity: 'Is the relationship exclusive?',
  'Non-Compete': 'Is there a non-compete restriction?',
  'Minimum Commitment': 'Is there a minimum purchase commitment?',
  'Warranty Duration': 'How long does the warranty last?',
  'Change Of Control': 'What happens if a party undergoes a change of control?',
  'Post-Termination Services': 'What obligations continue after the agreement ends?',
};

export interface QaRow {
  doc_pdf: string;
  category: string;
  /** The CUAD annotators' own question for the category. */
  question: string;
  answer_text: string;
  pdf_page: number | null;
  pdf_num_pages: number;
}

export interface EvalQuestion {
  docPdf: string;
  category: string;
  question: string;
  /** Labelled pages (empty: the contract has no such clause; the right answer is a refusal). */
  pages: number[];
  labels: string[];
}

/** The first `docs` contracts of at most `maxPages` pages, up to `perDoc` labelled questions each plus one with no label. */
export function pickQuestions(corpus: string, docs: number, perDoc: number, maxPages = 20): EvalQuestion[] {
  const rows = readFileSync(join(corpus, 'cuad_contracts', 'cuad_clause_qa.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as QaRow);
  const byDoc = new Map<string, QaRow[]>();
  for (const r of rows) if (r.pdf_num_pages <= maxPages) byDoc.set(r.doc_pdf, [...(byDoc.get(r.doc_pdf) ?? []), r]);
  const out: EvalQuestion[] = [];
  for (const [doc, list] of [...byDoc.entries()].slice(0, docs)) {
    const categories = Object.keys(QUESTIONS);
    const present = categories.filter((c) => list.some((r) => r.category === c && r.pdf_page !== null));
    for (const c of present.slice(0, perDoc)) {
      const labelled = list.filter((r) => r.category === c && r.pdf_page !== null);
      out.push({ docPdf: doc, category: c, question: QUESTIONS[c], pages: [...new Set(labelled.map((r) => r.pdf_page!))], labels: labelled.map((r) => r.answer_text) });
    }
    const absent = categories.find((c) => !list.some((r) => r.category === c));
    if (absent) out.push({ docPdf: doc, category: absent, question: QUESTIONS[absent], pages: [], labels: [] });
  }
  return out;
}

/** At least half of the label's content words appear in the text. */
export function containsLabel(text: string, labels: string[]): boolean {
  const have = claimTerms(text).content;
  return labels.some((label) => {
    const want = [...claimTerms(label).content];
    return want.length > 0 && want.filter((w) => have.has(w)).length / want.length >= 0.5;
  });
}

export interface Scored {
  question: EvalQuestion;
  mode: 'collection' | 'shared';
  message: Message;
  recall5: boolean;
}

const pct = (n: number, d: number) => (d === 0 ? 'n/a' : `${((100 * n) / d).toFixed(0)}% (${n}/${d})`);

/** What a reply shows first, as MessageItem lays it out. */
function readFirst(message: Message): { text: string; refusal: boolean } {
  const g = message.grounding;
  if (!g) return { text: message.content, refusal: false };
  const claims = g.sentences.filter((s) => s.support === 'verified' || s.support === 'unsupported');
  const verified = claims.some((s) => s.support === 'verified');
  const answers = g.evidenceAnswers ?? (g.evidenceCoverage ?? 0) >= 0.5;
  if (!verified && claims.length > 0 && g.evidence.length > 0 && answers) {
    return { text: message.sources.find((s) => s.number === g.evidence[0])?.quote ?? '', refusal: false };
  }
  const first = g.sentences.find((s) => s.support !== 'question');
  if (!first) return { text: '', refusal: false };
  return { text: message.content.slice(first.start, first.end), refusal: first.support === 'refusal' };
}

export function report(results: Scored[], documentIdOf: (pdf: string) => string, pageText: (documentId: string, page: number) => string): string {
  const lines: string[] = [];
  for (const mode of ['collection', 'shared'] as const) {
    const rs = results.filter((r) => r.mode === mode);
    if (rs.length === 0) continue;
    const answerable = rs.filter((r) => r.question.pages.length > 0);
    const unanswerable = rs.filter((r) => r.question.pages.length === 0);
    let sentences = 0;
    let verified = 0;
    let unsupportedMarked = 0;
    let unsupported = 0;
    let refusalSentences = 0;
    let auditOk = 0;
    let audited = 0;
    let formatFollowed = 0;
    let withVerifiedSentence = 0;
    let withVerifiedSource = 0;
    let onLabelledPage = 0;
    let onAnyLabelledPage = 0;
    let modelHasLabel = 0;
    let sourcesHaveLabel = 0;
    let correctRefusals = 0;
    let nothingAsserted = 0;
    let recall = 0;
    let firstHolds = 0;
    let firstRefuses = 0;
    for (const r of rs) {
      const g = r.message.grounding;
      const docId = documentIdOf(r.question.docPdf);
      if (g) {
        if (g.modelCitations > 0) formatFollowed++;
        for (const s of g.sentences) {
          sentences++;
          if (s.support === 'verified') verified++;
          else if (s.support === 'refusal') refusalSentences++;
          else if (s.support === 'question') continue; // asks, claims nothing: neither checked nor marked
          else {
            unsupported++;
            // Marked: carries no source, so the UI shows it as not supported.
            if (s.source === null) unsupportedMarked++;
          }
        }
        if (g.sentences.some((s) => s.support === 'verified')) withVerifiedSentence++;
      }
      // Independent audit: every shown source's words are on its cited page.
      for (const s of r.message.sources) {
        audited++;
        const page = pageText(s.documentId, s.pageNumber);
        if (s.quote && page.slice(s.charStart, s.charEnd) === s.quote && locateQuote(s.quote, page)) auditOk++;
      }
      if (r.message.sources.length > 0) withVerifiedSource++;
      if (r.question.pages.length > 0) {
        if (r.message.sources.some((s) => s.documentId === docId && r.question.pages.includes(s.pageNumber))) onLabelledPage++;
        // The same question has a labelled answer in each contract that has the clause: in a
        // collection of several contracts, any of them answers it.
        const anyLabelled = new Set(rs.filter((o) => o.question.category === r.question.category).flatMap((o) => o.question.pages.map((p) => `${documentIdOf(o.question.docPdf)}|${p}`)));
        if (r.message.sources.some((s) => anyLabelled.has(`${s.documentId}|${s.pageNumber}`))) onAnyLabelledPage++;
        if (containsLabel(r.message.content, r.question.labels)) modelHasLabel++;
        // What the user reads first: the document's words when they lead (no sentence of the
        // answer holds and the evidence answers), else the answer's first sentence that claims.
        const lead = readFirst(r.message);
        if (lead.refusal) firstRefuses++;
        else if (containsLabel(lead.text, r.question.labels)) firstHolds++;
        if (containsLabel(r.message.sources.map((s) => s.quote ?? '').join(' '), r.question.labels)) sourcesHaveLabel++;
        if (r.recall5) recall++;
      } else {
        const g2 = r.message.grounding;
        const refused = !g2 || g2.sentences.every((s) => s.support !== 'verified');
        if (refused) nothingAsserted++;
        if (refused && (!g2 || g2.sentences.some((s) => s.support === 'refusal') || g2.evidence.length === 0)) correctRefusals++;
      }
    }
    lines.push(`\n### ${mode === 'collection' ? 'Asked of a collection of the contracts' : 'Asked about one shared contract'} (${rs.length} questions: ${answerable.length} with a labelled answer, ${unanswerable.length} the contract does not answer)`);
    lines.push(`| measure | value |`);
    lines.push(`| --- | --- |`);
    lines.push(`| model followed the citation format | ${pct(formatFollowed, rs.length)} |`);
    lines.push(`| answer sentences verified | ${pct(verified, sentences)} |`);
    lines.push(`| unsupported sentences marked | ${pct(unsupportedMarked, unsupported)} |`);
    lines.push(`| sentences that say the documents do not answer | ${pct(refusalSentences, sentences)} |`);
    lines.push(`| answers with a verified sentence of their own | ${pct(withVerifiedSentence, rs.length)} |`);
    lines.push(`| answers carrying a verified source (own sentence or "the documents say") | ${pct(withVerifiedSource, rs.length)} |`);
    lines.push(`| answerable: a verified source on the lawyer-labelled page | ${pct(onLabelledPage, answerable.length)} |`);
    if (mode === 'collection') lines.push(`| answerable: a verified source on a page labelled for this question in any contract of the collection | ${pct(onAnyLabelledPage, answerable.length)} |`);
    lines.push(`| answerable: what the user reads first holds ≥ half the label's words | ${pct(firstHolds, answerable.length)} |`);
    lines.push(`| answerable: the reply opens with "the documents do not say" | ${pct(firstRefuses, answerable.length)} |`);
    lines.push(`| answerable: the model's text holds ≥ half the label's words | ${pct(modelHasLabel, answerable.length)} |`);
    lines.push(`| answerable: the shown sources hold ≥ half the label's words | ${pct(sourcesHaveLabel, answerable.length)} |`);
    lines.push(`| unanswerable: nothing in the answer shown as verified | ${pct(nothingAsserted, unanswerable.length)} |`);
    lines.push(`| unanswerable: correct refusals (nothing verified, and the model or Enclave says the documents do not answer) | ${pct(correctRefusals, unanswerable.length)} |`);
    lines.push(`| retrieval page-level recall@5 (answerable) | ${pct(recall, answerable.length)} |`);
    lines.push(`| audit: shown quotes found verbatim at their page offsets | ${pct(auditOk, audited)} |`);
  }
  return lines.join('\n');
}
