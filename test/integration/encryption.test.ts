// The library encrypted at rest, on real files: a library from before encryption is encrypted in
// place on the next start and keeps everything; documents dropped in browser mode are stored
// encrypted; a wrong passphrase opens nothing and changes nothing; and a migration killed at any
// moment (kill -9) loses nothing.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { createEnclave } from '../../electron/core/app.ts';
import { applyKey, isPlainDatabase, openDatabase, Sqlite } from '../../electron/services/store/db.ts';
import { encryptDatabase, needsEncryption } from '../../electron/services/store/encrypt-store.ts';
import { keyFileWrapper, loadStoreKey, passphraseWrapper } from '../../electron/services/store/store-key.ts';
import { granter, routerCaller } from '../support/router-call.ts';
import { startWebServer, TEST_KEY_DIR, type RunningServer } from '../support/web-server.ts';
import { WireClient } from '../support/ws-client.ts';
import { WEB_ENTRY } from '../fixtures/paths.ts';

const dir = mkdtempSync(join(tmpdir(), 'enclave-encryption-'));
const servers: RunningServer[] = [];
afterAll(async () => {
  for (const s of servers) await s.kill();
  rmSync(dir, { recursive: true, force: true });
});

const SECRET = 'Patient Agnes Whitcombe takes 40 mg of atorvastatin nightly.';
const sha = (file: string) => createHash('sha256').update(readFileSync(file)).digest('hex');

function filesUnder(d: string): string[] {
  return readdirSync(d, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? filesUnder(join(d, e.name)) : e.isFile() ? [join(d, e.name)] : []));
}

/** A library made the way every version before encryption made it: plain files. */
async function plainLibrary(dataDir: string): Promise<string> {
  const enclave = createEnclave({ dataDir, mode: 'web', version: 'test' });
  const call = routerCaller(() => enclave);
  const note = join(dir, `${basename(dataDir)}-note.txt`);
  writeFileSync(note, `${SECRET}\n`);
  const { document } = await call('documents.import', { file: granter(() => enclave)(note) });
  await enclave.documents.whenIdle(document.id);
  await call('conversations.create', { title: 'About Agnes Whitcombe' });
  await enclave.shutdown();
  return document.id;
}

async function start(args: string[], env: Record<string, string> = {}): Promise<RunningServer> {
  const s = await startWebServer(args, env);
  servers.push(s);
  return s;
}

/** Runs the browser-mode server expecting it to refuse to start; returns what it said. */
function refusedStart(args: string[], env: Record<string, string> = {}): Promise<{ code: number | null; output: string }> {
  const entry = fileURLToPath(new URL('../../dist/electron/web.js', import.meta.url));
  const child = spawn(process.execPath, [entry, '--port', '0', ...args], { env: { ...process.env, ENCLAVE_KEY_DIR: TEST_KEY_DIR, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (d) => (output += d));
  child.stderr.on('data', (d) => (output += d));
  return new Promise((resolve) => child.once('exit', (code) => resolve({ code, output })));
}

describe('encryption at rest', () => {
  it('a plain library is encrypted in place on the next start, with progress, and keeps everything', async () => {
    const dataDir = join(dir, 'upgrade');
    const documentId = await plainLibrary(dataDir);
    expect(isPlainDatabase(join(dataDir, 'enclave.db'))).toBe(true);
    expect(readFileSync(join(dataDir, 'enclave.db')).includes(Buffer.from('Agnes Whitcombe'))).toBe(true);

    const server = await start(['--data-dir', dataDir, '--threads', '1']);
    expect(server.output()).toMatch(/Encrypting your library[^]*100%[^]*Your library is encrypted\./);
    const client = await WireClient.connect(server.origin, server.token);
    expect((await client.call('documents.page', { documentId, pageNumber: 1 })).text).toBe(SECRET);
    expect((await client.call('conversations.list', {})).map((c) => c.title)).toEqual(['About Agnes Whitcombe']);
    client.close();
    await server.stop();
    // Nothing of the plain library is left: no plain file, no copy, no words in the clear.
    expect(readdirSync(dataDir).filter((f) => f.startsWith('enclave.db')).sort()).toEqual(['enclave.db']);
    expect(isPlainDatabase(join(dataDir, 'enclave.db'))).toBe(false);
    for (const file of filesUnder(dataDir)) expect(readFileSync(file).includes(Buffer.from('Whitcombe')), file).toBe(false);
    // The key is not in the data folder: the folder alone opens nothing.
    const record = JSON.parse(readFileSync(join(dataDir, 'enclave-key.json'), 'utf8')) as { kind: string; keyId: string };
    expect(record.kind).toBe('keyfile');
    expect(existsSync(join(TEST_KEY_DIR, `${record.keyId}.key`))).toBe(true);
    expect(() => {
      const db = new Sqlite(join(dataDir, 'enclave.db'));
      try {
        db.prepare('SELECT count(*) FROM documents').get();
      } finally {
        db.close();
      }
    }).toThrow(/not a database/);
  });

  it('a document dropped in browser mode is stored encrypted, and read as usual', async () => {
    const dataDir = join(dir, 'upload');
    const server = await start(['--data-dir', dataDir, '--threads', '1']);
    const client = await WireClient.connect(server.origin, server.token);
    const res = await fetch(`${server.origin}/api/upload?purpose=document&name=${encodeURIComponent('Whitcombe – medications.txt')}`, {
      method: 'POST',
      body: `${SECRET}\n`,
      headers: { origin: server.origin, 'x-enclave-token': server.token },
    });
    const { file } = (await res.json()) as { file: string };
    const { document } = await client.call('documents.import', { file });
    expect(document.fileName).toBe('Whitcombe – medications.txt');
    for (let i = 0; i < 200 && (await client.call('documents.get', { documentId: document.id })).status !== 'ready'; i++) await new Promise((r) => setTimeout(r, 50));
    expect((await client.call('documents.page', { documentId: document.id, pageNumber: 1 })).text).toBe(SECRET);
    const stored = filesUnder(join(dataDir, 'documents'));
    expect(stored.map((f) => basename(f))).toEqual(['Whitcombe – medications.txt.enclave-enc']);
    for (const f of filesUnder(dataDir)) expect(readFileSync(f).includes(Buffer.from('atorvastatin')), f).toBe(false);
    client.close();
    await server.stop();
  });

  it('a passphrase: the wrong one is refused with a clear message and changes nothing; without one the library says how to open it', async () => {
    const dataDir = join(dir, 'passphrase');
    const right = join(dir, 'right.txt');
    const wrong = join(dir, 'wrong.txt');
    writeFileSync(right, 'correct horse battery staple\n');
    writeFileSync(wrong, 'correct horse battery stable\n');
    const first = await start(['--data-dir', dataDir, '--threads', '1', '--passphrase-file', right]);
    const client = await WireClient.connect(first.origin, first.token);
    await client.call('conversations.create', { title: 'Locked away' });
    client.close();
    await first.stop();
    expect(JSON.parse(readFileSync(join(dataDir, 'enclave-key.json'), 'utf8'))).toMatchObject({ kind: 'passphrase', kdf: 'scrypt' });
    const before = new Map(filesUnder(dataDir).map((f) => [f, sha(f)]));

    const refused = await refusedStart(['--data-dir', dataDir, '--passphrase-file', wrong]);
    expect(refused.code).toBe(3);
    expect(refused.output).toContain('That passphrase does not open this library. Nothing was changed; try again.');
    const without = await refusedStart(['--data-dir', dataDir]);
    expect(without.output).toContain('This library is locked with its passphrase (start Enclave with --passphrase-file).');
    expect(new Map(filesUnder(dataDir).map((f) => [f, sha(f)]))).toEqual(before);

    const again = await start(['--data-dir', dataDir, '--threads', '1'], { ENCLAVE_PASSPHRASE: 'correct horse battery staple' });
    const reopened = await WireClient.connect(again.origin, again.token);
    expect((await reopened.call('conversations.list', {})).map((c) => c.title)).toEqual(['Locked away']);
    reopened.close();
    await again.stop();
  });

  it('kill -9 at any moment of the encryption loses nothing: the next start finishes or starts over', async () => {
    const source = join(dir, 'kill-source');
    await plainLibrary(source);
    // A larger library, so the copy takes long enough to be interrupted at different points.
    const db = openDatabase(join(source, 'enclave.db'));
    db.exec('CREATE TABLE filler (x TEXT)');
    const insert = db.prepare('INSERT INTO filler VALUES (?)');
    db.transaction(() => {
      for (let i = 0; i < 60_000; i++) insert.run(`row ${i} ${'lorem ipsum '.repeat(8)}`);
    })();
    db.close();
    const key = loadStoreKey(join(dir, 'kill-key'), passphraseWrapper('a long enough passphrase')).key;
    const runner = join(dir, 'encrypt-runner.ts');
    writeFileSync(
      runner,
      `import { encryptDatabase } from ${JSON.stringify(fileURLToPath(new URL('../../electron/services/store/encrypt-store.ts', import.meta.url)))};\n` +
        `encryptDatabase(process.argv[2], Buffer.from(process.argv[3], 'hex'));\n`,
    );
    const outcomes = new Set<string>();
    for (const delayMs of [5, 40, 90, 150, 220, 300, 400, 10_000]) {
      const dataDir = join(dir, `kill-${delayMs}`);
      mkdirSync(dataDir, { recursive: true });
      for (const f of readdirSync(source).filter((f) => f.startsWith('enclave.db'))) copyFileSync(join(source, f), join(dataDir, f));
      const file = join(dataDir, 'enclave.db');
      const child = spawn(process.execPath, [runner, file, key.toString('hex')], { stdio: 'ignore' });
      const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
      const timer = setTimeout(() => child.kill('SIGKILL'), delayMs);
      const code = await exited;
      clearTimeout(timer);
      outcomes.add(code === 0 ? 'finished' : isPlainDatabase(file) || !existsSync(file) ? 'cut off before the swap' : 'cut off after the swap');
      // The next start: recovers, encrypts what is still plain, and everything is there.
      if (needsEncryption(file)) encryptDatabase(file, key);
      const check = new Sqlite(file);
      applyKey(check, key);
      expect(check.prepare('SELECT count(*) FROM filler').pluck().get()).toBe(60_000);
      expect(check.prepare('SELECT text FROM document_pages').pluck().get()).toBe(SECRET);
      check.close();
      expect(readdirSync(dataDir).filter((f) => f.startsWith('enclave.db')).sort()).toEqual(['enclave.db']);
    }
    // The kills did land in the middle of the work (not only before or after it).
    expect(outcomes.has('cut off before the swap')).toBe(true);
    expect(outcomes.has('finished')).toBe(true);
  }, 120_000);

  it('a damaged plain library that cannot be encrypted is left as it was, with a message that says so', async () => {
    const dataDir = join(dir, 'damaged');
    mkdirSync(dataDir, { recursive: true });
    const file = join(dataDir, 'enclave.db');
    writeFileSync(file, Buffer.concat([Buffer.from('SQLite format 3\0', 'latin1'), Buffer.alloc(4080, 0x5a)]));
    const before = sha(file);
    const refused = await refusedStart(['--data-dir', dataDir]);
    expect(refused.code).toBe(4);
    expect(refused.output).toMatch(/Your library could not be encrypted \(.+\)\. It is as it was; nothing was lost\./);
    expect(sha(file)).toBe(before);
    expect(readdirSync(dataDir).filter((f) => f.startsWith('enclave.db'))).toEqual(['enclave.db']);
  });

  it('a key that does not match the database is refused before anything is read or written', () => {
    const dataDir = join(dir, 'upgrade');
    const file = join(dataDir, 'enclave.db');
    const before = sha(file);
    expect(() => openDatabase(file, { key: Buffer.alloc(32, 7) })).toThrow(/key does not open its database\. Nothing was changed/);
    expect(sha(file)).toBe(before);
    expect(loadStoreKey(dataDir, keyFileWrapper(TEST_KEY_DIR)).created).toBe(false);
  });

  it('a cut-off copy of an encrypted library is called damaged (not a wrong key), and is left as it is', async () => {
    const source = join(dir, 'upgrade');
    const dataDir = join(dir, 'cut-off');
    mkdirSync(dataDir);
    for (const f of readdirSync(source).filter((f) => f === 'enclave.db' || f === 'enclave-key.json')) copyFileSync(join(source, f), join(dataDir, f));
    const file = join(dataDir, 'enclave.db');
    const bytes = readFileSync(file);
    writeFileSync(file, bytes.subarray(0, Math.floor((bytes.length * 0.9) / 4096) * 4096));
    const before = sha(file);
    const key = loadStoreKey(dataDir, keyFileWrapper(TEST_KEY_DIR)).key;
    expect(() => openDatabase(file, { key })).toThrow(/^This library's database file is damaged: it is shorter than it should be, or some of its bytes were changed \(.+\)\. Enclave did not change it\. Restore enclave\.db from a backup/);
    expect(sha(file)).toBe(before);
    // Browser mode says so and stops, instead of starting on a broken library.
    const started = spawn(process.execPath, [WEB_ENTRY, '--port', '0', '--data-dir', dataDir], { env: { ...process.env, ENCLAVE_KEY_DIR: TEST_KEY_DIR }, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    started.stdout.on('data', (d) => (output += d));
    started.stderr.on('data', (d) => (output += d));
    const code = await new Promise<number | null>((resolve) => started.once('exit', resolve));
    expect(code).toBe(3);
    expect(output).toMatch(/This library's database file is damaged/);
    expect(output).not.toMatch(/at .+\.js:\d+/);
    expect(sha(file)).toBe(before);
  });
});
