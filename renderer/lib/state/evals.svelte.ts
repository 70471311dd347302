// Evaluations: the selected assistant's question set, its runs, and the run open in the Evaluate
// view (its scoreboard refreshed as answers come). Scores are computed by main.
import type { EvalQuestion, EvalQuestionFields, EvalRun, EvalRunDetail } from '../../../electron/contract/types.ts';
import type { Client } from '../api/client.ts';
import { saveFile } from '../download.ts';
import { coalesced } from './coalesce.ts';
import { toasts } from './toasts.svelte.ts';

export class EvalsManager {
  assistantId = $state<string | null>(null);
  questions = $state<EvalQuestion[]>([]);
  runs = $state<EvalRun[]>([]);
  openRunId = $state<string | null>(null);
  detail = $state<EvalRunDetail | null>(null);
  /** A question taken from a conversation, for the form (the right answer's words are the person's to write). */
  draft = $state<{ assistantId: string; question: string; pages: number[] } | null>(null);
  readonly #client: Client;

  constructor(client: Client) {
    this.#client = client;
    client.on('evals.changed', (run) => {
      if (run.assistantId !== this.assistantId) return;
      const i = this.runs.findIndex((r) => r.id === run.id);
      const before = i >= 0 ? this.runs[i] : null;
      if (i >= 0) this.runs[i] = run;
      else this.runs = [run, ...this.runs];
      if (run.id !== this.openRunId) return;
      // The scoreboard is fetched again when an answer was saved or the run's state changed.
      const shown = this.detail?.run ?? before;
      if (!shown || shown.answered !== run.answered || shown.status !== run.status) void this.#refreshDetail();
      else if (this.detail) this.detail.run = run;
    });
  }

  async select(assistantId: string | null): Promise<void> {
    if (assistantId === this.assistantId && this.questions.length + this.runs.length > 0) return;
    this.assistantId = assistantId;
    this.questions = [];
    this.runs = [];
    await this.open(null);
    if (!assistantId) return;
    try {
      const [questions, runs] = await Promise.all([this.#client.call('evals.questions', { assistantId }), this.#client.call('evals.runs', { assistantId })]);
      if (this.assistantId !== assistantId) return;
      this.questions = questions;
      this.runs = runs;
      if (runs[0]) await this.open(runs[0].id);
    } catch (e) {
      toasts.error(e);
    }
  }

  /** Refetches the open run's detail; calls that come while one is in flight are folded into one more. */
  readonly #refreshDetail = coalesced(async () => {
    const id = this.openRunId;
    if (!id) return;
    try {
      const detail = await this.#client.call('evals.get', { runId: id });
      if (this.openRunId === id) this.detail = detail;
    } catch (e) {
      toasts.error(e);
    }
  });

  async open(runId: string | null): Promise<void> {
    this.openRunId = runId;
    this.detail = null;
    if (runId) await this.#refreshDetail();
  }

  async add(fields: EvalQuestionFields): Promise<boolean> {
    if (!this.assistantId) return false;
    try {
      const q = await this.#client.call('evals.addQuestion', { assistantId: this.assistantId, fields });
      this.questions = [...this.questions, q];
      return true;
    } catch (e) {
      toasts.error(e);
      return false;
    }
  }

  async update(questionId: string, fields: EvalQuestionFields): Promise<boolean> {
    try {
      const q = await this.#client.call('evals.updateQuestion', { questionId, fields });
      this.questions = this.questions.map((x) => (x.id === q.id ? q : x));
      return true;
    } catch (e) {
      toasts.error(e);
      return false;
    }
  }

  async remove(questionId: string): Promise<void> {
    try {
      await this.#client.call('evals.deleteQuestion', { questionId });
      this.questions = this.questions.filter((q) => q.id !== questionId);
    } catch (e) {
      toasts.error(e);
    }
  }

  async importCsv(text: string): Promise<void> {
    if (!this.assistantId) return;
    try {
      const { added, questions } = await this.#client.call('evals.importCsv', { assistantId: this.assistantId, text });
      this.questions = questions;
      toasts.show(`${added} question${added === 1 ? '' : 's'} added.`);
    } catch (e) {
      toasts.error(e);
    }
  }

  async downloadTemplate(): Promise<void> {
    try {
      const { fileName, text } = await this.#client.call('evals.template', {});
      saveFile(fileName, new TextEncoder().encode(text), 'text/csv');
    } catch (e) {
      toasts.error(e);
    }
  }

  async start(modelIds: string[], withAdapters: boolean): Promise<boolean> {
    const assistantId = this.assistantId;
    return assistantId ? this.#begin(this.#client.call('evals.start', { assistantId, modelIds, withAdapters })) : false;
  }

  async startTask(referenceRunId: string, modelIds: string[]): Promise<boolean> {
    const assistantId = this.assistantId;
    return assistantId ? this.#begin(this.#client.call('evals.startTask', { assistantId, referenceRunId, modelIds })) : false;
  }

  /** A run just started: listed and opened (or its error shown). */
  async #begin(started: Promise<EvalRun>): Promise<boolean> {
    try {
      const run = await started;
      if (!this.runs.some((r) => r.id === run.id)) this.runs = [run, ...this.runs];
      await this.open(run.id);
      return true;
    } catch (e) {
      toasts.error(e);
      return false;
    }
  }

  async cancel(runId: string): Promise<void> {
    await this.#client.call('evals.cancel', { runId }).catch((e) => toasts.error(e));
  }

  async resume(runId: string): Promise<void> {
    await this.#client.call('evals.resume', { runId }).catch((e) => toasts.error(e));
  }

  async removeRun(runId: string): Promise<void> {
    try {
      await this.#client.call('evals.delete', { runId });
      this.runs = this.runs.filter((r) => r.id !== runId);
      if (this.openRunId === runId) await this.open(this.runs[0]?.id ?? null);
    } catch (e) {
      toasts.error(e);
    }
  }

  async exportRun(runId: string, format: 'csv' | 'markdown'): Promise<void> {
    try {
      const { fileName, mimeType, base64 } = await this.#client.call('evals.export', { runId, format });
      saveFile(fileName, Uint8Array.from(atob(base64), (c) => c.charCodeAt(0)), mimeType);
    } catch (e) {
      toasts.error(e);
    }
  }
}
