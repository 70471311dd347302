// The app lock's one row: the verifier of its passphrase (scrypt, with its salt) and the idle
// minutes before it locks. Nothing here is the passphrase.
import type { Database } from 'better-sqlite3';

export interface LockRecord {
  salt: string;
  verifier: string;
  idleMinutes: number;
}

export class LockStore {
  readonly #db: Database;

  constructor(db: Database) {
    this.#db = db;
  }

  get(): LockRecord | null {
    const row = this.#db.prepare('SELECT salt, verifier, idle_minutes AS idleMinutes FROM app_lock WHERE id = 1').get() as LockRecord | undefined;
    return row ?? null;
  }

  set(record: LockRecord): void {
    this.#db
      .prepare('INSERT INTO app_lock (id, salt, verifier, idle_minutes) VALUES (1, ?, ?, ?) ON CONFLICT(id) DO UPDATE SET salt = excluded.salt, verifier = excluded.verifier, idle_minutes = excluded.idle_minutes')
      .run(record.salt, record.verifier, record.idleMinutes);
  }

  clear(): void {
    this.#db.prepare('DELETE FROM app_lock').run();
  }
}
