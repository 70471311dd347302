// The law pack's clause table over real contracts (CUAD) with the real chat model, scored field by
// field against the lawyers' labels: share of fields filled, verified, matching the label (its
// words, as labels are spans), and on the labelled page; "not stated" precision and recall. One
// run's figures; not a test.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Enclave } from '../../electron/core/app.ts';
import type { TaskCell, TaskRunDetail } from '../../electron/contract/types.ts';
import { granter, routerCaller } from '../support/router-call.ts';
import { containsLabel, type QaRow } from './grounded.ts';

/** Clause-table fields and the CUAD category that labels each. */
export const FIELD_CATEGORIES: Record<string, string> = {
  parties: 'Parties',
  'agreement-date': 'Agreement Date',
  'effective-date': 'Effective Date',
  'expiration-date': 'Expiration Date',
  'renewal-term': 'Renewal Term',
  'notice-to-terminate-renewal': 'Notice Period To Terminate Renewal',
  'governing-law': 'Governing Law',
  assignment: 'Anti-Assignment',
  'liability-cap': 'Cap On Liability',
  'termination-for-convenience': 'Termination For Convenience',
};

const pct = (n: number, d: number) => (d === 0 ? '—' : `${Math.round((100 * n) / d)}%`);

export async function evalTasks(enclave: Enclave, corpus: string, docs: number, skip = 0, verbose = false): Promise<void> {
  const call = routerCaller(() => enclave);
  const grant = granter(() => enclave);
  const rows = readFileSync(join(corpus, 'cuad_contracts', 'cuad_clause_qa.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as QaRow);
  const byDoc = new Map<string, QaRow[]>();
  for (const r of rows) if (r.pdf_num_pages <= 20) byDoc.set(r.doc_pdf, [...(byDoc.get(r.doc_pdf) ?? []), r]);
  const picked = [...byDoc.keys()].slice(skip, skip + docs);
  const ids = new Map<string, string>();
  for (const pdf of picked) {
    const { document } = await call('documents.import', { file: grant(join(corpus, pdf)) });
    await enclave.documents.whenIdle(document.id);
    ids.set(document.id, pdf);
  }
  const started = performance.now();
  const run = await call('tasks.start', { packId: 'law', key: 'clause-table', scope: { documentIds: [...ids.keys()] } });
  await enclave.tasks.idle;
  const seconds = (performance.now() - started) / 1000;
  const detail: TaskRunDetail = await call('tasks.get', { runId: run.id });

  const t = { fields: 0, filled: 0, verified: 0, matching: 0, onPage: 0, verifiedMatching: 0, labelled: 0, labelledFilled: 0, notStated: 0, notStatedRight: 0, unlabelled: 0, unlabelledNotStated: 0, notStatedMiss: 0 };
  const perField = new Map<string, { n: number; verified: number; matching: number; onPage: number }>();
  for (const row of detail.rows) {
    const pdf = ids.get(row.documentId)!;
    const labels = byDoc.get(pdf)!;
    for (const [key, category] of Object.entries(FIELD_CATEGORIES)) {
      const cell: TaskCell | undefined = row.cells.find((c) => c.fieldKey === key);
      const labelled = labels.filter((r) => r.category === category && r.pdf_page !== null);
      const pages = new Set(labelled.map((r) => r.pdf_page!));
      const texts = labelled.map((r) => r.answer_text);
      const f = perField.get(key) ?? { n: 0, verified: 0, matching: 0, onPage: 0 };
      f.n++;
      t.fields++;
      const filled = cell?.status === 'verified' || cell?.status === 'unverified';
      const matching = filled && texts.length > 0 && containsLabel(`${cell!.quote ?? ''} ${cell!.value ?? ''}`, texts);
      const onPage = filled && cell!.page !== null && pages.has(cell!.page);
      if (filled) t.filled++;
      if (cell?.status === 'verified') {
        t.verified++;
        f.verified++;
        if (matching) t.verifiedMatching++;
      }
      if (matching) {
        t.matching++;
        f.matching++;
      }
      if (onPage) {
        t.onPage++;
        f.onPage++;
      }
      if (labelled.length > 0) {
        t.labelled++;
        if (filled) t.labelledFilled++;
      } else {
        t.unlabelled++;
        if (cell?.status === 'not-stated') t.unlabelledNotStated++;
      }
      if (cell?.status === 'not-stated') {
        t.notStated++;
        if (labelled.length === 0) t.notStatedRight++;
        // A field called not stated whose labelled page the task read: a miss.
        else if ([...pages].some((p) => cell.pagesRead.includes(p))) t.notStatedMiss++;
      }
      perField.set(key, f);
      if (verbose) {
        console.log(`  ${row.documentTitle.slice(0, 40)} · ${key}: ${cell?.status} p.${cell?.page ?? '—'} “${(cell?.value ?? '').slice(0, 60)}” | label p.${[...pages].join(',') || '—'} “${(texts[0] ?? '').replace(/\s+/g, ' ').slice(0, 60)}”${cell?.reason ? ` (${cell.reason})` : ''}`);
      }
    }
  }
  const failedRows = detail.rows.filter((r) => r.status === 'failed').length;
  const modelName = detail.run.modelName ?? 'the model';
  console.log(`\n## Clause table (law pack): ${modelName}, ${detail.rows.length} CUAD contracts (${failedRows} failed), ${Math.round(seconds)} s (${((detail.rows.length / seconds) * 60).toFixed(2)} documents/min)`);
  console.log('| measure | value |\n|---|---|');
  console.log(`| fields | ${t.fields} |`);
  console.log(`| filled (a value with a quoted source) | ${pct(t.filled, t.fields)} |`);
  console.log(`| verified (quote on the page, value in the quote) | ${pct(t.verified, t.fields)} |`);
  console.log(`| filled and matching the label's words | ${pct(t.matching, t.fields)} (of labelled fields: ${pct(t.matching, t.labelled)}) |`);
  console.log(`| verified and matching the label | ${pct(t.verifiedMatching, t.verified)} of verified |`);
  console.log(`| source on the labelled page | ${pct(t.onPage, t.labelled)} of labelled fields |`);
  console.log(`| labelled fields filled | ${pct(t.labelledFilled, t.labelled)} |`);
  console.log(`| "not stated" precision (no label) | ${pct(t.notStatedRight, t.notStated)} of ${t.notStated} |`);
  console.log(`| "not stated" recall (of fields with no label) | ${pct(t.unlabelledNotStated, t.unlabelled)} of ${t.unlabelled} |`);
  console.log(`| "not stated" although the labelled page was read (a miss) | ${t.notStatedMiss} |`);
  console.log('\n| field | verified | matching label | on labelled page |\n|---|---|---|---|');
  for (const [key, f] of perField) console.log(`| ${key} | ${pct(f.verified, f.n)} | ${pct(f.matching, f.n)} | ${pct(f.onPage, f.n)} |`);
}
