// Evaluation sets, runs and answers. All evaluation SQL lives here.
import { randomUUID } from 'node:crypto';
import type { Database } from 'better-sqlite3';
import type { EvalModelRef, EvalQuestion, EvalQuestionFields, EvalRunStatus } from '../../contract/types.ts';
import type { AnswerRecord } from '../evals/scoring.ts';

interface QuestionRow {
  id: string;
  assistant_id: string;
  position: number;
  question: string;
  expected: string;
  pages: string;
  should_refuse: number;
}

export interface RunRow {
  id: string;
  kind: 'questions' | 'task';
  referenceTaskRunId: string | null;
  taskName: string | null;
  assistantId: string;
  assistantName: string;
  models: EvalModelRef[];
  withAdapters: boolean;
  questions: EvalQuestion[];
  settings: unknown;
  status: EvalRunStatus;
  error: string | null;
  createdAt: number;
  finishedAt: number | null;
}

const toQuestion = (r: QuestionRow): EvalQuestion => ({
  id: r.id,
  assistantId: r.assistant_id,
  position: r.position,
  question: r.question,
  expected: r.expected,
  pages: JSON.parse(r.pages) as number[],
  shouldRefuse: r.should_refuse === 1,
});

export class EvalStore {
  readonly #db: Database;
  constructor(db: Database) {
    this.#db = db;
  }

  questions(assistantId: string): EvalQuestion[] {
    return (this.#db.prepare('SELECT * FROM eval_questions WHERE assistant_id = ? ORDER BY position, created_at').all(assistantId) as QuestionRow[]).map(toQuestion);
  }

  question(id: string): EvalQuestion | null {
    const row = this.#db.prepare('SELECT * FROM eval_questions WHERE id = ?').get(id) as QuestionRow | undefined;
    return row ? toQuestion(row) : null;
  }

  count(assistantId: string): number {
    return this.#db.prepare('SELECT COUNT(*) FROM eval_questions WHERE assistant_id = ?').pluck().get(assistantId) as number;
  }

  /** Appends questions to the set, in one transaction. */
  addQuestions(assistantId: string, list: EvalQuestionFields[]): EvalQuestion[] {
    const ids: string[] = [];
    this.#db.transaction(() => {
      let position = this.#db.prepare('SELECT COALESCE(MAX(position), -1) + 1 FROM eval_questions WHERE assistant_id = ?').pluck().get(assistantId) as number;
      const insert = this.#db.prepare(
        'INSERT INTO eval_questions (id, assistant_id, position, question, expected, pages, should_refuse, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
      );
      const now = Date.now();
      for (const q of list) {
        const id = randomUUID();
        insert.run(id, assistantId, position++, q.question, q.expected, JSON.stringify(q.pages), q.shouldRefuse ? 1 : 0, now);
        ids.push(id);
      }
    })();
    return ids.map((id) => this.question(id)!);
  }

  updateQuestion(id: string, q: EvalQuestionFields): EvalQuestion | null {
    this.#db
      .prepare('UPDATE eval_questions SET question = ?, expected = ?, pages = ?, should_refuse = ? WHERE id = ?')
      .run(q.question, q.expected, JSON.stringify(q.pages), q.shouldRefuse ? 1 : 0, id);
    return this.question(id);
  }

  deleteQuestion(id: string): boolean {
    return this.#db.prepare('DELETE FROM eval_questions WHERE id = ?').run(id).changes > 0;
  }

  // Runs -----------------------------------------------------------------------------------

  createRun(input: Omit<RunRow, 'id' | 'status' | 'error' | 'createdAt' | 'finishedAt'>): string {
    const id = randomUUID();
    this.#db
      .prepare(
        `INSERT INTO eval_runs (id, kind, reference_task_run_id, task_name, assistant_id, assistant_name, models, with_adapters, questions, settings, status, created_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'running', ?)`,
      )
      .run(
        id, input.kind, input.referenceTaskRunId, input.taskName, input.assistantId, input.assistantName, JSON.stringify(input.models), input.withAdapters ? 1 : 0,
        JSON.stringify(input.questions), JSON.stringify(input.settings), Date.now(),
      );
    return id;
  }

  taskRuns(runId: string): Map<number, string> {
    const rows = this.#db.prepare('SELECT model_index, task_run_id FROM eval_task_runs WHERE run_id = ?').all(runId) as { model_index: number; task_run_id: string }[];
    return new Map(rows.map((r) => [r.model_index, r.task_run_id]));
  }

  setTaskRun(runId: string, modelIndex: number, taskRunId: string): void {
    this.#db.prepare('INSERT OR REPLACE INTO eval_task_runs (run_id, model_index, task_run_id) VALUES (?, ?, ?)').run(runId, modelIndex, taskRunId);
  }

  run(id: string): RunRow | null {
    const r = this.#db.prepare('SELECT * FROM eval_runs WHERE id = ?').get(id) as
      | { id: string; kind: 'questions' | 'task'; reference_task_run_id: string | null; task_name: string | null; assistant_id: string; assistant_name: string; models: string; with_adapters: number; questions: string; settings: string; status: EvalRunStatus; error: string | null; created_at: number; finished_at: number | null }
      | undefined;
    if (!r) return null;
    return {
      id: r.id,
      kind: r.kind,
      referenceTaskRunId: r.reference_task_run_id,
      taskName: r.task_name,
      assistantId: r.assistant_id,
      assistantName: r.assistant_name,
      models: JSON.parse(r.models),
      withAdapters: r.with_adapters === 1,
      questions: JSON.parse(r.questions),
      settings: JSON.parse(r.settings),
      status: r.status,
      error: r.error,
      createdAt: r.created_at,
      finishedAt: r.finished_at,
    };
  }

  runIds(assistantId: string): string[] {
    return this.#db.prepare('SELECT id FROM eval_runs WHERE assistant_id = ? ORDER BY created_at DESC, rowid DESC').pluck().all(assistantId) as string[];
  }

  setStatus(id: string, status: EvalRunStatus, error: string | null = null): void {
    this.#db.prepare('UPDATE eval_runs SET status = ?, error = ?, finished_at = ? WHERE id = ?').run(status, error, status === 'running' ? null : Date.now(), id);
  }

  /** Runs cut off by a crash or a quit (resumable). */
  markRunningInterrupted(): number {
    return this.#db.prepare("UPDATE eval_runs SET status = 'interrupted', finished_at = ? WHERE status = 'running'").run(Date.now()).changes;
  }

  deleteRun(id: string): boolean {
    return this.#db.prepare('DELETE FROM eval_runs WHERE id = ?').run(id).changes > 0;
  }

  // Answers --------------------------------------------------------------------------------

  saveAnswer(runId: string, a: AnswerRecord): void {
    this.#db
      .prepare(
        `INSERT OR REPLACE INTO eval_answers (run_id, model_index, question_id, status, answer, sources, grounding, citation_failures,
           first_token_ms, tokens_per_second, token_count, duration_ms, peak_memory_bytes, error)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(
        runId, a.modelIndex, a.questionId, a.status, a.answer, JSON.stringify(a.sources), a.grounding ? JSON.stringify(a.grounding) : null, a.citationFailures,
        a.firstTokenMs, a.tokensPerSecond, a.tokenCount, a.durationMs, a.peakMemoryBytes, a.error,
      );
  }

  answers(runId: string): AnswerRecord[] {
    const rows = this.#db.prepare('SELECT * FROM eval_answers WHERE run_id = ? ORDER BY model_index').all(runId) as {
      model_index: number; question_id: string; status: 'answered' | 'failed'; answer: string; sources: string; grounding: string | null; citation_failures: number;
      first_token_ms: number | null; tokens_per_second: number | null; token_count: number | null; duration_ms: number | null; peak_memory_bytes: number | null; error: string | null;
    }[];
    return rows.map((r) => ({
      modelIndex: r.model_index,
      questionId: r.question_id,
      status: r.status,
      answer: r.answer,
      sources: JSON.parse(r.sources),
      grounding: r.grounding ? JSON.parse(r.grounding) : null,
      citationFailures: r.citation_failures,
      firstTokenMs: r.first_token_ms,
      tokensPerSecond: r.tokens_per_second,
      tokenCount: r.token_count,
      durationMs: r.duration_ms,
      peakMemoryBytes: r.peak_memory_bytes,
      error: r.error,
    }));
  }

  /** Speeds of a model's recent replies (by its name, as replies record it) and first-words times of its evaluation answers. */
  measures(modelId: string, modelName: string): { tokensPerSecond: number[]; firstTokenMs: number[] } {
    const replies = this.#db
      .prepare("SELECT tokens_per_second FROM messages WHERE role = 'assistant' AND model_name = ? AND tokens_per_second IS NOT NULL ORDER BY created_at DESC LIMIT 100")
      .pluck()
      .all(modelName) as number[];
    const answers = this.#db
      .prepare(
        `SELECT a.first_token_ms AS first, a.tokens_per_second AS speed FROM eval_answers a JOIN eval_runs r ON r.id = a.run_id
         WHERE a.status = 'answered' AND a.token_count IS NOT NULL AND json_extract(r.models, '$[' || a.model_index || '].modelId') = ? ORDER BY r.created_at DESC LIMIT 500`,
      )
      .all(modelId) as { first: number | null; speed: number | null }[];
    return {
      tokensPerSecond: [...replies, ...answers.flatMap((a) => (a.speed === null ? [] : [a.speed]))],
      firstTokenMs: answers.flatMap((a) => (a.first === null ? [] : [a.first])),
    };
  }

  answerCount(runId: string): number {
    return this.#db.prepare('SELECT COUNT(*) FROM eval_answers WHERE run_id = ?').pluck().get(runId) as number;
  }
}
