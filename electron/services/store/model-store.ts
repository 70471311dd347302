// The user's model library: GGUF files they added, with the metadata read at add time.
import type { Database } from 'better-sqlite3';
import type { ModelInfo } from '../../contract/types.ts';

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
  added_at: number;
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

  findByPath(path: string): ModelInfo | null {
    const row = this.#db.prepare('SELECT * FROM models WHERE path = ?').get(path) as ModelRow | undefined;
    return row ? toModel(row) : null;
  }

  insert(m: ModelInfo): ModelInfo {
    this.#db
      .prepare(
        `INSERT INTO models (id, path, file_name, name, architecture, parameter_count, quantization, context_length, file_size, added_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(m.id, m.path, m.fileName, m.name, m.architecture, m.parameterCount, m.quantization, m.contextLength, m.fileSize, m.addedAt);
    return m;
  }

  remove(id: string): boolean {
    return this.#db.prepare('DELETE FROM models WHERE id = ?').run(id).changes > 0;
  }
}
