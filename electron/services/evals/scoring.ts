// How an evaluation's answers are judged, and the scoreboard they add up to. Pure functions of the
// stored answers: the figures can be recomputed at any time and tested on fixed answers.
import type { AnswerGrounding, EvalAnswer, EvalModelRef, EvalQuestion, EvalScore, EvalTaskScore, EvalVerdict, MessageSource, TaskField, TaskRow, TaskRunDetail } from '../../contract/types.ts';

/** What a stored answer holds before it is judged. */
export type AnswerRecord = Omit<EvalAnswer, 'verdict'> & { peakMemoryBytes: number | null };

// A model saying the documents do not answer, in the words small models use.
const REFUSAL = /\b(?:(?:do|does|did) not|doesn['’]t|don['’]t) (?:say|state|mention|contain|specify|provide|include|address|answer)\b|\bnot (?:stated|mentioned|specified|found|provided|addressed)\b|\bno (?:information|mention)\b|\b(?:cannot|can['’]t|could not|couldn['’]t) (?:find|answer|determine)\b|\bunable to (?:find|answer|determine)\b/i;

/** The words (or /pattern/) a right answer must hold, as the set's author wrote them. */
export function expectationOf(expected: string): ((answer: string) => boolean) | null {
  const text = expected.trim();
  if (!text) return null;
  const pattern = /^\/(.+)\/([imsu]*)$/s.exec(text);
  if (pattern) {
    try {
      const re = new RegExp(pattern[1], pattern[2].includes('i') ? pattern[2] : `${pattern[2]}i`);
      return (answer) => re.test(answer);
    } catch {
      // Not a valid pattern: its text is taken as words.
    }
  }
  const words = text
    .split(';')
    .map((w) => w.trim().toLowerCase().replace(/\s+/g, ' '))
    .filter(Boolean);
  if (words.length === 0) return null;
  return (answer) => {
    const hay = answer.toLowerCase().replace(/\s+/g, ' ');
    return words.every((w) => hay.includes(w));
  };
}

/**
 * True when the answer says the documents do not answer: Enclave's own "nothing found" (the model
 * was not asked: no tokens), or the model's sentences all marked as saying so.
 */
export function isRefusal(answer: string, grounding: AnswerGrounding | null, sources: MessageSource[], tokenCount: number | null): boolean {
  if (tokenCount === null && grounding === null && sources.length === 0) return true;
  if (grounding && grounding.sentences.length > 0) return grounding.sentences.every((s) => s.support === 'refusal');
  // No grounding: Enclave answered without the model (nothing relevant found), or a plain reply.
  return sources.length === 0 && REFUSAL.test(answer);
}

export function verdictOf(question: EvalQuestion, answer: Pick<EvalAnswer, 'status' | 'answer' | 'sources' | 'grounding' | 'citationFailures' | 'tokenCount'>): EvalVerdict {
  const failed = answer.status === 'failed';
  const refused = !failed && isRefusal(answer.answer, answer.grounding, answer.sources, answer.tokenCount);
  const expect = expectationOf(question.expected);
  const expected = expect ? !failed && expect(answer.answer) : null;
  const citationsVerified = !failed && answer.sources.length > 0 && answer.citationFailures === 0;
  const onExpectedPage = question.pages.length ? !failed && answer.sources.some((s) => question.pages.includes(s.pageNumber)) : null;
  const marksUnsupported = answer.grounding?.sentences.some((s) => s.support === 'unsupported') ?? false;
  return {
    expected,
    citationsVerified,
    onExpectedPage,
    refused,
    correctRefusal: question.shouldRefuse ? refused : null,
    confidentWrong: !failed && !refused && !marksUnsupported && (expected === false || (question.shouldRefuse && !refused)),
  };
}

export function median(xs: number[]): number | null {
  if (xs.length === 0) return null;
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

/** The scoreboard: one column per model, counts out of the answers that could be checked. */
export function scoreboard(models: EvalModelRef[], questions: EvalQuestion[], answers: AnswerRecord[]): { scores: EvalScore[]; answers: EvalAnswer[] } {
  const byId = new Map(questions.map((q) => [q.id, q]));
  const judged: (EvalAnswer & { peakMemoryBytes: number | null })[] = answers.flatMap((a) => {
    const q = byId.get(a.questionId);
    return q ? [{ ...a, verdict: verdictOf(q, a) }] : [];
  });
  const scores = models.map((model, modelIndex): EvalScore => {
    const mine = judged.filter((a) => a.modelIndex === modelIndex);
    const ok = mine.filter((a) => a.status === 'answered');
    const answerable = mine.filter((a) => !byId.get(a.questionId)!.shouldRefuse);
    const count = (pick: (v: EvalVerdict) => boolean | null) => {
      const checked = mine.map((a) => pick(a.verdict)).filter((v) => v !== null);
      return { met: checked.filter(Boolean).length, of: checked.length };
    };
    const peaks = mine.map((a) => a.peakMemoryBytes).filter((v): v is number => v !== null);
    return {
      modelIndex,
      model,
      answered: ok.length,
      failed: mine.length - ok.length,
      expected: count((v) => v.expected),
      // Out of the questions the documents answer (a refusal cites nothing, rightly).
      citationsVerified: { met: answerable.filter((a) => a.verdict.citationsVerified).length, of: answerable.length },
      onExpectedPage: count((v) => v.onExpectedPage),
      correctRefusals: count((v) => v.correctRefusal),
      wrongRefusals: mine.filter((a) => a.verdict.refused && !byId.get(a.questionId)!.shouldRefuse).length,
      confidentWrong: mine.filter((a) => a.verdict.confidentWrong).length,
      tokensPerSecond: median(ok.map((a) => a.tokensPerSecond).filter((v): v is number => v !== null)),
      // Of the model's own answers: Enclave's "nothing found" is written without it.
      firstTokenMs: median(ok.filter((a) => a.tokenCount !== null).map((a) => a.firstTokenMs).filter((v): v is number => v !== null)),
      peakMemoryBytes: peaks.length ? Math.max(...peaks) : null,
    };
  });
  return { scores, answers: judged.map(({ peakMemoryBytes: _peak, ...a }) => a) };
}

// Task evaluations ------------------------------------------------------------------------

/** A cell's value as compared: case, spacing, quotes and end punctuation do not count. */
export function normalizeValue(value: string | null): string | null {
  if (value === null) return null;
  const v = value.normalize('NFKC').toLowerCase().replace(/\s+/g, ' ').trim().replace(/^["'“”‘’(\[]+|["'“”‘’)\].,;:]+$/g, '').trim();
  return v === '' ? null : v;
}

/** One cell of a model's table beside the corrected table's. */
export interface CellComparison {
  documentTitle: string;
  fieldKey: string;
  fieldLabel: string;
  /** The corrected table's value: the person's correction, else what they left standing. */
  reference: string | null;
  value: string | null;
  match: boolean;
  /** The model's cell was marked "source checked". */
  checked: boolean;
}

/** Every cell of the corrected table's read documents, beside the model's table (null: it made none). */
export function compareTables(fields: TaskField[], reference: TaskRunDetail, table: TaskRunDetail | null): CellComparison[] {
  const rows = new Map((table?.rows ?? []).map((r) => [r.documentId, r]));
  const cellOf = (row: TaskRow | undefined, key: string) => row?.cells.find((c) => c.item === 0 && c.fieldKey === key);
  return reference.rows
    .filter((ref) => ref.status === 'done')
    .flatMap((ref) => {
      const mine = rows.get(ref.documentId);
      const done = mine?.status === 'done';
      return fields.map((f) => {
        const refCell = cellOf(ref, f.key);
        const cell = done ? cellOf(mine, f.key) : undefined;
        const expected = refCell ? (refCell.edited?.value ?? refCell.value) : null;
        const value = cell?.value ?? null;
        return {
          documentTitle: ref.documentTitle, fieldKey: f.key, fieldLabel: f.label, reference: expected, value,
          match: done && normalizeValue(value) === normalizeValue(expected), checked: cell?.status === 'verified',
        };
      });
    });
}

export function taskScore(modelIndex: number, model: EvalModelRef, fields: TaskField[], reference: TaskRunDetail, table: TaskRunDetail | null): EvalTaskScore {
  const cells = compareTables(fields, reference, table);
  const perField = fields.map((f) => {
    const mine = cells.filter((c) => c.fieldKey === f.key);
    return { key: f.key, label: f.label, met: mine.filter((c) => c.match).length, of: mine.length };
  });
  const times = (table?.rows ?? []).flatMap((r) => (r.status === 'done' && r.durationMs !== null ? [r.durationMs] : []));
  return {
    modelIndex,
    model,
    taskRunId: table?.run.id ?? null,
    status: table?.run.status ?? null,
    accuracy: { met: cells.filter((c) => c.match).length, of: cells.length },
    fields: perField,
    verified: cells.filter((c) => c.checked).length,
    msPerDocument: median(times),
  };
}
