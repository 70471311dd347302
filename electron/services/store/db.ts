import BetterSqlite3, { type Database } from 'better-sqlite3';
import * as sqliteVec from 'sqlite-vec';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { migrations, type Migration } from './migrations/index.ts';

export type { Database };

export interface OpenOptions {
  /** Migrate only up to this schema version (tests of upgrades from earlier versions). */
  targetVersion?: number;
}

export function schemaVersion(db: Database): number {
  return db.pragma('user_version', { simple: true }) as number;
}

/** Opens (creating if needed) the store at `file`, sets pragmas and migrates it. */
export function openDatabase(file: string, options: OpenOptions = {}): Database {
  if (file !== ':memory:') mkdirSync(dirname(file), { recursive: true });
  const db = new BetterSqlite3(file);
  // Vector search (vec_distance_cosine, vec0 tables) for retrieval.
  sqliteVec.load(db);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.pragma('foreign_keys = ON');
  db.pragma('busy_timeout = 5000');
  migrate(db, migrations, options.targetVersion);
  return db;
}

export function migrate(db: Database, all: readonly Migration[], targetVersion?: number): void {
  const current = schemaVersion(db);
  const latest = all[all.length - 1]?.version ?? 0;
  if (current > latest) {
    throw new Error(`The data file has schema version ${current}, newer than this Enclave understands (${latest}).`);
  }
  for (const m of all) {
    if (m.version <= current) continue;
    if (targetVersion !== undefined && m.version > targetVersion) break;
    // Each migration and its version bump commit together, or not at all.
    db.transaction(() => {
      m.up(db);
      db.pragma(`user_version = ${m.version}`);
    })();
  }
}
