// Documents are read in a separate process, not a thread of the app's own. A thread's freed heap
// stays in the app's memory (a 10,000-page read left ~400 MB behind for good); a process that
// ends gives all of it back to the system, and a file built to exhaust memory ends that process,
// never the app. Node (browser mode, tests) forks it; the desktop app starts it as an Electron
// utility process (see main.ts), which needs no Node-mode Electron binary.
import { fork } from 'node:child_process';
import type { ParseJob, WorkerMessage } from './worker-protocol.ts';

export interface ReaderExit {
  /** The reader ran out of the memory it is allowed (V8's heap limit). */
  outOfMemory: boolean;
  /** Exit code or signal, for the log. */
  how: string;
}

/** One running reader process, as the parse queue sees it. */
export interface ReaderProcess {
  readonly pid: number | undefined;
  send(job: ParseJob): void;
  onMessage(listener: (m: WorkerMessage) => void): void;
  /** Called once, when the process has ended for any reason (also after `kill`). */
  onExit(listener: (exit: ReaderExit) => void): void;
  /** Ends the process; resolves once it has exited. */
  kill(): Promise<void>;
}

export type SpawnReader = (modulePath: string, options: { heapMb: number }) => ReaderProcess;

/** What V8 prints when a process reaches its heap limit. */
const OUT_OF_MEMORY = /heap out of memory|Reached heap limit|Allocation failed/i;
const STDERR_TAIL = 4096;

/** Keeps the end of a reader's stderr (to tell out-of-memory apart) and passes it on to ours. */
export function stderrTail(stream: NodeJS.ReadableStream | null): () => string {
  let tail = '';
  stream?.on('data', (chunk: Buffer) => {
    process.stderr.write(chunk);
    tail = (tail + chunk.toString('utf8')).slice(-STDERR_TAIL);
  });
  return () => tail;
}

export const outOfMemoryIn = (stderr: string) => OUT_OF_MEMORY.test(stderr);

/** Where a process was told to end, said for the log. */
export function exitText(code: number | null, signal: NodeJS.Signals | null): string {
  return signal ? `signal ${signal}` : `code ${code}`;
}

/** A reader forked as a Node child process, messages by structured clone. */
export const forkReader: SpawnReader = (modulePath, { heapMb }) => {
  const child = fork(modulePath, [], {
    // Only the heap limit: the parent's own flags (a test runner's loaders) are not the reader's.
    execArgv: [`--max-old-space-size=${heapMb}`],
    serialization: 'advanced',
    stdio: ['ignore', 'inherit', 'pipe', 'ipc'],
  });
  const stderr = stderrTail(child.stderr);
  const exited = new Promise<ReaderExit>((resolve) => {
    child.once('exit', (code, signal) => {
      // Let the last of stderr arrive before telling out-of-memory apart.
      setImmediate(() => resolve({ outOfMemory: outOfMemoryIn(stderr()), how: exitText(code, signal) }));
    });
    child.once('error', (e) => {
      console.error('[enclave] the document reader could not start:', e);
      if (child.exitCode === null && child.signalCode === null && child.pid === undefined) resolve({ outOfMemory: false, how: 'not started' });
    });
  });
  return {
    get pid() {
      return child.pid;
    },
    send(job) {
      if (child.connected) child.send(job);
    },
    onMessage(listener) {
      child.on('message', (m) => listener(m as WorkerMessage));
    },
    onExit(listener) {
      void exited.then(listener);
    },
    async kill() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
    },
  };
};
