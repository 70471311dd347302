// The reader process behind every document: a file that exhausts memory or crashes the reader
// ends that process with a clear message and the next document is read by a fresh one; a large
// document's reader is ended so its memory goes back to the system; cancel kills a reading process.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { ParseQueue } from '../../electron/services/documents/parse-queue.ts';
import { forkReader } from '../../electron/services/documents/reader-process.ts';
import type { WorkerMessage } from '../../electron/services/documents/worker-protocol.ts';

const READER = fileURLToPath(new URL('../support/test-reader.ts', import.meta.url));
let queue: ParseQueue;

afterEach(async () => {
  await queue?.close();
});

interface Outcome {
  messages: WorkerMessage[];
  failure: string | null;
}

function read(fileName: string): { outcome: Outcome; job: ReturnType<ParseQueue['run']> } {
  const outcome: Outcome = { messages: [], failure: null };
  const job = queue.run(
    { path: '/nonexistent', fileName, kind: 'text' },
    (m) => outcome.messages.push(m),
    (message) => (outcome.failure = message),
  );
  return { outcome, job };
}

const alive = (pid: number) => existsSync(`/proc/${pid}`);

describe('the reader process', () => {
  it('a file that exhausts the reader’s memory fails with a clear message; the next is read by a fresh reader', async () => {
    queue = new ParseQueue(READER, forkReader, 64);
    const bomb = read('exhaust');
    const after = read('fine:3');
    await bomb.job.finished;
    expect(bomb.outcome.failure).toBe(
      '“exhaust” needs more memory to read than Enclave gives one document (0.06 GB). It may be damaged or built to exhaust memory; if it opens elsewhere, split it or export it to PDF.',
    );
    await after.job.finished;
    expect(after.outcome.failure).toBeNull();
    const pages = after.outcome.messages.flatMap((m) => (m.type === 'pages' ? m.pages.map((p) => p.text) : []));
    expect(pages).toEqual(['page 1', 'page 2', 'page 3']);
    // Attachments cross the process boundary as bytes.
    const done = after.outcome.messages.find((m) => m.type === 'done');
    expect(done?.type === 'done' && Array.from(done.attachments[0].data)).toEqual([104, 105]);
  });

  it('a reader that crashes fails that document with a message, not internal text', async () => {
    queue = new ParseQueue(READER, forkReader, 256);
    const { outcome, job } = read('crash');
    await job.finished;
    expect(outcome.failure).toBe('Reading “crash” stopped: the reader failed on this file. It may be damaged; if it opens elsewhere, export it to PDF and add it again.');
  });

  it('the reader is kept warm after a small document and ended after a large one, so its memory returns', async () => {
    queue = new ParseQueue(READER, forkReader, 256);
    const small = read('fine:2');
    await small.job.finished;
    const warm = queue.readerPid!;
    expect(alive(warm)).toBe(true);
    const large = read('fine:600');
    await large.job.finished;
    expect(large.outcome.failure).toBeNull();
    expect(queue.readerPid).toBeUndefined();
    await expect.poll(() => alive(warm)).toBe(false);
  });

  it('cancelling a document being read ends its reader process', async () => {
    queue = new ParseQueue(READER, forkReader, 256);
    const { outcome, job } = read('hang');
    await expect.poll(() => outcome.messages.length).toBe(1);
    const pid = queue.readerPid!;
    await job.cancel();
    expect(alive(pid)).toBe(false);
    expect(outcome.failure).toBeNull();
  });
});
