// One warm reader process reads documents one after another. Starting one (and loading pdf.js
// into it) costs ~0.3 s, so it is kept for the next document and let go after a minute idle, or
// at once after a large document, so that its memory goes back to the system.
// Several files dropped at once queue here instead of competing for the cores.
import { forkReader, type ReaderProcess, type SpawnReader } from './reader-process.ts';
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

const IDLE_MS = 15_000;
/** The reader's heap: a file built to exhaust memory stops the reader, not the app. */
export const WORKER_HEAP_MB = 2048;
/** After this many pages read by one process, it is let go at once so its memory returns. */
const RECYCLE_AFTER_PAGES = 500;
/** A reader that a document has left larger than this is let go at once (a fresh one is ~150 MB). */
export const RECYCLE_ABOVE_BYTES = 400 * 1024 * 1024;
const gigabytes = (mb: number) => Number((mb / 1024).toFixed(2)).toString();
const isTerminal = (m: WorkerMessage) => m.type === 'done' || m.type === 'error' || m.type === 'password';

export class ParseQueue {
  readonly #workerFile: string;
  readonly #spawnReader: SpawnReader;
  readonly #queue: Entry[] = [];
  #worker: ReaderProcess | null = null;
  /** Pages the current process has read since it started. */
  #workerPages = 0;
  #current: Entry | null = null;
  #idleTimer: ReturnType<typeof setTimeout> | null = null;

  readonly #heapMb: number;

  constructor(workerFile: string, spawnReader: SpawnReader = forkReader, heapMb = WORKER_HEAP_MB) {
    this.#workerFile = workerFile;
    this.#spawnReader = spawnReader;
    this.#heapMb = heapMb;
  }

  /** The running reader's process id (none while idle): for measuring the app's whole memory. */
  get readerPid(): number | undefined {
    return this.#worker?.pid;
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
          // Stopping mid-document means stopping the process; the next job gets a fresh one.
          await this.#discardWorker();
        }
        await finished;
      },
    };
  }

  #spawn(): ReaderProcess {
    const worker = this.#spawnReader(this.#workerFile, { heapMb: this.#heapMb });
    worker.onMessage((m) => {
      const entry = this.#current;
      if (!entry || worker !== this.#worker) return;
      if (m.type === 'pages') this.#workerPages += m.pages.length;
      if (!entry.cancelled) entry.onMessage(m);
      if (isTerminal(m)) {
        // A large document leaves pdf.js caches and a grown heap behind: a fresh process starts small.
        const grown = m.type === 'done' && (m.readerRss ?? 0) > RECYCLE_ABOVE_BYTES;
        if (this.#workerPages > RECYCLE_AFTER_PAGES || grown) void this.#discardWorker();
        else this.#complete(entry);
      }
    });
    worker.onExit(({ outOfMemory, how }) => {
      if (worker !== this.#worker) return;
      this.#worker = null;
      const entry = this.#current;
      if (!entry) return;
      const name = entry.job.fileName;
      if (!outOfMemory) console.error(`[enclave] the document reader stopped (${how}) while reading ${name}`);
      if (!entry.cancelled) {
        entry.onFailure(
          outOfMemory
            ? `“${name}” needs more memory to read than Enclave gives one document (${gigabytes(this.#heapMb)} GB). It may be damaged or built to exhaust memory; if it opens elsewhere, split it or export it to PDF.`
            : `Reading “${name}” stopped: the reader failed on this file. It may be damaged; if it opens elsewhere, export it to PDF and add it again.`,
        );
      }
      this.#complete(entry);
    });
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
    this.#worker.send(entry.job);
  }

  async #discardWorker(): Promise<void> {
    const worker = this.#worker;
    this.#worker = null;
    if (this.#idleTimer) clearTimeout(this.#idleTimer);
    this.#idleTimer = null;
    const entry = this.#current;
    if (worker) await worker.kill();
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
