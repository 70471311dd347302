// The audit trail: an append-only record of who did what (models loaded, documents added and
// deleted, questions asked, passages retrieved, answers and their checked sources, exports,
// settings changed). Each entry is sealed: its SHA-256 covers its own contents and the previous
// entry's seal, so changing or removing any entry breaks the chain at that entry. The last seal is
// also kept in a file beside the database, so entries cut off the end are found too.
import { createHash } from 'node:crypto';
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import type { Database } from 'better-sqlite3';
import type { AuditAction, AuditCheck, AuditEntry, AuditPage } from '../../contract/types.ts';

export const GENESIS_HASH = '0'.repeat(64);
const PAGE_MAX = 500;

interface Row {
  seq: number;
  at: number;
  actor: string;
  action: string;
  summary: string;
  details: string;
  prev_hash: string;
  hash: string;
}

/** The seal of one entry: its fields as stored, chained to the one before. */
export function sealOf(prevHash: string, row: Omit<Row, 'prev_hash' | 'hash'>): string {
  const body = JSON.stringify([row.seq, row.at, row.actor, row.action, row.summary, row.details]);
  return createHash('sha256').update(`${prevHash}\n${body}`).digest('hex');
}

function toEntry(r: Row): AuditEntry {
  let details: Record<string, unknown>;
  try {
    details = JSON.parse(r.details) as Record<string, unknown>;
  } catch {
    details = { unreadable: r.details };
  }
  return { seq: r.seq, at: r.at, actor: r.actor, action: r.action as AuditAction, summary: r.summary, details, hash: r.hash };
}

const likePattern = (text: string) => `%${text.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;

export interface AuditFilter {
  /** An action ("answer.produced") or a group ("document"). */
  action?: string;
  /** Words in the summary or the details. */
  text?: string;
  beforeSeq?: number;
  limit?: number;
}

export class AuditLog {
  readonly #db: Database;
  readonly #sealFile: string;
  readonly #actor: string;
  readonly #append;

  /** Who this trail says acts (the computer's account, and how Enclave is used). */
  get actor(): string {
    return this.#actor;
  }

  constructor(db: Database, options: { sealFile: string; actor: string; now?: () => number }) {
    this.#db = db;
    this.#sealFile = options.sealFile;
    this.#actor = options.actor;
    const now = options.now ?? Date.now;
    const last = db.prepare('SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1');
    const insert = db.prepare('INSERT INTO audit_log (seq, at, actor, action, summary, details, prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?)');
    this.#append = db.transaction((action: AuditAction, summary: string, details: string) => {
      const prev = last.get() as { seq: number; hash: string } | undefined;
      const row = { seq: (prev?.seq ?? 0) + 1, at: now(), actor: this.#actor, action, summary, details };
      const hash = sealOf(prev?.hash ?? GENESIS_HASH, row);
      insert.run(row.seq, row.at, row.actor, row.action, row.summary, row.details, prev?.hash ?? GENESIS_HASH, hash);
      return { seq: row.seq, hash };
    });
  }

  /** Appends an entry. The trail never stops the work it records: a failure is logged, not thrown. */
  record(action: AuditAction, summary: string, details: Record<string, unknown> = {}): void {
    try {
      const head = this.#append(action, summary.slice(0, 500), JSON.stringify(details));
      this.#writeSeal(head);
    } catch (e) {
      console.error('[audit] an entry could not be written:', e);
    }
  }

  #writeSeal(head: { seq: number; hash: string }): void {
    const tmp = `${this.#sealFile}.tmp`;
    writeFileSync(tmp, JSON.stringify(head));
    renameSync(tmp, this.#sealFile);
  }

  #readSeal(): { seq: number; hash: string } | null {
    try {
      const seal = JSON.parse(readFileSync(this.#sealFile, 'utf8')) as { seq?: unknown; hash?: unknown };
      return typeof seal.seq === 'number' && typeof seal.hash === 'string' ? { seq: seal.seq, hash: seal.hash } : null;
    } catch {
      return null;
    }
  }

  #where(filter: AuditFilter): { sql: string; params: unknown[] } {
    const clauses: string[] = [];
    const params: unknown[] = [];
    if (filter.action) {
      clauses.push('(action = ? OR action LIKE ?)');
      // Actions are lower-case words and dots (the contract checks it): no LIKE wildcard inside.
      params.push(filter.action, `${filter.action}.%`);
    }
    if (filter.text?.trim()) {
      clauses.push("(summary LIKE ? ESCAPE '\\' OR details LIKE ? ESCAPE '\\')");
      params.push(likePattern(filter.text.trim()), likePattern(filter.text.trim()));
    }
    return { sql: clauses.length ? `WHERE ${clauses.join(' AND ')}` : '', params };
  }

  /** Newest first, a page at a time. */
  list(filter: AuditFilter = {}): AuditPage {
    const { sql, params } = this.#where(filter);
    const total = (this.#db.prepare(`SELECT COUNT(*) AS n FROM audit_log ${sql}`).get(...params) as { n: number }).n;
    const limit = Math.min(Math.max(filter.limit ?? 100, 1), PAGE_MAX);
    const before = filter.beforeSeq ? `${sql ? `${sql} AND` : 'WHERE'} seq < ?` : sql;
    const rows = this.#db
      .prepare(`SELECT * FROM audit_log ${before} ORDER BY seq DESC LIMIT ?`)
      .all(...params, ...(filter.beforeSeq ? [filter.beforeSeq] : []), limit + 1) as Row[];
    const more = rows.length > limit;
    const entries = rows.slice(0, limit).map(toEntry);
    return { entries, total, nextBeforeSeq: more ? entries[entries.length - 1].seq : null };
  }

  /** Checks every seal in order, and the last one against the seal file. */
  verify(): AuditCheck {
    let prevHash = GENESIS_HASH;
    let expected = 1;
    let checked = 0;
    let last: Row | null = null;
    const broken = (badSeq: number, problem: string): AuditCheck => ({ intact: false, checked, problem, badSeq, headSeq: last?.seq ?? 0, headHash: last?.hash ?? null });
    for (const row of this.#db.prepare('SELECT * FROM audit_log ORDER BY seq').iterate() as IterableIterator<Row>) {
      if (row.seq !== expected) {
        const gap = row.seq - 1 > expected ? `Entries ${expected}–${row.seq - 1} are` : `Entry ${expected} is`;
        return broken(expected, `${gap} missing: removed from the database after ${row.seq - 1 > expected ? 'they were' : 'it was'} written.`);
      }
      if (sealOf(row.prev_hash, row) !== row.hash) {
        return broken(row.seq, `Entry ${row.seq} was changed after it was written: its contents no longer match its seal.`);
      }
      if (row.prev_hash !== prevHash) {
        return broken(
          row.seq - 1,
          `Entry ${row.seq - 1} was changed or replaced after it was written: entry ${row.seq} was sealed after a different entry ${row.seq - 1}.`,
        );
      }
      prevHash = row.hash;
      last = row;
      checked++;
      expected++;
    }
    const seal = this.#readSeal();
    if (seal) {
      const headSeq = last?.seq ?? 0;
      if (seal.seq > headSeq) {
        return broken(headSeq + 1, `${seal.seq - headSeq === 1 ? `Entry ${seal.seq} is` : `Entries ${headSeq + 1}–${seal.seq} are`} missing: removed from the end of the trail.`);
      }
      const sealed = this.#db.prepare('SELECT hash FROM audit_log WHERE seq = ?').get(seal.seq) as { hash: string } | undefined;
      if (sealed && sealed.hash !== seal.hash) {
        return broken(seal.seq, `The trail was rewritten up to entry ${seal.seq}: it no longer matches the seal kept beside the database.`);
      }
    }
    return { intact: true, checked, problem: null, badSeq: null, headSeq: last?.seq ?? 0, headHash: last?.hash ?? null };
  }

  /** Every entry, oldest first, one JSON object a line, with the seals to check it elsewhere. */
  exportJsonl(): string {
    const lines: string[] = [];
    for (const row of this.#db.prepare('SELECT * FROM audit_log ORDER BY seq').iterate() as IterableIterator<Row>) {
      const entry = toEntry(row);
      lines.push(JSON.stringify({ ...entry, time: new Date(row.at).toISOString(), prevHash: row.prev_hash, sealedDetails: row.details }));
    }
    return lines.length ? `${lines.join('\n')}\n` : '';
  }
}
