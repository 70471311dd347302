// Task runs, their rows (one per document) and cells (one per field and item). All task SQL
// lives here.
import { randomUUID } from 'node:crypto';
import type { Database } from 'better-sqlite3';
import type { TaskCell, TaskCellStatus, TaskDefinition, TaskRow, TaskRowStatus, TaskRun, TaskRunStatus } from '../../contract/types.ts';

interface RunRow {
  id: string;
  pack_id: string;
  task_key: string;
  task_name: string;
  definition: string;
  scope_label: string;
  status: TaskRunStatus;
  model_name: string | null;
  error: string | null;
  created_at: number;
  finished_at: number | null;
  total: number;
  finished: number;
  failed: number;
}

interface RowRow {
  id: string;
  document_id: string;
  document_title: string;
  position: number;
  status: TaskRowStatus;
  error: string | null;
  items: number;
  pages_read: string;
  duration_ms: number | null;
}

interface CellRow {
  id: string;
  row_id: string;
  item: number;
  field_key: string;
  value: string | null;
  status: TaskCellStatus;
  reason: string | null;
  quote: string | null;
  page: number | null;
  char_start: number | null;
  char_end: number | null;
  pages_read: string;
  edited_value: string | null;
  edited_by: string | null;
  edited_at: number | null;
}

/** A cell as the extractor produces it. */
export type CellDraft = Omit<TaskCell, 'id' | 'edited'>;

export interface RowResult {
  status: 'done' | 'failed';
  error: string | null;
  items: number;
  pagesRead: number[];
  durationMs: number;
  modelMs: number;
  cells: CellDraft[];
}

const SELECT_RUN = `
  SELECT r.*,
    (SELECT COUNT(*) FROM task_rows w WHERE w.run_id = r.id) AS total,
    (SELECT COUNT(*) FROM task_rows w WHERE w.run_id = r.id AND w.status IN ('done', 'failed')) AS finished,
    (SELECT COUNT(*) FROM task_rows w WHERE w.run_id = r.id AND w.status = 'failed') AS failed
  FROM task_runs r`;

function toCell(c: CellRow): TaskCell {
  return {
    id: c.id,
    item: c.item,
    fieldKey: c.field_key,
    value: c.value,
    status: c.status,
    reason: c.reason,
    quote: c.quote,
    page: c.page,
    charStart: c.char_start,
    charEnd: c.char_end,
    pagesRead: JSON.parse(c.pages_read) as number[],
    edited: c.edited_value !== null ? { value: c.edited_value, by: c.edited_by ?? '', at: c.edited_at ?? 0 } : null,
  };
}

export class TaskStore {
  readonly #db: Database;
  readonly #now: () => number;
  constructor(db: Database, now: () => number = Date.now) {
    this.#db = db;
    this.#now = now;
  }

  #toRun(r: RunRow): TaskRun {
    const definition = JSON.parse(r.definition) as TaskDefinition;
    return {
      id: r.id,
      packId: r.pack_id,
      taskKey: r.task_key,
      taskName: r.task_name,
      output: definition.output,
      fields: definition.fields,
      scopeLabel: r.scope_label,
      status: r.status,
      total: r.total,
      finished: r.finished,
      failed: r.failed,
      etaMs: null,
      currentDocument: null,
      modelName: r.model_name,
      error: r.error,
      createdAt: r.created_at,
      finishedAt: r.finished_at,
    };
  }

  createRun(definition: TaskDefinition, scopeLabel: string, documents: { id: string; title: string }[]): TaskRun {
    const id = randomUUID();
    const insertRow = this.#db.prepare('INSERT INTO task_rows (id, run_id, document_id, document_title, position, status) VALUES (?, ?, ?, ?, ?, ?)');
    this.#db.transaction(() => {
      this.#db
        .prepare('INSERT INTO task_runs (id, pack_id, task_key, task_name, definition, scope_label, status, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)')
        .run(id, definition.packId, definition.key, definition.name, JSON.stringify(definition), scopeLabel, 'running', this.#now());
      documents.forEach((d, i) => insertRow.run(randomUUID(), id, d.id, d.title, i, 'pending'));
    })();
    return this.getRun(id)!;
  }

  getRun(id: string): TaskRun | null {
    const r = this.#db.prepare(`${SELECT_RUN} WHERE r.id = ?`).get(id) as RunRow | undefined;
    return r ? this.#toRun(r) : null;
  }

  definition(runId: string): TaskDefinition | null {
    const r = this.#db.prepare('SELECT definition FROM task_runs WHERE id = ?').pluck().get(runId) as string | undefined;
    return r ? (JSON.parse(r) as TaskDefinition) : null;
  }

  listRuns(): TaskRun[] {
    return (this.#db.prepare(`${SELECT_RUN} ORDER BY r.created_at DESC, r.rowid DESC`).all() as RunRow[]).map((r) => this.#toRun(r));
  }

  rows(runId: string): TaskRow[] {
    const rows = this.#db.prepare('SELECT * FROM task_rows WHERE run_id = ? ORDER BY position').all(runId) as RowRow[];
    const cells = this.#db
      .prepare('SELECT c.* FROM task_cells c JOIN task_rows w ON w.id = c.row_id WHERE w.run_id = ? ORDER BY c.item, c.rowid')
      .all(runId) as CellRow[];
    const byRow = new Map<string, TaskCell[]>();
    for (const c of cells) byRow.set(c.row_id, [...(byRow.get(c.row_id) ?? []), toCell(c)]);
    return rows.map((r) => ({
      id: r.id,
      documentId: r.document_id,
      documentTitle: r.document_title,
      position: r.position,
      status: r.status,
      error: r.error,
      items: r.items,
      pagesRead: JSON.parse(r.pages_read) as number[],
      durationMs: r.duration_ms,
      cells: byRow.get(r.id) ?? [],
    }));
  }

  /** The next row to read, marked running (and its attempt counted). */
  takeNextRow(runId: string): { id: string; documentId: string; documentTitle: string } | null {
    return this.#db.transaction(() => {
      const row = this.#db
        .prepare("SELECT id, document_id AS documentId, document_title AS documentTitle FROM task_rows WHERE run_id = ? AND status = 'pending' ORDER BY position LIMIT 1")
        .get(runId) as { id: string; documentId: string; documentTitle: string } | undefined;
      if (!row) return null;
      this.#db.prepare("UPDATE task_rows SET status = 'running', attempts = attempts + 1 WHERE id = ?").run(row.id);
      return row;
    })();
  }

  /** A row's result and its cells, in one transaction. */
  finishRow(rowId: string, result: RowResult): void {
    const insert = this.#db.prepare(
      `INSERT INTO task_cells (id, row_id, item, field_key, value, status, reason, quote, page, char_start, char_end, pages_read)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    this.#db.transaction(() => {
      this.#db.prepare('DELETE FROM task_cells WHERE row_id = ?').run(rowId);
      for (const c of result.cells) {
        insert.run(randomUUID(), rowId, c.item, c.fieldKey, c.value, c.status, c.reason, c.quote, c.page, c.charStart, c.charEnd, JSON.stringify(c.pagesRead));
      }
      this.#db
        .prepare('UPDATE task_rows SET status = ?, error = ?, items = ?, pages_read = ?, duration_ms = ?, model_ms = ?, finished_at = ? WHERE id = ?')
        .run(result.status, result.error, result.items, JSON.stringify(result.pagesRead), Math.round(result.durationMs), Math.round(result.modelMs), this.#now(), rowId);
    })();
  }

  /** For a resumed run: rows not done (started, or failed: a document since unlocked) wait again. */
  requeueNotDone(runId: string): void {
    this.#db.prepare("UPDATE task_rows SET status = 'pending', error = NULL WHERE run_id = ? AND status IN ('running', 'failed')").run(runId);
  }

  /** Rows started but not finished go back to the queue (after cancel, or a crash). */
  requeueUnfinished(runId: string): void {
    this.#db.prepare("UPDATE task_rows SET status = 'pending' WHERE run_id = ? AND status = 'running'").run(runId);
  }

  setStatus(runId: string, status: TaskRunStatus, patch: { error?: string | null; modelName?: string | null } = {}): void {
    const finished = status === 'running' ? null : this.#now();
    this.#db
      .prepare('UPDATE task_runs SET status = ?, error = ?, model_name = COALESCE(?, model_name), finished_at = ? WHERE id = ?')
      .run(status, patch.error ?? null, patch.modelName ?? null, finished, runId);
  }

  /** At start: runs that were going when the app stopped are interrupted; their rows wait. Their ids, oldest first. */
  markRunningInterrupted(): string[] {
    return this.#db.transaction(() => {
      const ids = this.#db.prepare("SELECT id FROM task_runs WHERE status = 'running' ORDER BY created_at, rowid").pluck().all() as string[];
      this.#db.prepare("UPDATE task_rows SET status = 'pending' WHERE status = 'running'").run();
      this.#db.prepare("UPDATE task_runs SET status = 'interrupted', finished_at = ? WHERE status = 'running'").run(this.#now());
      return ids;
    })();
  }

  /** Average time a finished row took in this run (for the time left). */
  averageRowMs(runId: string): number | null {
    const r = this.#db.prepare("SELECT AVG(duration_ms) FROM task_rows WHERE run_id = ? AND status IN ('done', 'failed') AND duration_ms IS NOT NULL").pluck().get(runId) as number | null;
    return r ?? null;
  }

  cell(cellId: string): (TaskCell & { runId: string }) | null {
    const c = this.#db.prepare('SELECT c.*, w.run_id FROM task_cells c JOIN task_rows w ON w.id = c.row_id WHERE c.id = ?').get(cellId) as (CellRow & { run_id: string }) | undefined;
    return c ? { ...toCell(c), runId: c.run_id } : null;
  }

  /** A person's correction; an empty value takes the correction back. */
  editCell(cellId: string, value: string | null, by: string): void {
    if (value === null) this.#db.prepare('UPDATE task_cells SET edited_value = NULL, edited_by = NULL, edited_at = NULL WHERE id = ?').run(cellId);
    else this.#db.prepare('UPDATE task_cells SET edited_value = ?, edited_by = ?, edited_at = ? WHERE id = ?').run(value, by, this.#now(), cellId);
  }

  deleteRun(runId: string): boolean {
    return this.#db.prepare('DELETE FROM task_runs WHERE id = ?').run(runId).changes > 0;
  }
}
