// One warm worker thread reads documents one after another. Starting a worker (and loading pdf.js
// into it) costs ~0.3 s, so it is kept for the next document and let go after a minute idle.
// Several files dropped at once queue here instead of competing for the cores.
import { Worker } from 'node:worker_threads';
import type { ParseJob, WorkerMessage } from './worker-protocol.ts';

export interface QueuedParse {
  /** Resolves when the job has ended: finished, failed, or cancelled. */
  finished: Promise<void>;
  cancel(): Promise<void>;
}

interface Entry {
  job: ParseJob;
  onMessage: (m: WorkerMessage) => void;
  onFailure: (message: string) => void;
  resolve: () => void;
  cancelled: boolean;
}

const IDLE_MS = 60_000;
/** The reading thread's heap: a file built to exhaust memory stops that thread, not the app. */
export const WORKER_HEAP_MB = 2048;
/** After this many pages read by one thread, it is let go at once so its memory returns. */
const RECYCLE_AFTER_PAGES = 500;
const isTerminal = (m: WorkerMessage) => m.type === 'done' || m.type === 'error' || m.type === 'password';

export class ParseQueue {
  readonly #workerFile: string;
  readonly #queue: Entry[] = [];
  #worker: Worker | null = null;
  /** Pages the current thread has read since it started. */
  #workerPages = 0;
  #current: Entry | null = null;
  #idleTimer: ReturnType<typeof setTimeout> | null = null;

  constructor(workerFile: string) {
    this.#workerFile = workerFile;
  }

  run(job: ParseJob, onMessage: (m: WorkerMessage) => void, onFailure: (message: string) => void): QueuedParse {
    let entry!: Entry;
    const finished = new Promise<void>((resolve) => {
      entry = { job, onMessage, onFailure, resolve, cancelled: false };
    });
    this.#queue.push(entry);
    this.#next();
    return {
      finished,
      cancel: async () => {
        entry.cancelled = true;
        const queued = this.#queue.indexOf(entry);
        if (queued >= 0) {
          this.#queue.splice(queued, 1);
          entry.resolve();
        } else if (this.#current === entry) {
          // Stopping mid-document means stopping the thread; the next job gets a fresh one.
          await this.#discardWorker();
        }
        await finished;
      },
    };
  }

  #spawn(): Worker {
    const worker = new Worker(this.#workerFile, { resourceLimits: { maxOldGenerationSizeMb: WORKER_HEAP_MB } });
    worker.on('message', (m: WorkerMessage) => {
      const entry = this.#current;
      if (!entry || worker !== this.#worker) return;
      if (m.type === 'pages') this.#workerPages += m.pages.length;
      if (!entry.cancelled) entry.onMessage(m);
      if (isTerminal(m)) {
        // A large document leaves pdf.js caches and a grown heap behind: a fresh thread starts small.
        if (this.#workerPages > RECYCLE_AFTER_PAGES) void this.#discardWorker();
        else this.#complete(entry);
      }
    });
    const failed = (message: string) => {
      if (worker !== this.#worker) return;
      this.#worker = null;
      const entry = this.#current;
      if (entry) {
        if (!entry.cancelled) entry.onFailure(message);
        this.#complete(entry);
      }
    };
    worker.on('error', (e) => {
      const outOfMemory = (e as NodeJS.ErrnoException).code === 'ERR_WORKER_OUT_OF_MEMORY';
      if (!outOfMemory) console.error('[enclave] the document reader failed:', e);
      const name = this.#current?.job.fileName ?? 'The document';
      failed(
        outOfMemory
          ? `“${name}” needs more memory to read than Enclave gives one document (${WORKER_HEAP_MB / 1024} GB). It may be damaged or built to exhaust memory; if it opens elsewhere, split it or export it to PDF.`
          : `Reading “${name}” stopped: the reader failed on this file. It may be damaged; if it opens elsewhere, export it to PDF and add it again.`,
      );
    });
    worker.on('exit', () => failed(`Reading “${this.#current?.job.fileName ?? 'the document'}” stopped unexpectedly. Add it again; if it stops again, the file may be damaged.`));
    return worker;
  }

  #complete(entry: Entry): void {
    if (this.#current === entry) this.#current = null;
    entry.resolve();
    this.#next();
  }

  #next(): void {
    if (this.#current || this.#queue.length === 0) {
      if (!this.#current && this.#worker && !this.#idleTimer) {
        this.#idleTimer = setTimeout(() => void this.#discardWorker(), IDLE_MS);
        this.#idleTimer.unref();
      }
      return;
    }
    if (this.#idleTimer) clearTimeout(this.#idleTimer);
    this.#idleTimer = null;
    const entry = this.#queue.shift()!;
    this.#current = entry;
    if (!this.#worker) {
      this.#worker = this.#spawn();
      this.#workerPages = 0;
    }
    this.#worker.postMessage(entry.job);
  }

  async #discardWorker(): Promise<void> {
    const worker = this.#worker;
    this.#worker = null;
    if (this.#idleTimer) clearTimeout(this.#idleTimer);
    this.#idleTimer = null;
    const entry = this.#current;
    if (worker) await worker.terminate();
    if (entry) this.#complete(entry);
  }

  /** Stops everything (app quit): queued and running jobs end without a result. */
  async close(): Promise<void> {
    for (const entry of this.#queue.splice(0)) {
      entry.cancelled = true;
      entry.resolve();
    }
    if (this.#current) this.#current.cancelled = true;
    await this.#discardWorker();
  }
}
