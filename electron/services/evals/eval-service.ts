// Comparing models on an assistant's own questions. Each question is asked the way a person asks
// it: in a conversation with the assistant (hidden from the list), through the chat's real answer
// path (the assistant's instructions, settings, collections, retrieval and citation check), with
// the model under test loaded in place of the assistant's own. Models are loaded one at a time;
// each answer is saved whole as it comes, so a run stopped by a crash or a quit resumes at the
// first question not answered. While a run goes on, the chat and tasks wait (they would otherwise
// be answered by the model under test).
import type { AnswerGrounding, EvalModelRef, EvalQuestion, EvalQuestionFields, EvalRun, EvalRunDetail, EvalRunStatus, EvalTaskScore, Message, MessageSource, ModelMeasure, Settings, TaskRun, TaskRunDetail, TaskScope } from '../../contract/types.ts';
import { UserFacingError } from '../../contract/errors.ts';
import type { ReplyOverride } from '../chat/chat-service.ts';
import type { EvalStore, RunRow } from '../store/eval-store.ts';
import { parseQuestionsCsv } from './questions-csv.ts';
import { compareTables, median, scoreboard, taskScore, type AnswerRecord, type CellComparison } from './scoring.ts';

/** A cell of a task evaluation, with the model that wrote it. */
export type TaskCellComparison = CellComparison & { model: string };

/** At most this many questions in one assistant's set. */
export const MAX_QUESTIONS = 2000;
const BUSY_RETRY_MS = 500;

export interface EvalDeps {
  store: EvalStore;
  assistant: (id: string) => { id: string; name: string } | null;
  models: {
    get: (id: string) => { id: string; name: string; sha256: string | null; path: string } | null;
    activate: (id: string) => Promise<unknown>;
    loadedModelId: () => string | null;
  };
  /** A hidden conversation with the assistant (its collections chosen), and its removal. */
  conversations: {
    start: (assistantId: string) => { id: string };
    messages: (conversationId: string) => Message[];
    remove: (conversationId: string) => Promise<unknown>;
  };
  chat: {
    send: (conversationId: string, text: string, override: ReplyOverride) => unknown;
    stop: (conversationId: string) => unknown;
    idle: () => Promise<void>;
  };
  /** Tasks, for task evaluations: a run started or resumed for the evaluation passes the hold. */
  tasks: {
    get: (runId: string) => TaskRunDetail;
    /** A run without its table (its status). */
    run: (runId: string) => TaskRun;
    start: (input: { packId: string; key: string; scope: TaskScope }) => TaskRun;
    resume: (runId: string) => TaskRun;
    cancel: (runId: string) => unknown;
    finished: (runId: string) => Promise<TaskRun>;
  };
  /** Calls back on the first words of a reply in the conversation; returns its unsubscribe. */
  onFirstWords: (conversationId: string, callback: () => void) => () => void;
  /** Why a run cannot start now (a task is running), or null. */
  blocked: () => string | null;
  /** The generation settings the assistant's replies use (the app's, with the assistant's over them). */
  settings: (assistantId: string) => Settings;
  onChange: (run: EvalRun) => void;
  /** The process's resident memory, sampled while a model answers. */
  memory?: () => number;
}

interface Active {
  runId: string;
  /** The task run in progress (task evaluations). */
  taskRunId: string | null;
  cancelled: boolean;
  /** The app is quitting: the run stops as interrupted (resumable), not cancelled. */
  quitting: boolean;
  conversationId: string | null;
  since: number;
  done: number;
  current: string | null;
}

export class EvalService {
  readonly #deps: EvalDeps;
  #active: Active | null = null;
  #driving: Promise<void> = Promise.resolve();

  constructor(deps: EvalDeps) {
    this.#deps = deps;
    const interrupted = deps.store.markRunningInterrupted();
    if (interrupted > 0) console.warn(`[evals] ${interrupted} evaluation run(s) were cut off when Enclave last stopped; they can be resumed.`);
  }

  /** Why the chat cannot answer now, or null (an evaluation holds the model). */
  get holdsModel(): string | null {
    if (!this.#active) return null;
    return `An evaluation is running (${this.#active.current ?? 'starting'}). Wait for it, or cancel it under Evaluate.`;
  }

  /** Resolves when the run in progress (if any) has stopped. */
  get settled(): Promise<void> {
    return this.#driving;
  }

  // The set -------------------------------------------------------------------------------

  #requireAssistant(id: string) {
    const a = this.#deps.assistant(id);
    if (!a) throw new UserFacingError('assistant/not-found', 'That assistant no longer exists.');
    return a;
  }

  questions(assistantId: string): EvalQuestion[] {
    this.#requireAssistant(assistantId);
    return this.#deps.store.questions(assistantId);
  }

  add(assistantId: string, fields: EvalQuestionFields): EvalQuestion {
    this.#requireAssistant(assistantId);
    if (this.#deps.store.count(assistantId) >= MAX_QUESTIONS) throw new UserFacingError('eval/bad-csv', `An evaluation set holds at most ${MAX_QUESTIONS.toLocaleString('en')} questions.`);
    return this.#deps.store.addQuestions(assistantId, [fields])[0];
  }

  update(questionId: string, fields: EvalQuestionFields): EvalQuestion {
    const updated = this.#deps.store.updateQuestion(questionId, fields);
    if (!updated) throw new UserFacingError('eval/not-found', 'That question no longer exists.');
    return updated;
  }

  remove(questionId: string): { deleted: true } {
    if (!this.#deps.store.deleteQuestion(questionId)) throw new UserFacingError('eval/not-found', 'That question no longer exists.');
    return { deleted: true };
  }

  importCsv(assistantId: string, text: string): { added: number; questions: EvalQuestion[] } {
    this.#requireAssistant(assistantId);
    const room = MAX_QUESTIONS - this.#deps.store.count(assistantId);
    const parsed = parseQuestionsCsv(text, room);
    const added = this.#deps.store.addQuestions(assistantId, parsed);
    return { added: added.length, questions: this.#deps.store.questions(assistantId) };
  }

  // Runs ----------------------------------------------------------------------------------

  #checkCanStart(): void {
    if (this.#active) throw new UserFacingError('eval/busy', 'An evaluation is already running. Wait for it, or cancel it first.');
    const blocked = this.#deps.blocked();
    if (blocked) throw new UserFacingError('eval/busy', blocked);
  }

  #modelRefs(modelIds: string[]): EvalModelRef[] {
    const models: EvalModelRef[] = [];
    for (const modelId of modelIds) {
      const m = this.#deps.models.get(modelId);
      if (!m) throw new UserFacingError('eval/bad-models', 'One of the chosen models is no longer in the library.');
      const same = models.find((x) => x.modelId === m.id || (x.sha256 && x.sha256 === m.sha256));
      if (same) throw new UserFacingError('eval/bad-models', `“${m.name}” and “${same.name}” are the same model file: choose different models to compare.`);
      models.push({ modelId: m.id, name: m.name, sha256: m.sha256 });
    }
    return models;
  }

  start(input: { assistantId: string; modelIds: string[]; withAdapters: boolean }): EvalRun {
    const assistant = this.#requireAssistant(input.assistantId);
    this.#checkCanStart();
    const questions = this.#deps.store.questions(assistant.id);
    if (questions.length === 0) throw new UserFacingError('eval/no-questions', 'Add questions to the evaluation set first.');
    const models = this.#modelRefs(input.modelIds);
    const id = this.#deps.store.createRun({
      kind: 'questions', referenceTaskRunId: null, taskName: null,
      assistantId: assistant.id, assistantName: assistant.name, models, withAdapters: input.withAdapters, questions, settings: this.#deps.settings(assistant.id),
    });
    this.#drive(id);
    return this.#view(this.#deps.store.run(id)!);
  }

  /**
   * Runs a task again with each model on the documents of a table a person corrected, and scores
   * each model's table against it, cell by cell.
   */
  startTask(input: { assistantId: string; referenceRunId: string; modelIds: string[] }): EvalRun {
    const assistant = this.#requireAssistant(input.assistantId);
    this.#checkCanStart();
    let reference: TaskRunDetail;
    try {
      reference = this.#deps.tasks.get(input.referenceRunId);
    } catch {
      throw new UserFacingError('eval/not-found', 'That task run no longer exists.');
    }
    if (reference.run.output !== 'record') throw new UserFacingError('eval/bad-models', 'Only a table with one value per field (a record task) can be scored cell by cell.');
    if (reference.run.status !== 'complete') throw new UserFacingError('eval/not-resumable', 'Finish that task run first: its table is what the models are scored against.');
    if (!reference.rows.some((r) => r.status === 'done')) throw new UserFacingError('eval/no-questions', 'That task run has no document read: there is nothing to score against.');
    const models = this.#modelRefs(input.modelIds);
    const id = this.#deps.store.createRun({
      kind: 'task', referenceTaskRunId: reference.run.id, taskName: reference.run.taskName,
      assistantId: assistant.id, assistantName: assistant.name, models, withAdapters: false, questions: [], settings: this.#deps.settings(assistant.id),
    });
    this.#drive(id);
    return this.#view(this.#deps.store.run(id)!);
  }

  resume(runId: string): EvalRun {
    const run = this.#require(runId);
    if (run.status === 'running' || run.status === 'complete') throw new UserFacingError('eval/not-resumable', run.status === 'running' ? 'This evaluation is running.' : 'This evaluation is complete.');
    this.#checkCanStart();
    this.#deps.store.setStatus(runId, 'running');
    this.#drive(runId);
    return this.#view(this.#deps.store.run(runId)!);
  }

  cancel(runId: string): { cancelled: boolean } {
    const active = this.#active;
    if (!active || active.runId !== runId) return { cancelled: false };
    active.cancelled = true;
    if (active.conversationId) this.#deps.chat.stop(active.conversationId);
    if (active.taskRunId) this.#deps.tasks.cancel(active.taskRunId);
    return { cancelled: true };
  }

  /** Stops the run in progress as interrupted (the app quits); it can be resumed after. */
  async shutdown(): Promise<void> {
    const active = this.#active;
    if (active) {
      active.quitting = true;
      active.cancelled = true;
      if (active.conversationId) this.#deps.chat.stop(active.conversationId);
      if (active.taskRunId) this.#deps.tasks.cancel(active.taskRunId);
    }
    await this.#driving;
  }

  async delete(runId: string): Promise<{ deleted: true }> {
    this.#require(runId);
    if (this.#active?.runId === runId) {
      this.cancel(runId);
      await this.#driving;
    }
    this.#deps.store.deleteRun(runId);
    return { deleted: true };
  }

  /** Each model's measured speed on this computer, from its replies and its evaluation answers. */
  measured(models: { id: string; name: string }[]): Record<string, ModelMeasure> {
    const out: Record<string, ModelMeasure> = {};
    for (const m of models) {
      const { tokensPerSecond, firstTokenMs } = this.#deps.store.measures(m.id, m.name);
      out[m.id] = { tokensPerSecond: median(tokensPerSecond), replies: tokensPerSecond.length, firstTokenMs: median(firstTokenMs), evaluated: firstTokenMs.length };
    }
    return out;
  }

  runs(assistantId: string): EvalRun[] {
    return this.#deps.store.runIds(assistantId).map((id) => this.#view(this.#deps.store.run(id)!));
  }

  get(runId: string): EvalRunDetail {
    const run = this.#require(runId);
    const { scores, answers } = scoreboard(run.models, run.questions, this.#deps.store.answers(runId));
    const taskScores = run.kind === 'task' ? this.#taskScores(run) : null;
    const used = run.settings as Partial<Settings>;
    const settings = { temperature: used.temperature ?? null, topP: used.topP ?? null, maxTokens: used.maxTokens ?? null, contextSize: used.contextSize ?? null };
    return { run: this.#view(run), questions: run.questions, scores, answers, taskScores, settings };
  }

  /** A task evaluation cell by cell: what each model wrote beside what the corrected table says. */
  taskCells(runId: string): TaskCellComparison[] {
    const run = this.#require(runId);
    const tables = run.kind === 'task' ? this.#tables(run) : null;
    if (!tables) return [];
    return run.models.flatMap((model, i) =>
      compareTables(tables.reference.run.fields, tables.reference, tables.made[i]).map((c) => ({ ...c, model: model.name })),
    );
  }

  #taskScores(run: RunRow): EvalTaskScore[] {
    const tables = this.#tables(run);
    return tables ? run.models.map((model, i) => taskScore(i, model, tables.reference.run.fields, tables.reference, tables.made[i])) : [];
  }

  /** The corrected table a task evaluation scores against, and each model's table (null: none, or deleted in Tasks). */
  #tables(run: RunRow): { reference: TaskRunDetail; made: (TaskRunDetail | null)[] } | null {
    const table = (taskRunId: string | undefined) => {
      try {
        return taskRunId ? this.#deps.tasks.get(taskRunId) : null;
      } catch {
        return null;
      }
    };
    const reference = table(run.referenceTaskRunId ?? undefined);
    if (!reference) return null;
    const made = this.#deps.store.taskRuns(run.id);
    return { reference, made: run.models.map((_, i) => table(made.get(i))) };
  }

  #require(runId: string): RunRow {
    const run = this.#deps.store.run(runId);
    if (!run) throw new UserFacingError('eval/not-found', 'That evaluation no longer exists.');
    return run;
  }

  #view(run: RunRow): EvalRun {
    const total = run.kind === 'task' ? run.models.length : run.models.length * run.questions.length;
    const answered = run.kind === 'task' ? this.#finishedTables(run) : this.#deps.store.answerCount(run.id);
    const active = this.#active?.runId === run.id ? this.#active : null;
    const eta = active && active.done > 0 && run.status === 'running' ? Math.round(((performance.now() - active.since) / active.done) * (total - answered)) : null;
    return {
      id: run.id,
      kind: run.kind,
      taskName: run.taskName,
      referenceTaskRunId: run.referenceTaskRunId,
      assistantId: run.assistantId,
      assistantName: run.assistantName,
      models: run.models,
      withAdapters: run.withAdapters,
      status: run.status,
      total,
      answered,
      etaMs: eta,
      current: active?.current ?? null,
      error: run.error,
      createdAt: run.createdAt,
      finishedAt: run.finishedAt,
    };
  }

  /** Models whose table for the task is complete. */
  #finishedTables(run: RunRow): number {
    let n = 0;
    for (const taskRunId of this.#deps.store.taskRuns(run.id).values()) {
      try {
        if (this.#deps.tasks.run(taskRunId).status === 'complete') n++;
      } catch {
        // The task run was deleted in Tasks: that model's table is gone.
      }
    }
    return n;
  }

  #emit(runId: string): void {
    const run = this.#deps.store.run(runId);
    if (run) this.#deps.onChange(this.#view(run));
  }

  #drive(runId: string): void {
    const active: Active = { runId, taskRunId: null, cancelled: false, quitting: false, conversationId: null, since: performance.now(), done: 0, current: null };
    this.#active = active;
    const previous = this.#deps.models.loadedModelId();
    this.#driving = (async () => {
      let status: EvalRunStatus = 'failed';
      let error: string | null = null;
      try {
        status = await this.#go(active);
      } catch (e) {
        console.error('[evals] the run failed', e);
        error = (e as Error).message;
      }
      // The model the person had loaded comes back before the run says it has ended (and the chat is free again).
      if (!active.quitting && previous && this.#deps.models.loadedModelId() !== previous && this.#deps.models.get(previous)) {
        active.current = 'loading the model in use before';
        this.#emit(runId);
        await this.#reload(previous);
      }
      this.#deps.store.setStatus(runId, status, error);
      this.#active = null;
      this.#emit(runId);
    })();
    this.#emit(runId);
  }

  /** Loads a model, waiting for a reply being stopped to let go of the engine. */
  async #reload(modelId: string): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      try {
        await this.#deps.models.activate(modelId);
        return;
      } catch (e) {
        if (attempt < 50 && e instanceof UserFacingError && e.code === 'chat/busy') await new Promise((r) => setTimeout(r, 100));
        else return console.warn('[evals] could not load the model in use before the run', e);
      }
    }
  }

  async #go(active: Active): Promise<'complete' | 'cancelled' | 'interrupted'> {
    const stopped = this.#deps.store.run(active.runId)!.kind === 'task' ? await this.#walkTask(active) : await this.#walk(active);
    return active.quitting ? 'interrupted' : stopped;
  }

  async #walk(active: Active): Promise<'complete' | 'cancelled'> {
    const run = this.#deps.store.run(active.runId)!;
    const done = new Set(this.#deps.store.answers(run.id).map((a) => `${a.modelIndex}|${a.questionId}`));
    for (const [modelIndex, model] of run.models.entries()) {
      const waiting = run.questions.filter((q) => !done.has(`${modelIndex}|${q.id}`));
      if (waiting.length === 0) continue;
      if (active.cancelled) return 'cancelled';
      const loadError = await this.#load(model, active);
      for (const question of waiting) {
        if (active.cancelled) return 'cancelled';
        active.current = `${model.name} · question ${run.questions.indexOf(question) + 1} of ${run.questions.length}`;
        this.#emit(run.id);
        const record = loadError ? this.#failed(modelIndex, question, loadError) : await this.#ask(active, run, modelIndex, question);
        // A reply stopped by Cancel is not an answer: the question is asked again on Resume.
        if (active.cancelled && record.status === 'failed') return 'cancelled';
        this.#deps.store.saveAnswer(run.id, record);
        active.done++;
      }
    }
    return active.cancelled ? 'cancelled' : 'complete';
  }

  /** Each model makes the task's table on the reference's documents, one after another. */
  async #walkTask(active: Active): Promise<'complete' | 'cancelled'> {
    const run = this.#deps.store.run(active.runId)!;
    const reference = this.#deps.tasks.get(run.referenceTaskRunId!);
    const made = this.#deps.store.taskRuns(run.id);
    for (const [modelIndex, model] of run.models.entries()) {
      if (active.cancelled) return 'cancelled';
      const existing = made.get(modelIndex);
      let status: TaskRun['status'] | null = null;
      try {
        status = existing ? this.#deps.tasks.run(existing).status : null;
      } catch {
        status = null;
      }
      if (status === 'complete') continue;
      const loadError = await this.#load(model, active);
      if (loadError) throw new Error(loadError);
      active.current = `${model.name} · ${reference.run.taskName}`;
      this.#emit(run.id);
      // A table left unfinished (cancelled, cut off) goes on; otherwise the task runs anew on the same documents.
      const taskRun =
        existing && status !== null
          ? this.#deps.tasks.resume(existing)
          : this.#deps.tasks.start({ packId: reference.run.packId, key: reference.run.taskKey, scope: { documentIds: reference.rows.map((r) => r.documentId) } });
      this.#deps.store.setTaskRun(run.id, modelIndex, taskRun.id);
      active.taskRunId = taskRun.id;
      const ended = await this.#deps.tasks.finished(taskRun.id);
      active.taskRunId = null;
      if (ended.status !== 'complete') return active.cancelled ? 'cancelled' : Promise.reject(new Error(ended.error ?? `The task stopped (${ended.status}).`));
      active.done++;
      this.#emit(run.id);
    }
    return 'complete';
  }

  /** Loads the model to test; the reason it cannot be used, or null. */
  async #load(model: EvalModelRef, active: Active): Promise<string | null> {
    const m = this.#deps.models.get(model.modelId);
    if (!m) return `“${model.name}” was removed from the library.`;
    for (;;) {
      try {
        if (this.#deps.models.loadedModelId() !== m.id) await this.#deps.models.activate(m.id);
        return this.#deps.models.loadedModelId() === m.id ? null : `“${model.name}” could not be loaded.`;
      } catch (e) {
        // A reply or summary that started before the run finishes first.
        if (e instanceof UserFacingError && e.code === 'chat/busy' && !active.cancelled) {
          await new Promise((r) => setTimeout(r, BUSY_RETRY_MS));
          continue;
        }
        return `“${model.name}” could not be loaded: ${(e as Error).message}`;
      }
    }
  }

  #failed(modelIndex: number, question: EvalQuestion, error: string): AnswerRecord {
    return {
      modelIndex, questionId: question.id, status: 'failed', answer: '', sources: [], grounding: null, citationFailures: 0,
      firstTokenMs: null, tokensPerSecond: null, tokenCount: null, durationMs: null, peakMemoryBytes: null, error,
    };
  }

  async #ask(active: Active, run: RunRow, modelIndex: number, question: EvalQuestion): Promise<AnswerRecord> {
    const model = run.models[modelIndex];
    const memory = this.#deps.memory ?? (() => process.memoryUsage().rss);
    const conversation = this.#deps.conversations.start(run.assistantId);
    active.conversationId = conversation.id;
    let peak = memory();
    const sampler = setInterval(() => (peak = Math.max(peak, memory())), 100);
    let sentAt = 0;
    let firstTokenMs: number | null = null;
    const off = this.#deps.onFirstWords(conversation.id, () => {
      firstTokenMs ??= performance.now() - sentAt;
    });
    try {
      // A person's reply in progress (or a summary) goes first.
      for (;;) {
        if (active.cancelled) return this.#failed(modelIndex, question, 'Cancelled.');
        try {
          sentAt = performance.now();
          this.#deps.chat.send(conversation.id, question.question, { modelId: model.modelId, withAdapters: run.withAdapters });
          break;
        } catch (e) {
          if (!(e instanceof UserFacingError) || e.code !== 'chat/busy') return this.#failed(modelIndex, question, (e as Error).message);
          await new Promise((r) => setTimeout(r, BUSY_RETRY_MS));
        }
      }
      await this.#deps.chat.idle();
      peak = Math.max(peak, memory());
      const reply = this.#deps.conversations.messages(conversation.id).filter((m) => m.role === 'assistant').at(-1);
      if (!reply) return this.#failed(modelIndex, question, 'No reply was saved.');
      if (reply.status === 'error' || reply.status === 'stopped' || reply.status === 'interrupted') {
        return { ...this.#failed(modelIndex, question, reply.error ?? (reply.status === 'stopped' ? 'Cancelled.' : 'The reply did not finish.')), answer: reply.content };
      }
      return {
        modelIndex,
        questionId: question.id,
        status: 'answered',
        answer: reply.content,
        sources: reply.sources as MessageSource[],
        grounding: reply.grounding as AnswerGrounding | null,
        citationFailures: reply.citationFailures,
        firstTokenMs,
        tokensPerSecond: reply.tokensPerSecond,
        tokenCount: reply.tokenCount,
        durationMs: reply.durationMs,
        peakMemoryBytes: peak,
        error: null,
      };
    } finally {
      clearInterval(sampler);
      off();
      active.conversationId = null;
      await this.#deps.conversations.remove(conversation.id).catch(() => undefined);
    }
  }
}
