// Tasks: the application service. Runs a pack's task over documents, one row per document, with
// progress and time left; one run at a time, cancellable within a generation step; a run cut off
// by a crash is marked interrupted at start and resumes at the first row not done. Results and
// corrections live in SQLite (TaskStore). Knows no transport.
import { userInfo } from 'node:os';
import { UserFacingError } from '../../contract/errors.ts';
import type { TaskCell, TaskDefinition, TaskRun, TaskRunDetail, TaskScope } from '../../contract/types.ts';
import type { AssistantPack } from '../assistants/packs.ts';
import type { DocumentStore } from '../store/document-store.ts';
import type { RetrievalStore } from '../store/retrieval-store.ts';
import type { TaskStore } from '../store/task-store.ts';
import { DocumentExtractor, PROSE_FIELD, type ExtractionEngine } from './extractor.ts';
import { exportTable, type ExportedFile } from './table-export.ts';

export const MAX_DOCUMENTS_PER_RUN = 2000;

export interface TaskEngine extends ExtractionEngine {
  readonly status: { state: string };
}

interface Active {
  runId: string;
  controller: AbortController;
  finished: Promise<void>;
  current: string | null;
}

export function taskDefinitions(packs: AssistantPack[]): TaskDefinition[] {
  return packs.flatMap((p) =>
    p.tasks.map((t) => ({
      packId: p.id,
      packName: p.name,
      domain: p.domain,
      key: t.key,
      name: t.name,
      description: t.description,
      output: t.output,
      instructions: t.instructions,
      fields: t.output === 'prose' ? [PROSE_FIELD] : t.fields,
      itemHints: t.itemHints,
    })),
  );
}

export class TaskService {
  readonly #blocked: () => string | null;
  readonly #store: TaskStore;
  readonly #documents: DocumentStore;
  readonly #retrieval: RetrievalStore;
  readonly #engine: TaskEngine;
  readonly #definitions: TaskDefinition[];
  readonly #onChange: (run: TaskRun) => void;
  readonly #user: () => string;
  #active: Active | null = null;
  /** A run cut off when Enclave last stopped: it goes on by itself once a model is ready. */
  #toResume: string | null = null;

  constructor(deps: {
    store: TaskStore;
    documents: DocumentStore;
    retrieval: RetrievalStore;
    engine: TaskEngine;
    packs: AssistantPack[];
    onChange?: (run: TaskRun) => void;
    /** Who corrects a cell (the signed-in account of this computer). */
    user?: () => string;
    /** Why a run cannot start now (an evaluation holds the model), or null. */
    blocked?: () => string | null;
  }) {
    this.#blocked = deps.blocked ?? (() => null);
    this.#store = deps.store;
    this.#documents = deps.documents;
    this.#retrieval = deps.retrieval;
    this.#engine = deps.engine;
    this.#definitions = taskDefinitions(deps.packs);
    this.#onChange = deps.onChange ?? (() => {});
    this.#user = deps.user ?? (() => userInfo().username);
    const interrupted = this.#store.markRunningInterrupted();
    if (interrupted.length > 0) {
      console.warn(`[tasks] ${interrupted.length} task run(s) were cut off when Enclave last stopped; the latest goes on when a model is ready.`);
      this.#toResume = interrupted[interrupted.length - 1];
    }
  }

  /**
   * Told of every engine state: the run a crash or a quit cut off goes on by itself as soon as
   * a model is ready (the others stay interrupted, for the user to resume).
   */
  engineChanged(state: string): void {
    if (state !== 'ready' || !this.#toResume || this.#active || this.#blocked()) return;
    const runId = this.#toResume;
    this.#toResume = null;
    const run = this.#store.getRun(runId);
    if (run?.status !== 'interrupted') return;
    try {
      this.resume(runId);
      console.warn(`[tasks] “${run.taskName}” (${run.scopeLabel}) goes on where it stopped.`);
    } catch (e) {
      console.warn(`[tasks] the interrupted run could not go on: ${(e as Error).message}`);
    }
  }

  definitions(): TaskDefinition[] {
    return this.#definitions;
  }

  /** Resolves when the active run (if any) has stopped. */
  get idle(): Promise<void> {
    return this.#active?.finished ?? Promise.resolve();
  }

  runs(): TaskRun[] {
    return this.#store.listRuns().map((r) => this.#live(r));
  }

  get(runId: string): TaskRunDetail {
    return { run: this.run(runId), rows: this.#store.rows(runId) };
  }

  /** A run without its table. */
  run(runId: string): TaskRun {
    const run = this.#store.getRun(runId);
    if (!run) throw new UserFacingError('task/not-found', 'That task run no longer exists.');
    return this.#live(run);
  }

  /** `forEvaluation`: started by the evaluation that holds the model (it passes the hold). */
  start(input: { packId: string; key: string; scope: TaskScope }, forEvaluation = false): TaskRun {
    const task = this.#definitions.find((t) => t.packId === input.packId && t.key === input.key);
    if (!task) throw new UserFacingError('task/not-found', 'That task is not available.');
    this.#checkCanRun(forEvaluation);
    const { documents, label } = this.#resolveScope(input.scope);
    const run = this.#store.createRun(task, label, documents);
    this.#drive(run.id);
    return this.#live(this.#store.getRun(run.id)!);
  }

  /**
   * Goes on with an interrupted or cancelled run, and tries its failed documents again (one since
   * unlocked, or read): rows already done are kept, not read again.
   */
  resume(runId: string, forEvaluation = false): TaskRun {
    const run = this.#store.getRun(runId);
    if (!run) throw new UserFacingError('task/not-found', 'That task run no longer exists.');
    if (run.status === 'running') throw new UserFacingError('task/not-resumable', 'That task is already running.');
    if (run.finished - run.failed === run.total) throw new UserFacingError('task/not-resumable', 'Every document of that run has been read.');
    this.#checkCanRun(forEvaluation);
    this.#store.requeueNotDone(runId);
    this.#store.setStatus(runId, 'running');
    this.#drive(runId);
    return this.#live(this.#store.getRun(runId)!);
  }

  cancel(runId: string): { cancelled: boolean } {
    if (this.#active?.runId !== runId) return { cancelled: false };
    this.#active.controller.abort();
    return { cancelled: true };
  }

  async delete(runId: string): Promise<{ deleted: true }> {
    if (this.cancel(runId).cancelled) await this.idle;
    if (!this.#store.deleteRun(runId)) throw new UserFacingError('task/not-found', 'That task run no longer exists.');
    return { deleted: true };
  }

  /** A person's correction of a cell, kept beside the model's value with who made it and when. */
  editCell(cellId: string, value: string): TaskCell {
    const cell = this.#store.cell(cellId);
    if (!cell) throw new UserFacingError('task/cell-not-found', 'That cell no longer exists.');
    const trimmed = value.trim();
    this.#store.editCell(cellId, trimmed === '' || trimmed === (cell.value ?? '') ? null : trimmed, this.#user());
    const { runId: _runId, ...updated } = this.#store.cell(cellId)!;
    void _runId;
    return updated;
  }

  async export(runId: string, format: 'csv' | 'xlsx'): Promise<ExportedFile> {
    const detail = this.get(runId);
    return exportTable(detail, format);
  }

  async shutdown(): Promise<void> {
    this.#active?.controller.abort();
    await this.idle;
  }

  /** True while a run is going on. */
  get running(): boolean {
    return this.#active !== null;
  }

  #checkCanRun(forEvaluation = false): void {
    const blocked = forEvaluation ? null : this.#blocked();
    if (blocked) throw new UserFacingError('task/busy', blocked);
    if (this.#active) throw new UserFacingError('task/busy', 'A task is running. Wait for it, or cancel it first.');
    const state = this.#engine.status.state;
    if (state === 'no-model' || state === 'error' || state === 'loading') throw new UserFacingError('model/not-loaded', 'Load a chat model to run tasks.');
  }

  #resolveScope(scope: TaskScope): { documents: { id: string; title: string }[]; label: string } {
    let ids: string[];
    let label: string;
    if ('documentIds' in scope) {
      ids = [...new Set(scope.documentIds)];
      label = ids.length === 1 ? (this.#documents.get(ids[0])?.title ?? '1 document') : `${ids.length} documents`;
    } else if ('collectionId' in scope) {
      const collection = this.#retrieval.getCollection(scope.collectionId);
      if (!collection) throw new UserFacingError('collection/not-found', 'That collection no longer exists.');
      ids = this.#retrieval.documentsIn([scope.collectionId]);
      label = `Collection “${collection.name}”`;
    } else {
      ids = this.#documents.attachedTo(scope.conversationId).map((d) => d.id);
      label = 'Documents of the conversation';
    }
    const documents = ids.flatMap((id) => {
      const d = this.#documents.get(id);
      return d ? [{ id: d.id, title: d.title }] : [];
    });
    if (documents.length === 0) throw new UserFacingError('task/empty-scope', 'There are no documents to run the task on. Choose documents first.');
    if (documents.length > MAX_DOCUMENTS_PER_RUN) throw new UserFacingError('task/empty-scope', `A run reads at most ${MAX_DOCUMENTS_PER_RUN} documents; choose fewer.`);
    return { documents, label };
  }

  /** The run with what only the running process knows: time left and the document being read. */
  #live(run: TaskRun): TaskRun {
    if (this.#active?.runId !== run.id || run.status !== 'running') return run;
    const average = this.#store.averageRowMs(run.id);
    return { ...run, currentDocument: this.#active.current, etaMs: average === null ? null : Math.round(average * (run.total - run.finished)) };
  }

  #emit(runId: string): void {
    const run = this.#store.getRun(runId);
    if (run) this.#onChange(this.#live(run));
  }

  #drive(runId: string): void {
    const controller = new AbortController();
    const active: Active = { runId, controller, finished: Promise.resolve(), current: null };
    this.#active = active;
    active.finished = this.#loop(runId, active)
      .catch((e) => {
        console.error('[tasks] run failed', e);
        this.#store.requeueUnfinished(runId);
        this.#store.setStatus(runId, 'failed', { error: `The task stopped: ${(e as Error).message}` });
      })
      .finally(() => {
        if (this.#active === active) this.#active = null;
        this.#emit(runId);
      });
    this.#emit(runId);
  }

  async #loop(runId: string, active: Active): Promise<void> {
    const task = this.#store.definition(runId)!;
    const extractor = new DocumentExtractor(this.#engine);
    const signal = active.controller.signal;
    while (!signal.aborted) {
      const row = this.#store.takeNextRow(runId);
      if (!row) break;
      active.current = row.documentTitle;
      this.#emit(runId);
      const started = performance.now();
      const fail = (error: string) =>
        this.#store.finishRow(row.id, { status: 'failed', error, items: 0, pagesRead: [], durationMs: performance.now() - started, modelMs: 0, cells: [] });
      const doc = this.#documents.get(row.documentId);
      if (!doc) {
        fail('The document was removed from the library.');
        continue;
      }
      if (doc.status === 'needs-password') {
        fail('The document is locked with a password: unlock it in Documents, then resume the task.');
        continue;
      }
      if (doc.status === 'failed') {
        fail(`The document could not be read${doc.error ? `: ${doc.error}` : '.'}`);
        continue;
      }
      if (doc.status !== 'ready') {
        fail('The document was still being read: resume the task when it is ready.');
        continue;
      }
      const pages = this.#documents.pages(doc.id);
      if (!pages.some((p) => p.text.trim())) {
        fail('The document has no text to read.');
        continue;
      }
      try {
        const result = await extractor.extract({
          task,
          title: doc.title,
          pages,
          paginated: doc.paginated,
          signal,
          sequenceKey: `task:${runId}`,
          onStep: (step) => {
            active.current = `${doc.title} — ${step}`;
            this.#emit(runId);
          },
        });
        if (result.aborted) break;
        this.#store.finishRow(row.id, {
          status: 'done',
          error: null,
          items: result.items,
          pagesRead: result.pagesRead,
          durationMs: performance.now() - started,
          modelMs: result.modelMs,
          cells: result.cells,
        });
        if (result.modelName) this.#store.setStatus(runId, 'running', { modelName: result.modelName });
      } catch (e) {
        if (e instanceof UserFacingError && (e.code === 'model/not-loaded')) {
          // Not the document's fault: the row waits, and the run can be resumed.
          this.#store.requeueUnfinished(runId);
          this.#store.setStatus(runId, 'interrupted', { error: 'The model was unloaded; load a model and resume the task.' });
          return;
        }
        if (signal.aborted) break;
        fail(e instanceof UserFacingError ? e.message : `Reading failed: ${(e as Error).message}`);
      }
      this.#emit(runId);
    }
    this.#store.requeueUnfinished(runId);
    this.#store.setStatus(runId, signal.aborted ? 'cancelled' : 'complete');
  }
}
