// Starts the real browser-mode server (dist/electron/web.js) as a child process, as a user would.
import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { applyKey, Sqlite, type Database } from '../../electron/services/store/db.ts';
import { keyFileWrapper, loadStoreKey } from '../../electron/services/store/store-key.ts';
import { WEB_ENTRY } from '../fixtures/paths.ts';
import { traced } from './egress.ts';

/** The processes `pid` started. */
function childrenOf(pid: number): number[] {
  try {
    return readdirSync(`/proc/${pid}/task`).flatMap((tid) => readFileSync(`/proc/${pid}/task/${tid}/children`, 'utf8').split(' ').filter(Boolean).map(Number));
  } catch {
    return [];
  }
}

/** Where test servers keep their libraries' key files (never the tester's own key folder). */
export const TEST_KEY_DIR = process.env.ENCLAVE_KEY_DIR ?? join(tmpdir(), 'enclave-test-keys');

export interface RunningServer {
  url: string;
  origin: string;
  token: string;
  process: ChildProcess;
  output: () => string;
  /** Graceful stop (SIGTERM): the app saves and releases everything. */
  stop(): Promise<void>;
  /** A crash: SIGKILL, nothing gets a chance to run. */
  kill(): Promise<void>;
}

/** `command`: what starts the server instead of `node dist/electron/web.js` (a bundle's launcher, inside a namespace). */
export async function startWebServer(args: string[], env: Record<string, string> = {}, options: { traceConnects?: string; command?: string[] } = {}): Promise<RunningServer> {
  const command = [...(options.command ?? [process.execPath, WEB_ENTRY]), '--port', '0', ...args];
  const [program, ...rest] = options.traceConnects ? traced(command, options.traceConnects) : command;
  const child = spawn(program, rest, {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ENCLAVE_KEY_DIR: TEST_KEY_DIR, ...env },
  });
  let output = '';
  child.stdout!.on('data', (d) => (output += d));
  child.stderr!.on('data', (d) => (output += d));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start:\n${output}`)), 30_000);
    const check = () => {
      const match = /running at (http:\/\/127\.0\.0\.1:\d+\/\?token=[\w-]+)/.exec(output);
      if (match) {
        clearTimeout(timer);
        resolve(match[1]);
      }
    };
    child.stdout!.on('data', check);
    child.once('exit', () => reject(new Error(`server exited:\n${output}`)));
  });
  const parsed = new URL(url);
  const wait = async (signal: NodeJS.Signals) => {
    if (child.exitCode === null && child.signalCode === null) {
      // Under strace, the signal is for the traced server (strace ends when it does).
      const targets = options.traceConnects ? childrenOf(child.pid!) : [];
      if (targets.length === 0) child.kill(signal);
      for (const pid of targets) process.kill(pid, signal);
    }
    await exited;
  };
  return {
    url,
    origin: parsed.origin,
    token: parsed.searchParams.get('token')!,
    process: child,
    output: () => output,
    stop: () => wait('SIGTERM'),
    kill: () => wait('SIGKILL'),
  };
}

/** Waits until `predicate` holds, polling; for conditions a test cannot be told about. */
export async function until(predicate: () => boolean | Promise<boolean>, timeoutMs = 20_000, what = 'condition'): Promise<void> {
  const start = Date.now();
  while (!(await predicate())) {
    if (Date.now() - start > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** A test server's library opened directly (with its key), as someone holding both would. */
export function openServerDatabase(dataDir: string, options: { readonly?: boolean } = {}): Database {
  const db = new Sqlite(join(dataDir, 'enclave.db'), { readonly: options.readonly ?? false, fileMustExist: true });
  applyKey(db, loadStoreKey(dataDir, keyFileWrapper(TEST_KEY_DIR)).key);
  return db;
}
