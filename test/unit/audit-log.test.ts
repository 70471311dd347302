// The audit trail on a real SQLite file: entries are sealed in a chain; the app cannot change or
// remove one; and a change made to the file from outside (as someone with the file and a SQLite
// tool would make it) is found at the exact entry.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Sqlite } from '../../electron/services/store/db.ts';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AuditLog, GENESIS_HASH, sealOf } from '../../electron/services/store/audit-log.ts';
import { openDatabase, type Database } from '../../electron/services/store/db.ts';

let dir: string;
let file: string;
let db: Database;
let audit: AuditLog;
let clock = 1_700_000_000_000;

function openAudit(): AuditLog {
  return new AuditLog(db, { sealFile: join(dir, 'audit-seal.json'), actor: 'ada (desktop app)', now: () => clock++ });
}

/** Someone with the file and a SQLite tool: the app's guards (triggers) are removed first. */
function tamper(sql: string, ...params: unknown[]): void {
  db.close();
  const raw = new Sqlite(file);
  raw.exec('DROP TRIGGER IF EXISTS audit_log_no_update; DROP TRIGGER IF EXISTS audit_log_no_delete;');
  raw.prepare(sql).run(...params);
  raw.close();
  db = openDatabase(file);
  audit = openAudit();
}

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'enclave-audit-'));
  file = join(dir, 'enclave.db');
  db = openDatabase(file);
  audit = openAudit();
  for (let i = 1; i <= 6; i++) audit.record('question.asked', `Asked: question ${i}`, { question: `question ${i}`, n: i });
});

afterEach(() => {
  if (db.open) db.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('the audit trail', () => {
  it('seals each entry over its contents and the seal before it; an untouched trail verifies', () => {
    const page = audit.list();
    expect(page.total).toBe(6);
    expect(page.entries.map((e) => e.seq)).toEqual([6, 5, 4, 3, 2, 1]);
    const first = db.prepare('SELECT * FROM audit_log WHERE seq = 1').get() as Parameters<typeof sealOf>[1] & { prev_hash: string; hash: string };
    expect(first.prev_hash).toBe(GENESIS_HASH);
    expect(first.hash).toBe(sealOf(GENESIS_HASH, first));
    expect(page.entries[0]).toMatchObject({ actor: 'ada (desktop app)', action: 'question.asked', summary: 'Asked: question 6', details: { question: 'question 6', n: 6 } });
    expect(audit.verify()).toMatchObject({ intact: true, checked: 6, problem: null, badSeq: null, headSeq: 6, headHash: page.entries[0].hash });
  });

  it('the app itself cannot change or remove an entry', () => {
    expect(() => db.prepare("UPDATE audit_log SET summary = 'x' WHERE seq = 2").run()).toThrow(/append-only/);
    expect(() => db.prepare('DELETE FROM audit_log WHERE seq = 2').run()).toThrow(/append-only/);
    expect(audit.verify().intact).toBe(true);
  });

  it('an entry edited in the file is found at that entry', () => {
    tamper("UPDATE audit_log SET details = json_set(details, '$.question', 'something else') WHERE seq = 3");
    expect(audit.verify()).toMatchObject({ intact: false, badSeq: 3, checked: 2, problem: 'Entry 3 was changed after it was written: its contents no longer match its seal.' });
  });

  it('an entry edited and resealed is found at that entry (the next one was sealed after the original)', () => {
    const row = db.prepare('SELECT * FROM audit_log WHERE seq = 4').get() as Parameters<typeof sealOf>[1] & { prev_hash: string };
    const forged = { ...row, summary: 'Asked: nothing' };
    tamper('UPDATE audit_log SET summary = ?, hash = ? WHERE seq = 4', forged.summary, sealOf(row.prev_hash, forged));
    expect(audit.verify()).toMatchObject({ intact: false, badSeq: 4, problem: 'Entry 4 was changed or replaced after it was written: entry 5 was sealed after a different entry 4.' });
  });

  it('an entry deleted from the middle is found at its place', () => {
    tamper('DELETE FROM audit_log WHERE seq = 2');
    expect(audit.verify()).toMatchObject({ intact: false, badSeq: 2, problem: 'Entry 2 is missing: removed from the database after it was written.' });
  });

  it('entries deleted from the end are found by the seal kept beside the database', () => {
    tamper('DELETE FROM audit_log WHERE seq >= 5');
    expect(audit.verify()).toMatchObject({ intact: false, badSeq: 5, problem: 'Entries 5–6 are missing: removed from the end of the trail.' });
  });

  it('a trail rewritten from the start does not match the seal file', () => {
    // Every entry resealed after a change to the first: the chain holds, the seal file does not.
    const rows = db.prepare('SELECT * FROM audit_log ORDER BY seq').all() as (Parameters<typeof sealOf>[1] & { prev_hash: string; hash: string })[];
    let prev = GENESIS_HASH;
    const rewritten = rows.map((r) => {
      const row = { ...r, summary: r.seq === 1 ? 'Asked: nothing' : r.summary };
      const hash = sealOf(prev, row);
      const out = { ...row, prev_hash: prev, hash };
      prev = hash;
      return out;
    });
    db.close();
    const raw = new Sqlite(file);
    raw.exec('DROP TRIGGER audit_log_no_update; DROP TRIGGER audit_log_no_delete; DELETE FROM audit_log;');
    const insert = raw.prepare('INSERT INTO audit_log (seq, at, actor, action, summary, details, prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?)');
    for (const r of rewritten) insert.run(r.seq, r.at, r.actor, r.action, r.summary, r.details, r.prev_hash, r.hash);
    raw.close();
    db = openDatabase(file);
    audit = openAudit();
    expect(audit.verify()).toMatchObject({ intact: false, badSeq: 6, problem: 'The trail was rewritten up to entry 6: it no longer matches the seal kept beside the database.' });
  });

  it('an append after the last seal was written (a crash between the two) is not taken for tampering', () => {
    const seal = JSON.parse(JSON.stringify(audit.verify()));
    audit.record('export', 'Exported the audit trail', {});
    writeFileSync(join(dir, 'audit-seal.json'), JSON.stringify({ seq: seal.headSeq, hash: seal.headHash }));
    expect(audit.verify()).toMatchObject({ intact: true, checked: 7 });
  });

  it('filters by group, action and words; pages go back in time', () => {
    audit.record('document.added', 'Added the document “Lease 50% off.pdf”', { fileName: 'Lease 50% off.pdf' });
    audit.record('document.deleted', 'Deleted the document “Lease 50% off.pdf”', { fileName: 'Lease 50% off.pdf' });
    expect(audit.list({ action: 'document' }).entries.map((e) => e.action)).toEqual(['document.deleted', 'document.added']);
    expect(audit.list({ action: 'document.added' }).total).toBe(1);
    expect(audit.list({ text: '50%' }).total).toBe(2);
    expect(audit.list({ text: '5_%' }).total).toBe(0);
    expect(audit.list({ text: 'question 4' }).entries.map((e) => e.seq)).toEqual([4]);
    const first = audit.list({ limit: 3 });
    expect(first.entries.map((e) => e.seq)).toEqual([8, 7, 6]);
    const second = audit.list({ limit: 3, beforeSeq: first.nextBeforeSeq! });
    expect(second.entries.map((e) => e.seq)).toEqual([5, 4, 3]);
    expect(audit.list({ limit: 3, beforeSeq: 3 })).toMatchObject({ nextBeforeSeq: null });
  });

  it('exports every entry as JSON Lines that can be checked elsewhere, seal by seal', () => {
    const lines = audit.exportJsonl().trim().split('\n').map((l) => JSON.parse(l) as { seq: number; at: number; actor: string; action: string; summary: string; sealedDetails: string; prevHash: string; hash: string; time: string });
    expect(lines).toHaveLength(6);
    let prev = GENESIS_HASH;
    for (const l of lines) {
      expect(l.prevHash).toBe(prev);
      expect(sealOf(prev, { seq: l.seq, at: l.at, actor: l.actor, action: l.action, summary: l.summary, details: l.sealedDetails })).toBe(l.hash);
      prev = l.hash;
    }
    expect(lines[0].time).toBe(new Date(lines[0].at).toISOString());
  });
});
