// Turns a plain library (every version before encryption) into an encrypted one, in place,
// without a moment where a crash could lose it:
//   1. the key is already saved (enclave-key.json) before anything else happens;
//   2. a copy is written beside it (VACUUM INTO) and encrypted (rekey), then checked: it opens with
//      the key, passes SQLite's integrity check, and holds as many rows in every table;
//   3. the plain file is renamed aside, the encrypted copy takes its name, and only then is the
//      plain file removed.
// Killed at any step, the next start finds either the plain library (and starts again) or the
// encrypted one (and removes what is left of the plain one).
import { existsSync, renameSync, rmSync, statSync } from 'node:fs';
import { Worker } from 'node:worker_threads';
import { applyKey, CIPHER, isPlainDatabase, Sqlite, type Database } from './db.ts';

const suffix = { copy: '.encrypting', aside: '.plain' } as const;

function removeDatabaseFiles(file: string): void {
  for (const f of [file, `${file}-wal`, `${file}-shm`, `${file}-journal`]) rmSync(f, { force: true });
}

function tableCounts(db: Database): Map<string, number> {
  const names = db
    .prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND sql NOT LIKE 'CREATE VIRTUAL TABLE%' ORDER BY name")
    .pluck()
    .all() as string[];
  return new Map(names.map((n) => [n, (db.prepare(`SELECT count(*) FROM "${n.replace(/"/g, '""')}"`).pluck().get() as number) ?? 0]));
}

/** Finishes or rolls back an encryption that was cut off. */
export function recoverEncryption(file: string): void {
  const aside = file + suffix.aside;
  const copy = file + suffix.copy;
  if (existsSync(aside)) {
    if (existsSync(file) && !isPlainDatabase(file)) removeDatabaseFiles(aside); // done but for the clean-up
    else {
      // Cut off between the two renames: back to the plain library. (A plain file found in its
      // place cannot come from these steps; it is kept aside, never deleted.)
      if (existsSync(file)) renameSync(file, `${file}.conflict-${Date.now()}`);
      renameSync(aside, file);
    }
  }
  removeDatabaseFiles(copy);
}

/** Whether the library at `file` still has to be encrypted. */
export function needsEncryption(file: string): boolean {
  recoverEncryption(file);
  return existsSync(file) && isPlainDatabase(file);
}

/** Encrypts the plain library at `file` with `key` (see the steps above). Synchronous. */
export function encryptDatabase(file: string, key: Buffer): void {
  recoverEncryption(file);
  if (!existsSync(file) || !isPlainDatabase(file)) return;
  const copy = file + suffix.copy;
  const aside = file + suffix.aside;
  const plain = new Sqlite(file);
  let expected: Map<string, number>;
  let version: number;
  try {
    plain.pragma('busy_timeout = 5000');
    plain.pragma('wal_checkpoint(TRUNCATE)');
    expected = tableCounts(plain);
    version = plain.pragma('user_version', { simple: true }) as number;
    plain.prepare('VACUUM INTO ?').run(copy);
  } finally {
    plain.close();
  }
  const encrypted = new Sqlite(copy);
  try {
    encrypted.pragma(`cipher = '${CIPHER}'`);
    encrypted.pragma(`rekey = "x'${key.toString('hex')}'"`);
  } finally {
    encrypted.close();
  }
  if (isPlainDatabase(copy)) throw new Error('the copy of the library was not encrypted');
  // The copy must open with the key and hold everything the plain library held.
  const check = new Sqlite(copy, { fileMustExist: true });
  try {
    applyKey(check, key);
    const ok = check.pragma('quick_check', { simple: true });
    if (ok !== 'ok') throw new Error(`the encrypted copy failed SQLite's check: ${String(ok)}`);
    if ((check.pragma('user_version', { simple: true }) as number) !== version) throw new Error('the encrypted copy has another schema version');
    const got = tableCounts(check);
    for (const [table, n] of expected) {
      if (got.get(table) !== n) throw new Error(`the encrypted copy holds ${got.get(table) ?? 0} rows of ${table}, not ${n}`);
    }
  } finally {
    if (check.open) check.close();
  }
  for (const f of [`${file}-wal`, `${file}-shm`]) rmSync(f, { force: true });
  renameSync(file, aside);
  renameSync(copy, file);
  removeDatabaseFiles(aside);
}

/**
 * Encrypts a plain library off the main thread, telling `onProgress` (0–1) how far the copy has
 * got, so the person sees the work and its pace instead of a frozen window.
 */
export async function encryptDatabaseWithProgress(file: string, key: Buffer, onProgress: (fraction: number) => void): Promise<void> {
  if (!needsEncryption(file)) return;
  const total = Math.max(1, statSync(file).size + (existsSync(`${file}-wal`) ? statSync(`${file}-wal`).size : 0));
  const here = new URL(import.meta.url);
  const workerFile = new URL(`../../workers/encrypt-store${here.pathname.endsWith('.ts') ? '.ts' : '.js'}`, here);
  const worker = new Worker(workerFile, { workerData: { file, keyHex: key.toString('hex') } });
  const timer = setInterval(() => {
    try {
      onProgress(Math.min(0.99, statSync(file + suffix.copy).size / total));
    } catch {
      // not started yet
    }
  }, 250);
  try {
    await new Promise<void>((resolve, reject) => {
      worker.on('message', (m: { ok: boolean; message?: string }) => (m.ok ? resolve() : reject(new Error(m.message))));
      worker.on('error', reject);
      worker.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`the encryption stopped (exit ${code})`))));
    });
    onProgress(1);
  } finally {
    clearInterval(timer);
  }
}
