// Summaries of documents. All SQL about them lives here.
import { randomUUID } from 'node:crypto';
import type { Database } from 'better-sqlite3';
import type { Summary, SummaryKind, SummarySection, SummaryStatus } from '../../contract/types.ts';

interface SummaryRow {
  id: string;
  document_id: string;
  kind: SummaryKind;
  status: SummaryStatus;
  content: string;
  sections: string;
  model_name: string | null;
  error: string | null;
  duration_ms: number | null;
  model_ms: number | null;
  created_at: number;
}

function toSummary(r: SummaryRow): Summary {
  return {
    id: r.id,
    documentId: r.document_id,
    kind: r.kind,
    status: r.status,
    content: r.content,
    sections: JSON.parse(r.sections) as SummarySection[],
    modelName: r.model_name,
    error: r.error,
    durationMs: r.duration_ms,
    modelMs: r.model_ms,
    createdAt: r.created_at,
  };
}

export class SummaryStore {
  readonly #db: Database;
  constructor(db: Database) {
    this.#db = db;
  }

  create(documentId: string, kind: SummaryKind, modelName: string | null): Summary {
    const id = randomUUID();
    const now = Date.now();
    this.#db
      .prepare("INSERT INTO summaries (id, document_id, kind, status, model_name, created_at, updated_at) VALUES (?, ?, ?, 'running', ?, ?, ?)")
      .run(id, documentId, kind, modelName, now, now);
    return this.get(id)!;
  }

  get(id: string): Summary | null {
    const row = this.#db.prepare('SELECT * FROM summaries WHERE id = ?').get(id) as SummaryRow | undefined;
    return row ? toSummary(row) : null;
  }

  list(documentId: string): Summary[] {
    return (this.#db.prepare('SELECT * FROM summaries WHERE document_id = ? ORDER BY created_at DESC, rowid DESC').all(documentId) as SummaryRow[]).map(toSummary);
  }

  saveSections(id: string, sections: SummarySection[]): void {
    this.#db.prepare('UPDATE summaries SET sections = ?, updated_at = ? WHERE id = ?').run(JSON.stringify(sections), Date.now(), id);
  }

  finish(id: string, patch: { status: SummaryStatus; content: string; error?: string | null; durationMs: number; modelMs: number }): Summary {
    this.#db
      .prepare('UPDATE summaries SET status = ?, content = ?, error = ?, duration_ms = ?, model_ms = ?, updated_at = ? WHERE id = ?')
      .run(patch.status, patch.content, patch.error ?? null, Math.round(patch.durationMs), Math.round(patch.modelMs), Date.now(), id);
    return this.get(id)!;
  }

  delete(id: string): boolean {
    return this.#db.prepare('DELETE FROM summaries WHERE id = ?').run(id).changes > 0;
  }

  /** On start: summaries cut off by a crash keep their sections and are marked interrupted. */
  markRunningInterrupted(): number {
    return this.#db.prepare("UPDATE summaries SET status = 'interrupted' WHERE status = 'running'").run().changes;
  }
}
