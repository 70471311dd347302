// Tasks: the definitions the packs offer, the runs, and the run open in the Tasks view (its table
// refreshed as rows finish). Corrections and exports go through main; nothing is computed here.
import type { TaskCell, TaskDefinition, TaskRun, TaskRunDetail, TaskScope } from '../../../electron/contract/types.ts';
import type { Client } from '../api/client.ts';
import { saveFile } from '../download.ts';
import { coalesced } from './coalesce.ts';
import { toasts } from './toasts.svelte.ts';

export class TasksManager {
  definitions = $state<TaskDefinition[]>([]);
  runs = $state<TaskRun[]>([]);
  openRunId = $state<string | null>(null);
  detail = $state<TaskRunDetail | null>(null);
  /** Documents chosen elsewhere (the reader's "Run a task on it…") for the next run's form. */
  preselected = $state<string[] | null>(null);
  readonly #client: Client;

  constructor(client: Client) {
    this.#client = client;
    client.on('tasks.changed', (run) => {
      const i = this.runs.findIndex((r) => r.id === run.id);
      const before = i >= 0 ? this.runs[i] : null;
      if (i >= 0) this.runs[i] = run;
      else this.runs = [run, ...this.runs];
      if (run.id !== this.openRunId) return;
      // The table is fetched again only when a row has finished or the run's state changed; the
      // document being read and the time left come with the event (a 500-document table is not
      // fetched at every field).
      const shown = this.detail?.run ?? before;
      const documentOf = (r: TaskRun) => r.currentDocument?.split(' — ')[0] ?? null;
      if (!shown || shown.finished !== run.finished || shown.status !== run.status || shown.failed !== run.failed || documentOf(shown) !== documentOf(run)) void this.#refreshDetail();
      else if (this.detail) this.detail.run = run;
    });
  }

  async load(): Promise<void> {
    try {
      [this.definitions, this.runs] = await Promise.all([this.#client.call('tasks.definitions', {}), this.#client.call('tasks.runs', {})]);
      if (this.openRunId) await this.#refreshDetail();
    } catch (e) {
      toasts.error(e);
    }
  }

  /** Refetches the open run's detail; calls that come while one is in flight are folded into one more. */
  readonly #refreshDetail = coalesced(async () => {
    const id = this.openRunId;
    if (!id) return;
    try {
      const detail = await this.#client.call('tasks.get', { runId: id });
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

  async start(task: TaskDefinition, scope: TaskScope): Promise<boolean> {
    try {
      const run = await this.#client.call('tasks.start', { packId: task.packId, key: task.key, scope });
      if (!this.runs.some((r) => r.id === run.id)) this.runs = [run, ...this.runs];
      await this.open(run.id);
      return true;
    } catch (e) {
      toasts.error(e);
      return false;
    }
  }

  async cancel(runId: string): Promise<void> {
    await this.#client.call('tasks.cancel', { runId }).catch((e) => toasts.error(e));
  }

  async resume(runId: string): Promise<void> {
    await this.#client.call('tasks.resume', { runId }).catch((e) => toasts.error(e));
  }

  async remove(runId: string): Promise<void> {
    try {
      await this.#client.call('tasks.delete', { runId });
      this.runs = this.runs.filter((r) => r.id !== runId);
      if (this.openRunId === runId) await this.open(null);
    } catch (e) {
      toasts.error(e);
    }
  }

  async editCell(cell: TaskCell, value: string): Promise<void> {
    try {
      const updated = await this.#client.call('tasks.editCell', { cellId: cell.id, value });
      for (const row of this.detail?.rows ?? []) {
        const i = row.cells.findIndex((c) => c.id === updated.id);
        if (i >= 0) row.cells[i] = updated;
      }
    } catch (e) {
      toasts.error(e);
    }
  }

  /** Saves the table as CSV or XLSX (a download of bytes main made; main writes no file). */
  async exportRun(runId: string, format: 'csv' | 'xlsx'): Promise<void> {
    try {
      const { fileName, mimeType, base64 } = await this.#client.call('tasks.export', { runId, format });
      saveFile(fileName, Uint8Array.from(atob(base64), (c) => c.charCodeAt(0)), mimeType);
    } catch (e) {
      toasts.error(e);
    }
  }
}
