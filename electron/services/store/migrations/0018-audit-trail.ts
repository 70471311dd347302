import type { Database } from 'better-sqlite3';

export const version = 18;
export const name = 'audit-trail';

/**
 * The audit trail: who did what, when, each entry sealed with a SHA-256 over its contents and the
 * seal before it. The app only ever appends (triggers refuse updates and deletes); a change made
 * to the file from outside is found by checking the chain (AuditLog.verify).
 */
export function up(db: Database): void {
  db.exec(`
    CREATE TABLE audit_log (
      seq INTEGER PRIMARY KEY,
      at INTEGER NOT NULL,
      actor TEXT NOT NULL,
      action TEXT NOT NULL,
      summary TEXT NOT NULL,
      details TEXT NOT NULL,
      prev_hash TEXT NOT NULL,
      hash TEXT NOT NULL
    );
    CREATE INDEX audit_log_action ON audit_log(action, seq);
    CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only'); END;
    CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only'); END;
  `);
}
