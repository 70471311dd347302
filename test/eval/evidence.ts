// What the user reads first: the evidence sentences Enclave shows for a question, on the real CUAD
// contracts with the lawyers' labels. One question per labelled (contract, clause), asked within
// that contract (a shared document) and over a collection of all of them naming the contract; and
// the clauses each contract lacks, which must get a plain "the documents do not say". Retrieval is
// the app's own (hybrid when an embedding model is set). No chat model is needed. Not a test.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Enclave } from '../../electron/core/app.ts';
import { bestEvidence } from '../../electron/services/retrieval/attribution.ts';
import { evidenceAnswers, topEvidence, type EvidenceSentence } from '../../electron/services/retrieval/evidence.ts';
import { documentNames, withoutNaming } from '../../electron/services/retrieval/named-documents.ts';
import { evidencePassages, titledDocuments } from '../../electron/services/retrieval/grounder.ts';
import type { StoredChunk } from '../../electron/services/store/retrieval-store.ts';
import { containsLabel, QUESTIONS, type QaRow } from './grounded.ts';

/** CANDIDATES in grounder.ts: the passages a grounded turn retrieves before choosing. */
const CANDIDATES = 12;

interface Pair {
  pdf: string;
  category: string;
  question: string;
  pages: number[];
  labels: string[];
}

/** How a person names a contract in a question: its first party and its kind ("the Driven Deliveries consulting agreement"). */
export function contractName(pdf: string, rows: QaRow[]): string {
  const party = rows.find((r) => r.doc_pdf === pdf && r.category === 'Parties')?.answer_text.split(/[,(\n]/)[0].replace(/\s+/g, ' ').trim();
  const kind = /([A-Za-z-]+(?:_[A-Za-z-]+)?)_?(?:AGREEMENT|Agreement|CONTRACT)/.exec(pdf.replace(/\.pdf$/, ''))?.[1]?.replace(/_/g, ' ').toLowerCase() ?? '';
  return `the ${party ?? ''} ${kind} agreement`.replace(/\s+/g, ' ');
}

export function labelledPairs(corpus: string): { pairs: Pair[]; absent: Pair[]; rows: QaRow[] } {
  const rows = readFileSync(join(corpus, 'cuad_contracts', 'cuad_clause_qa.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as QaRow);
  const pairs: Pair[] = [];
  const absent: Pair[] = [];
  const pdfs = [...new Set(rows.map((r) => r.doc_pdf))].sort();
  for (const pdf of pdfs) {
    for (const [category, question] of Object.entries(QUESTIONS)) {
      const labelled = rows.filter((r) => r.doc_pdf === pdf && r.category === category);
      if (labelled.length === 0) absent.push({ pdf, category, question, pages: [], labels: [] });
      else if (labelled.some((r) => r.pdf_page !== null)) {
        pairs.push({ pdf, category, question, pages: [...new Set(labelled.flatMap((r) => (r.pdf_page ? [r.pdf_page] : [])))], labels: labelled.map((r) => r.answer_text) });
      }
    }
  }
  return { pairs, absent, rows };
}

const pct = (n: number, d: number) => (d === 0 ? 'n/a' : `${((100 * n) / d).toFixed(1)}% (${n}/${d})`);

interface Tally {
  first: number;
  top3: number;
  firstPage: number;
  boilerplate: number;
  shown: number;
  answers: number;
  n: number;
}

export async function evalEvidence(enclave: Enclave, corpus: string, ids: Map<string, string>, options: { verbose?: boolean; limit?: number } = {}): Promise<string> {
  const { pairs, absent, rows } = labelledPairs(corpus);
  const usable = pairs.filter((p) => ids.has(p.pdf)).slice(0, options.limit ?? Infinity);
  const lacking = absent.filter((p) => ids.has(p.pdf)).slice(0, options.limit ?? Infinity);
  const all = [...ids.values()];
  const titles = titledDocuments(enclave.retrieval, all);
  const lines: string[] = [];
  for (const mode of ['within the contract', 'over the collection, naming the contract'] as const) {
    const tallyOld: Tally = { first: 0, top3: 0, firstPage: 0, boilerplate: 0, shown: 0, answers: 0, n: 0 };
    const tallyNew: Tally = { ...tallyOld };
    let refusedAbsent = 0;
    for (const p of [...usable, ...lacking]) {
      const docId = ids.get(p.pdf)!;
      const question = mode === 'within the contract' ? p.question : `In ${contractName(p.pdf, rows)}, ${p.question[0].toLowerCase()}${p.question.slice(1)}`;
      // Over the collection, as the grounder does: a question that names a document asks that one.
      let scope = [docId];
      let naming: string[] = [];
      if (mode !== 'within the contract') {
        const named = documentNames(question, titles);
        scope = named.ids.length > 0 ? named.ids : all;
        naming = named.words;
      }
      const result = await enclave.retriever.searchDocuments(withoutNaming(question, naming), scope, CANDIDATES, undefined, { rerank: false });
      const retrieved: StoredChunk[] = result.relevant ? result.passages : [];
      const passages = evidencePassages(enclave.retrieval, question, retrieved, mode === 'within the contract' || scope.length === all.length ? [] : scope);
      // Before: the whole collection searched (no document named), the retrieved chunks' sentences by shared words.
      const before = mode === 'within the contract' || scope.length === all.length ? result : await enclave.retriever.searchDocuments(question, all, CANDIDATES, undefined, { rerank: false });
      const oldPassages: StoredChunk[] = before.relevant ? before.passages : [];
      const fresh = topEvidence(question, passages, 3, { naming });
      if (p.labels.length === 0) {
        if (!evidenceAnswers(fresh[0])) refusedAbsent++;
        else if (options.verbose && mode === 'within the contract') {
          const e = fresh[0];
          console.log(`∅ ${p.category} — ${question}\n    ${e.coverage} [${e.missing.join(' ')}] p.${passages[e.passage].pageNumber} “${passages[e.passage].text.slice(e.quote.start, e.quote.end).replace(/\s+/g, ' ').slice(0, 160)}”`);
        }
        continue;
      }
      const old = bestEvidence(question, oldPassages.map((c) => c.text), 3).map((e) => ({ passage: e.passage, quote: e.quote }));
      const score = (tally: Tally, shown: { passage: number; quote: { start: number; end: number }; boilerplate?: EvidenceSentence['boilerplate'] }[], answers: boolean, passages: StoredChunk[]) => {
        tally.n++;
        if (answers) tally.answers++;
        const text = (e: (typeof shown)[number]) => passages[e.passage].text.slice(e.quote.start, e.quote.end);
        const onPage = (e: (typeof shown)[number]) => passages[e.passage].documentId === docId && p.pages.includes(passages[e.passage].pageNumber);
        if (shown[0] && containsLabel(text(shown[0]), p.labels)) tally.first++;
        if (shown[0] && onPage(shown[0])) tally.firstPage++;
        if (shown.slice(0, 3).some((e) => containsLabel(text(e), p.labels))) tally.top3++;
        for (const e of shown) {
          tally.shown++;
          if (e.boilerplate ?? null) tally.boilerplate++;
        }
      };
      score(tallyNew, fresh, evidenceAnswers(fresh[0]), passages);
      score(tallyOld, old, true, oldPassages);
      if (options.verbose && !(fresh[0] && containsLabel(passages[fresh[0].passage].text.slice(fresh[0].quote.start, fresh[0].quote.end), p.labels))) {
        const shown = fresh.map((e) => `    ${e.score.toFixed(2)} p.${passages[e.passage].pageNumber} ${e.boilerplate ?? ''} “${passages[e.passage].text.slice(e.quote.start, e.quote.end).replace(/\s+/g, ' ').slice(0, 150)}”`).join('\n');
        console.log(`✗ ${p.category} — ${question} [named ${scope.length < all.length ? scope.length : 'none'}: ${naming.join(' ')}]\n  label p.${p.pages.join(',')}: ${p.labels[0].replace(/\s+/g, ' ').slice(0, 150)}\n${shown}`);
      }
    }
    // The old path showed no boilerplate mark: count what the new detector calls boilerplate among its picks.
    lines.push(`\n### Evidence shown first, ${mode} (${tallyNew.n} labelled questions, ${lacking.length} about clauses the contract lacks)`);
    lines.push('| measure | before (question words in whole sentences) | now (sentence ranking) |');
    lines.push('| --- | --- | --- |');
    lines.push(`| first sentence holds ≥ half the lawyer's label words | ${pct(tallyOld.first, tallyOld.n)} | ${pct(tallyNew.first, tallyNew.n)} |`);
    lines.push(`| one of the first three does | ${pct(tallyOld.top3, tallyOld.n)} | ${pct(tallyNew.top3, tallyNew.n)} |`);
    lines.push(`| first sentence on the labelled page | ${pct(tallyOld.firstPage, tallyOld.n)} | ${pct(tallyNew.firstPage, tallyNew.n)} |`);
    lines.push(`| shown sentences that are boilerplate (title, signature, header, contents) | — | ${pct(tallyNew.boilerplate, tallyNew.shown)} |`);
    lines.push(`| answerable, but Enclave says the documents do not say | — | ${pct(tallyNew.n - tallyNew.answers, tallyNew.n)} |`);
    lines.push(`| clause absent: Enclave says the documents do not say | — | ${pct(refusedAbsent, lacking.length)} |`);
  }
  return lines.join('\n');
}

/** Every CUAD contract read into the library (once: a kept data folder has them), embedded for search by meaning. */
export async function readContracts(enclave: Enclave, corpus: string, embeddingModel: string): Promise<Map<string, string>> {
  const { rows } = labelledPairs(corpus);
  const pdfs = [...new Set(rows.map((r) => r.doc_pdf))].sort();
  const ids = new Map<string, string>();
  const known = new Map((enclave.db.prepare("SELECT file_name AS name, id FROM documents WHERE status = 'ready'").all() as { name: string; id: string }[]).map((r) => [r.name, r.id]));
  const t0 = performance.now();
  for (const pdf of pdfs) {
    const name = pdf.split('/').at(-1)!;
    let id = known.get(name);
    if (!id) {
      const result = await enclave.router.call('documents.import', { file: enclave.files.grant(join(corpus, pdf)) });
      if (!result.ok) throw new Error(result.error.message);
      id = (result.value as { document: { id: string } }).document.id;
      await enclave.documents.whenIdle(id);
    }
    ids.set(pdf, id);
  }
  enclave.indexer.ensureChunked([...ids.values()]);
  const models = enclave.db.prepare('SELECT id, file_name AS name FROM models').all() as { id: string; name: string }[];
  if (!models.some((m) => m.name.includes('MiniLM'))) {
    const added = await enclave.router.call('models.add', { file: enclave.files.grant(embeddingModel) });
    if (!added.ok) throw new Error(added.error.message);
    await enclave.models.settled;
    await enclave.router.call('models.setEmbedding', { modelId: (added.value as { id: string }).id });
  }
  // A kept library loads its embedding model at start, as the app does: search by meaning waits for it.
  if (models.some((m) => m.name.includes('MiniLM'))) await enclave.restoreActiveModel();
  for (let i = 0; i < 600 && enclave.embedder.dimensions === null; i++) await new Promise((r) => setTimeout(r, 100));
  if (enclave.embedder.dimensions === null) throw new Error('the embedding model did not load');
  for (;;) {
    const s = await enclave.router.call('retrieval.status', {});
    const status = s.ok ? (s.value as { state: string; chunks: number; embedded: number; skipped: number }) : null;
    if (status && status.state === 'idle' && status.embedded + status.skipped >= status.chunks) {
      console.log(`${ids.size} contracts, ${status.chunks} passages, ${status.embedded} embedded (${((performance.now() - t0) / 1000).toFixed(0)} s)`);
      break;
    }
    await new Promise((r) => setTimeout(r, 500));
  }
  return ids;
}
