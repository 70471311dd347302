// An evaluation as files: every answer as CSV (for a spreadsheet), and a Markdown report a
// practice manager can file (what was compared, on what, when, and how each model did).
import { stringify } from 'csv-stringify/sync';
import type { EvalRunDetail, EvalScore, EvalTaskScore } from '../../contract/types.ts';
import { inert } from '../tasks/table-export.ts';
import type { TaskCellComparison } from './eval-service.ts';

const mark = (v: boolean | null) => (v === null ? '' : v ? 'yes' : 'no');
const share = ({ met, of }: { met: number; of: number }) => (of === 0 ? '—' : `${met} of ${of} (${Math.round((met / of) * 100)}%)`);
/** Markdown table cells hold no pipes or line breaks; no HTML is interpreted by the report's readers. */
const md = (text: string) => text.replace(/[|\\`*_<>[\]]/g, (c) => `\\${c}`).replace(/\s+/g, ' ').trim();

function baseName(detail: EvalRunDetail): string {
  const date = new Date(detail.run.createdAt).toISOString().slice(0, 10);
  return `Evaluation ${detail.run.assistantName} ${date}`.replace(/[^\p{L}\p{N}\- ]+/gu, '_').trim();
}

export function evalCsv(detail: EvalRunDetail, cells: TaskCellComparison[] = []): { fileName: string; mimeType: string; base64: string } {
  if (detail.run.kind === 'task') {
    const rows = [['model', 'document', 'field', 'corrected_table', 'model_value', 'match', 'source_checked'], ...cells.map((c) => [c.model, c.documentTitle, c.fieldLabel, c.reference ?? '(not stated)', c.value ?? '(not stated)', c.match ? 'yes' : 'no', c.checked ? 'yes' : 'no'].map(inert))];
    return { fileName: `${baseName(detail)}.csv`, mimeType: 'text/csv', base64: Buffer.from(`\uFEFF${stringify(rows)}`, 'utf8').toString('base64') };
  }
  const questions = new Map(detail.questions.map((q) => [q.id, q]));
  const rows: string[][] = [[
    'model', 'model_sha256', 'question', 'expected', 'pages', 'should_refuse', 'status', 'answer', 'expected_met', 'citations_verified',
    'on_expected_page', 'refused', 'confident_wrong', 'sources', 'first_token_ms', 'tokens_per_second', 'error',
  ]];
  for (const a of detail.answers) {
    const q = questions.get(a.questionId)!;
    const model = detail.run.models[a.modelIndex];
    rows.push([
      model.name, model.sha256 ?? '', q.question, q.expected, q.pages.join(' '), q.shouldRefuse ? 'yes' : 'no', a.status, a.answer,
      mark(a.verdict.expected), mark(a.verdict.citationsVerified), mark(a.verdict.onExpectedPage), mark(a.verdict.refused), mark(a.verdict.confidentWrong),
      a.sources.map((s) => `[${s.number}] ${s.documentTitle} p. ${s.pageNumber}`).join('; '),
      a.firstTokenMs === null ? '' : a.firstTokenMs.toFixed(0), a.tokensPerSecond === null ? '' : a.tokensPerSecond.toFixed(1), a.error ?? '',
    ].map(inert));
  }
  return { fileName: `${baseName(detail)}.csv`, mimeType: 'text/csv', base64: Buffer.from(`\uFEFF${stringify(rows)}`, 'utf8').toString('base64') };
}

export function scoreLines(scores: EvalScore[]): string[] {
  const lines = [
    `| | ${scores.map((s) => md(s.model.name)).join(' | ')} |`,
    `|---|${scores.map(() => '---').join('|')}|`,
  ];
  const row = (label: string, f: (s: EvalScore) => string) => lines.push(`| ${label} | ${scores.map(f).join(' | ')} |`);
  row('Answers with the expected words', (s) => share(s.expected));
  row('Answers with every citation verified', (s) => share(s.citationsVerified));
  row('A verified source on an expected page', (s) => share(s.onExpectedPage));
  row('Correct refusals', (s) => share(s.correctRefusals));
  row('Refused although the documents answer', (s) => String(s.wrongRefusals));
  row('Wrong answers given with confidence', (s) => String(s.confidentWrong));
  row('Failed (no answer)', (s) => String(s.failed));
  row('Tokens per second (median)', (s) => (s.tokensPerSecond === null ? '—' : s.tokensPerSecond.toFixed(1)));
  row('First words after (median)', (s) => (s.firstTokenMs === null ? '—' : `${(s.firstTokenMs / 1000).toFixed(2)} s`));
  row('Peak memory of the app', (s) => (s.peakMemoryBytes === null ? '—' : `${(s.peakMemoryBytes / 2 ** 30).toFixed(2)} GB`));
  return lines;
}

export function taskScoreLines(scores: EvalTaskScore[]): string[] {
  const lines = [`| | ${scores.map((s) => md(s.model.name)).join(' | ')} |`, `|---|${scores.map(() => '---').join('|')}|`];
  lines.push(`| All fields | ${scores.map((s) => share(s.accuracy)).join(' | ')} |`);
  for (const [i, f] of (scores[0]?.fields ?? []).entries()) lines.push(`| ${md(f.label)} | ${scores.map((s) => share(s.fields[i])).join(' | ')} |`);
  lines.push(`| Cells marked source checked | ${scores.map((s) => String(s.verified)).join(' | ')} |`);
  lines.push(`| Time per document (median) | ${scores.map((s) => (s.msPerDocument === null ? '—' : `${(s.msPerDocument / 1000).toFixed(1)} s`)).join(' | ')} |`);
  return lines;
}

export function evalMarkdown(detail: EvalRunDetail): { fileName: string; mimeType: string; base64: string } {
  const { run } = detail;
  if (run.kind === 'task') {
    const lines = [
      `# Task evaluation: ${md(run.taskName ?? '')} (${md(run.assistantName)})`,
      '',
      `- Run: ${new Date(run.createdAt).toISOString().replace('T', ' ').slice(0, 16)} UTC; status: ${run.status}.`,
      '- Each model ran the task on the documents of a table a person corrected; its cells are compared with the corrected ones (case, spacing and end punctuation aside; "not stated" in both counts as a match).',
      '- Models:',
      ...run.models.map((m) => `  - ${md(m.name)} (SHA-256 ${m.sha256 ?? 'not yet computed'})`),
      '',
      '## Field accuracy',
      '',
      ...taskScoreLines(detail.taskScores ?? []),
      '',
    ];
    return { fileName: `${baseName(detail)}.md`, mimeType: 'text/markdown', base64: Buffer.from(lines.join('\n'), 'utf8').toString('base64') };
  }
  const questions = new Map(detail.questions.map((q) => [q.id, q]));
  const lines = [
    `# Evaluation of ${md(run.assistantName)}`,
    '',
    `- Run: ${new Date(run.createdAt).toISOString().replace('T', ' ').slice(0, 16)} UTC${run.finishedAt ? `, finished ${new Date(run.finishedAt).toISOString().replace('T', ' ').slice(0, 16)} UTC` : ''}; status: ${run.status}.`,
    `- Questions: ${detail.questions.length} (${detail.questions.filter((q) => q.shouldRefuse).length} that the documents do not answer).`,
    `- Adapters: ${run.withAdapters ? "the assistant's adapters applied" : 'none applied'}.`,
    `- Settings: temperature ${detail.settings.temperature ?? '—'}, top-p ${detail.settings.topP ?? '—'}, at most ${detail.settings.maxTokens ?? '—'} tokens per answer, context ${detail.settings.contextSize ?? '—'} tokens.`,
    '- Models:',
    ...run.models.map((m) => `  - ${md(m.name)} (SHA-256 ${m.sha256 ?? 'not yet computed'})`),
    '',
    'Each question was asked through the assistant itself: its instructions, settings, documents and citation check, on this computer, offline.',
    '',
    '## Scoreboard',
    '',
    ...scoreLines(detail.scores),
    '',
    '## Wrong answers given with confidence',
    '',
  ];
  const wrong = detail.answers.filter((a) => a.verdict.confidentWrong);
  if (wrong.length === 0) lines.push('None.');
  for (const a of wrong) {
    const q = questions.get(a.questionId)!;
    lines.push(`- **${md(run.models[a.modelIndex].name)}**, “${md(q.question)}” (expected: ${md(q.shouldRefuse ? 'to say the documents do not answer' : q.expected)}): ${md(a.answer.slice(0, 400))}`);
  }
  lines.push('');
  return { fileName: `${baseName(detail)}.md`, mimeType: 'text/markdown', base64: Buffer.from(lines.join('\n'), 'utf8').toString('base64') };
}
