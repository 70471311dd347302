// LoRA adapters in the library. All adapter SQL lives here.
import type { Database } from 'better-sqlite3';
import type { AdapterInfo } from '../../contract/types.ts';

export interface StoredAdapter extends AdapterInfo {
  path: string;
}

interface AdapterRow {
  id: string;
  path: string;
  file_name: string;
  name: string;
  architecture: string;
  file_size: number;
  sha256: string;
  added_at: number;
}

const toAdapter = (r: AdapterRow): StoredAdapter => ({
  id: r.id, path: r.path, fileName: r.file_name, name: r.name, architecture: r.architecture, fileSize: r.file_size, sha256: r.sha256, addedAt: r.added_at,
});

export class AdapterStore {
  readonly #db: Database;
  constructor(db: Database) {
    this.#db = db;
  }

  list(): StoredAdapter[] {
    return (this.#db.prepare('SELECT * FROM adapters ORDER BY name COLLATE NOCASE, added_at').all() as AdapterRow[]).map(toAdapter);
  }

  get(id: string): StoredAdapter | null {
    const row = this.#db.prepare('SELECT * FROM adapters WHERE id = ?').get(id) as AdapterRow | undefined;
    return row ? toAdapter(row) : null;
  }

  byPath(path: string): StoredAdapter | null {
    const row = this.#db.prepare('SELECT * FROM adapters WHERE path = ?').get(path) as AdapterRow | undefined;
    return row ? toAdapter(row) : null;
  }

  bySha256(sha256: string): StoredAdapter | null {
    const row = this.#db.prepare('SELECT * FROM adapters WHERE sha256 = ? ORDER BY added_at LIMIT 1').get(sha256) as AdapterRow | undefined;
    return row ? toAdapter(row) : null;
  }

  insert(a: StoredAdapter): void {
    this.#db
      .prepare('INSERT INTO adapters (id, path, file_name, name, architecture, file_size, sha256, added_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)')
      .run(a.id, a.path, a.fileName, a.name, a.architecture, a.fileSize, a.sha256, a.addedAt);
  }

  /** Removes it from the library and from every assistant that applied it. */
  delete(id: string): void {
    this.#db.prepare('DELETE FROM adapters WHERE id = ?').run(id);
  }
}
