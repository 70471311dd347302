// The user's model library: GGUF files they added, with the metadata read at add time.
import type { Database } from 'better-sqlite3';
import type { ModelInfo, ModelKind } from '../../contract/types.ts';

interface ModelRow {
  id: string;
  path: string;
  file_name: string;
  name: string;
  architecture: string;
  parameter_count: number;
  quantization: string;
  context_length: number | null;
  file_size: number;
  sha256: string | null;
  added_at: number;
  kind: ModelKind | null;
  fingerprint: string | null;
}

function toModel(r: ModelRow): ModelInfo {
  return {
    id: r.id,
    path: r.path,
    fileName: r.file_name,
    name: r.name,
    architecture: r.architecture,
    parameterCount: r.parameter_count,
    quantization: r.quantization,
    contextLength: r.context_length,
    fileSize: r.file_size,
    sha256: r.sha256,
    kind: r.kind,
    addedAt: r.added_at,
  };
}

export class ModelStore {
  readonly #db: Database;
  constructor(db: Database) {
    this.#db = db;
  }

  list(): ModelInfo[] {
    return (this.#db.prepare('SELECT * FROM models ORDER BY added_at, rowid').all() as ModelRow[]).map(toModel);
  }

  get(id: string): ModelInfo | null {
    const row = this.#db.prepare('SELECT * FROM models WHERE id = ?').get(id) as ModelRow | undefined;
    return row ? toModel(row) : null;
  }

  /** A model already in the library with the same file content (by quick fingerprint). */
  findByFingerprint(fingerprint: string): ModelInfo | null {
    const row = this.#db.prepare('SELECT * FROM models WHERE fingerprint = ? ORDER BY added_at LIMIT 1').get(fingerprint) as ModelRow | undefined;
    return row ? toModel(row) : null;
  }

  /** Models whose kind or fingerprint was never read (added before they were recorded). */
  unclassified(): ModelInfo[] {
    return (this.#db.prepare('SELECT * FROM models WHERE kind IS NULL OR fingerprint IS NULL').all() as ModelRow[]).map(toModel);
  }

  setClassification(id: string, kind: ModelKind | null, fingerprint: string | null): void {
    this.#db.prepare('UPDATE models SET kind = COALESCE(?, kind), fingerprint = COALESCE(?, fingerprint) WHERE id = ?').run(kind, fingerprint, id);
  }

  rename(id: string, name: string): void {
    this.#db.prepare('UPDATE models SET name = ? WHERE id = ?').run(name, id);
  }

  findByPath(path: string): ModelInfo | null {
    const row = this.#db.prepare('SELECT * FROM models WHERE path = ?').get(path) as ModelRow | undefined;
    return row ? toModel(row) : null;
  }

  insert(m: ModelInfo, fingerprint: string | null = null): ModelInfo {
    this.#db
      .prepare(
        `INSERT INTO models (id, path, file_name, name, architecture, parameter_count, quantization, context_length, file_size, sha256, added_at, kind, fingerprint)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(m.id, m.path, m.fileName, m.name, m.architecture, m.parameterCount, m.quantization, m.contextLength, m.fileSize, m.sha256, m.addedAt, m.kind, fingerprint);
    return m;
  }

  bySha256(sha256: string): ModelInfo | null {
    if (!sha256) return null;
    const row = this.#db.prepare('SELECT * FROM models WHERE sha256 = ? ORDER BY added_at LIMIT 1').get(sha256) as ModelRow | undefined;
    return row ? toModel(row) : null;
  }

  /** Models whose hash is not computed yet. */
  unhashed(): ModelInfo[] {
    return (this.#db.prepare('SELECT * FROM models WHERE sha256 IS NULL ORDER BY added_at').all() as ModelRow[]).map(toModel);
  }

  setSha256(id: string, sha256: string): void {
    this.#db.prepare('UPDATE models SET sha256 = ? WHERE id = ?').run(sha256, id);
  }

  remove(id: string): boolean {
    return this.#db.prepare('DELETE FROM models WHERE id = ?').run(id).changes > 0;
  }
}
