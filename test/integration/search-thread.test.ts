// A slow search never holds up a streaming reply: keyword and vector searches run on a thread of
// their own (workers/retrieval-reader.ts). Shown on a library of 40,000 passages, where a
// whole-library search with a long question is slow, against the same searches on main's
// connection, which stall the reply completely while they run.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EventMap } from '../../electron/contract/types.ts';
import { createEnclave, type Enclave } from '../../electron/core/app.ts';
import { CORPUS } from '../fixtures/corpus.ts';
import { ENDLESS_MODEL } from '../fixtures/paths.ts';
import { granter, routerCaller } from '../support/router-call.ts';

let dir: string;
let enclave: Enclave;
const call = routerCaller(() => enclave);
const grant = granter(() => enclave);
const QUESTION = 'Can either party terminate the lease or the contract by giving notice in writing to the other party, and how many days of notice are needed before the tenant or the employee must leave?';
const SEARCHES = 8;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'enclave-search-thread-'));
  // A reply long enough to outlast the searches: the fixture model never stops by itself.
  enclave = createEnclave({ dataDir: dir, mode: 'web', version: 'test', settingsOverride: { threads: 1, contextSize: 8192, gpu: 'off', maxTokens: 8000 } });
  await call('models.add', { file: grant(ENDLESS_MODEL) });
  await enclave.models.settled;
  // 40,000 passages of the test corpus's sentences, 24 to a passage, in a seeded order.
  const sentences = CORPUS.flatMap((d) => d.pages);
  let seed = 42;
  const next = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31);
  const db = enclave.db;
  db.transaction(() => {
    const insertDoc = db.prepare(
      `INSERT INTO documents (id, title, file_name, kind, source_path, size_bytes, sha256, paginated, page_count, status, created_at, updated_at, chunked)
       VALUES (?, ?, ?, 'text', '', 1, ?, 1, 40, 'ready', 0, 0, 1)`,
    );
    const insertChunk = db.prepare('INSERT INTO chunks (document_id, page_number, char_start, char_end, text) VALUES (?, ?, 0, ?, ?)');
    for (let d = 0; d < 1000; d++) {
      insertDoc.run(`doc-${d}`, `File ${d}`, `file-${d}.txt`, `sha-${d}`);
      for (let p = 1; p <= 40; p++) {
        const text = Array.from({ length: 24 }, () => sentences[next() % sentences.length]).join(' ');
        insertChunk.run(`doc-${d}`, p, text.length, text);
      }
    }
  })();
}, 120_000);

afterAll(async () => {
  await enclave.shutdown();
  rmSync(dir, { recursive: true, force: true });
});

describe('searching while a reply streams', () => {
  it('the reply keeps streaming through slow searches on the search thread; the same searches on main stall it', async () => {
    const everything = enclave.db.prepare('SELECT id FROM documents').pluck().all() as string[];
    expect(enclave.searchReader.threaded).toBe(true);
    const deltas: number[] = [];
    const off = enclave.events.subscribe((name) => {
      if (name === 'chat.delta') deltas.push(performance.now());
    });
    const conversationId = (await call('conversations.create', {})).id;
    const done = new Promise<number>((resolve) => {
      const stop = enclave.events.subscribe((name, payload) => {
        if (name === 'chat.done' && (payload as EventMap['chat.done']).conversationId === conversationId) {
          stop();
          resolve(performance.now());
        }
      });
    });
    try {
      await call('chat.send', { conversationId, text: 'Tell me a long story' });
      while (deltas.length < 5) await new Promise((r) => setTimeout(r, 5));

      // On main's connection: nothing else runs on main until the searches end.
      const mainStart = performance.now();
      for (let i = 0; i < SEARCHES; i++) enclave.retrieval.bm25(QUESTION, everything, 50);
      const mainEnd = performance.now();
      await new Promise((r) => setTimeout(r, 50));

      // On the search thread, the same searches, one after another.
      const threadStart = performance.now();
      let hits = 0;
      for (let i = 0; i < SEARCHES; i++) hits += (await enclave.searchReader.bm25(QUESTION, everything, 50)).length;
      const threadEnd = performance.now();
      expect(hits).toBe(SEARCHES * 50);
      // A search this large is shared between the threads, each scoring half the passages: the
      // merged result is the one search main makes over all of them.
      expect(await enclave.searchReader.bm25(QUESTION, everything, 50)).toEqual(enclave.retrieval.bm25(QUESTION, everything, 50));
      expect(await enclave.searchReader.bm25(QUESTION, everything.slice(0, 3), 50)).toEqual(enclave.retrieval.bm25(QUESTION, everything.slice(0, 3), 50));

      await call('chat.stop', { conversationId });
      const finished = await done;
      // The reply was streaming throughout both windows (it was stopped after them).
      expect(finished).toBeGreaterThan(threadEnd);
      const within = (from: number, to: number) => deltas.filter((t) => t > from && t < to);
      // Slow enough to matter: each window lasted well over the deltas' 16 ms pace.
      expect(mainEnd - mainStart).toBeGreaterThan(100);
      expect(within(mainStart, mainEnd)).toEqual([]);
      const during = within(threadStart, threadEnd);
      expect(during.length).toBeGreaterThanOrEqual(5);
      // No pause in the stream as long as half the searches' time.
      const marks = [threadStart, ...during, threadEnd];
      const longestGap = Math.max(...marks.slice(1).map((t, i) => t - marks[i]));
      expect(longestGap).toBeLessThan((threadEnd - threadStart) / 2);
    } finally {
      off();
    }
  }, 120_000);
});
