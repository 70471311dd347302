import type { Database } from 'better-sqlite3';

export const version = 16;
export const name = 'cut-off-replies';

/** Whether a reply stopped because it reached the longest reply allowed (it can be continued). */
export function up(db: Database): void {
  db.exec(`ALTER TABLE messages ADD COLUMN cut_off INTEGER NOT NULL DEFAULT 0;`);
}
