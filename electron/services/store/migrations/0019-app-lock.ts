import type { Database } from 'better-sqlite3';

export const version = 19;
export const name = 'app-lock';

/** The app lock: a verifier of its passphrase (scrypt) and the idle minutes before it locks. */
export function up(db: Database): void {
  db.exec(`
    CREATE TABLE app_lock (
      id INTEGER PRIMARY KEY CHECK (id = 1),
      salt TEXT NOT NULL,
      verifier TEXT NOT NULL,
      idle_minutes INTEGER NOT NULL
    );
  `);
}
