// Builds the labelled claim set (test/fixtures/claims/cuad-claims.json) from the lawyers' clause
// spans in the real CUAD contracts (../shared/corpora, CC BY 4.0): each case is a claim, the
// passage around the span in the contract's text, and whether the passage supports the claim.
// True claims are the span's own sentence, a part of it, or a rewording that keeps its meaning;
// false ones reverse the parties' roles, add or remove a negation, change may ↔ shall, or change
// a number, a duration or a date. Labelled by construction; seeded, so it is the same every time.
// Run: node test/eval/claim-set.ts (needs ../shared; the fixture it writes is committed).
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { seededRandom } from '../../electron/core/seeded-random.ts';
import { REPO_ROOT } from '../fixtures/paths.ts';
import type { QaRow } from './grounded.ts';

export interface ClaimCase {
  claim: string;
  passage: string;
  supported: boolean;
  /** How the claim was made from the span. */
  kind: 'verbatim' | 'part' | 'reworded' | 'roles' | 'negation' | 'modality' | 'number' | 'date';
  source: string;
}

const CORPUS = resolve(REPO_ROOT, '..', 'shared', 'corpora', 'clinic_law_docs');
export const CLAIM_SET = join(REPO_ROOT, 'test', 'fixtures', 'claims', 'cuad-claims.json');

const MONTHS = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October', 'November', 'December'];
const NUMBER_WORDS: Record<string, string> = { thirty: 'sixty', sixty: 'ninety', ninety: 'thirty', ten: 'twenty', five: 'fifteen', two: 'four', three: 'five', one: 'two', twelve: 'six', six: 'twelve', fifteen: 'forty-five', forty: 'fifty', twenty: 'forty' };

const esc = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

function swapFirst(text: string, from: RegExp, to: string): string | null {
  return from.test(text) ? text.replace(from, to) : null;
}

function mutations(sentence: string, parties: string[], random: () => number): { claim: string; kind: ClaimCase['kind']; supported: boolean }[] {
  const out: { claim: string; kind: ClaimCase['kind']; supported: boolean }[] = [];
  // The contract's own parties (the lawyers' Parties labels) that the sentence names: two of them swapped.
  const names = parties.filter((p) => new RegExp(`\\b${esc(p)}\\b`).test(sentence)).sort((a, b) => b.length - a.length);
  while (names.length >= 2 && (names[0].includes(names[1]) || names[1].includes(names[0]))) names.splice(1, 1);
  if (names.length >= 2) {
    const [a, b] = names;
    // "A and B shall negotiate" says the same with the names swapped: not a reversal of roles.
    const joined = new RegExp(`${esc(a)}\\W+(?:and|or|&)\\W+(?:the\\s+)?${esc(b)}|${esc(b)}\\W+(?:and|or|&)\\W+(?:the\\s+)?${esc(a)}`, 'i').test(sentence);
    const swapped = joined ? sentence : sentence.split(a).map((part) => part.split(b).join('\u0000')).join(b).split('\u0000').join(a);
    if (swapped !== sentence) out.push({ claim: swapped, kind: 'roles', supported: false });
  }
  const negated =
    swapFirst(sentence, /\bshall not\b/, 'shall') ?? swapFirst(sentence, /\bmay not\b/, 'may') ?? swapFirst(sentence, /\bshall\b/, 'shall not') ?? swapFirst(sentence, /\bwill\b/, 'will not') ?? swapFirst(sentence, /\bmay\b/, 'may not') ?? swapFirst(sentence, /\bis\b/, 'is not');
  if (negated) out.push({ claim: negated, kind: 'negation', supported: false });
  const modal = swapFirst(sentence, /\bshall(?! not)\b/, 'may') ?? swapFirst(sentence, /\bmay(?! not)\b/, 'shall') ?? swapFirst(sentence, /\bmust\b/, 'may');
  if (modal) out.push({ claim: modal, kind: 'modality', supported: false });
  const number = /\b(\d{1,4})\b/.exec(sentence);
  if (number && !/\b(?:19|20)\d\d\b/.test(number[0])) {
    const n = Number(number[1]);
    const other = String(n === 0 ? 1 : n * 2 + (random() < 0.5 ? 1 : 0));
    out.push({ claim: sentence.slice(0, number.index) + other + sentence.slice(number.index + number[0].length), kind: 'number', supported: false });
  } else {
    const word = new RegExp(`\\b(${Object.keys(NUMBER_WORDS).join('|')})\\b`, 'i').exec(sentence);
    if (word) out.push({ claim: sentence.slice(0, word.index) + NUMBER_WORDS[word[1].toLowerCase()] + sentence.slice(word.index + word[0].length), kind: 'number', supported: false });
  }
  const month = new RegExp(`\\b(${MONTHS.join('|')})\\b`).exec(sentence);
  if (month) {
    const other = MONTHS[(MONTHS.indexOf(month[1]) + 1 + Math.floor(random() * 10)) % 12];
    out.push({ claim: sentence.replace(month[1], other), kind: 'date', supported: false });
  } else {
    const year = /\b(19|20)(\d\d)\b/.exec(sentence);
    if (year) out.push({ claim: sentence.replace(year[0], String(Number(year[0]) + 1 + Math.floor(random() * 3))), kind: 'date', supported: false });
  }
  // True rewordings: what a model writes when it copies a clause loosely.
  const reworded = sentence
    .replace(/\bThis Agreement\b/g, 'The agreement')
    .replace(/\bshall\b/g, 'will')
    .replace(/\b(thirty|sixty|ninety|ten|five|fifteen|twelve|two|three|six)\s*\((\d+)\)/gi, '$2')
    .replace(/\s*\((?:the\s+)?"[^"]+"\)/g, '')
    .replace(/\bhereunder\b\s*/g, '');
  if (reworded !== sentence) out.push({ claim: reworded, kind: 'reworded', supported: true });
  const words = sentence.split(/\s+/);
  if (words.length >= 18) {
    // A part of it: the first clause, as a model that stops early writes it.
    const cut = sentence.search(/;\s|,\s(?=(?:and|but|provided|except|unless|which|whereupon)\b)/);
    if (cut > 40 && !/^(?:Unless|If|In the event|Subject|Notwithstanding|Except|Upon|Without|During|For|After|Prior|Following|Where|When|In)\b/.test(sentence)) out.push({ claim: `${sentence.slice(0, cut)}.`, kind: 'part', supported: true });
  }
  return out;
}

function build(): ClaimCase[] {
  const rows = readFileSync(join(CORPUS, 'cuad_contracts', 'cuad_clause_qa.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as QaRow & { doc_txt: string; txt_char_start: number | null });
  const random = seededRandom(28);
  const cases: ClaimCase[] = [];
  const texts = new Map<string, string>();
  const partiesOf = (pdf: string) => [
    ...new Set(
      rows
        .filter((p) => p.doc_pdf === pdf && p.category === 'Parties')
        .flatMap((p) => p.answer_text.split(/\n|;/))
        .map((n) => n.replace(/[“”"]/g, '').replace(/\s+/g, ' ').trim())
        .filter((n) => n.length >= 3 && /^[A-Z]/.test(n)),
    ),
  ];
  for (const r of rows) {
    if (r.txt_char_start === null || ['Parties', 'Document Name'].includes(r.category)) continue;
    const span = r.answer_text.replace(/\s+/g, ' ').trim();
    if (span.length < 50 || span.length > 420 || !/[.;]?$/.test(span) || !/\b(?:shall|will|may|must|is|are|agrees?)\b/.test(span)) continue;
    if (!texts.has(r.doc_txt)) texts.set(r.doc_txt, readFileSync(join(CORPUS, r.doc_txt), 'utf8'));
    const text = texts.get(r.doc_txt)!;
    // The passage a search would hand over: the span with text on either side, as in a chunk.
    const from = Math.max(0, r.txt_char_start - 350);
    const passage = text.slice(from, r.txt_char_start + r.answer_text.length + 350).replace(/[ \t]+/g, ' ');
    const sentence = /[.;:]$/.test(span) ? span.replace(/;$/, '.') : `${span}.`;
    const source = `${r.doc_txt.split('/').at(-1)} (${r.category})`;
    cases.push({ claim: sentence, passage, supported: true, kind: 'verbatim', source });
    for (const m of mutations(sentence, partiesOf(r.doc_pdf), random)) cases.push({ ...m, passage, source });
  }
  // Balanced and bounded: one case of each kind per contract, so no one contract dominates.
  const seen = new Map<string, number>();
  return cases.filter((c) => {
    const key = `${c.source.split(' (')[0]}|${c.kind}`;
    seen.set(key, (seen.get(key) ?? 0) + 1);
    return seen.get(key)! <= 1;
  });
}

if (process.argv[1]?.endsWith('claim-set.ts')) {
  const cases = build();
  mkdirSync(dirname(CLAIM_SET), { recursive: true });
  writeFileSync(CLAIM_SET, `${JSON.stringify({ about: 'Claims made from CUAD v1 clause spans (The Atticus Project, CC BY 4.0; Hendrycks et al. 2021, arXiv:2103.06268); labelled by construction by test/eval/claim-set.ts.', cases }, null, 1)}\n`);
  const by = new Map<string, number>();
  for (const c of cases) by.set(c.kind, (by.get(c.kind) ?? 0) + 1);
  console.log(`${cases.length} cases: ${[...by].map(([k, n]) => `${k} ${n}`).join(', ')}`);
}
