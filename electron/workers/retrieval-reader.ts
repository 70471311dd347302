// Worker thread: keyword and vector searches on its own read-only connection to the store, so a
// slow query (a large library, a common word) never holds up main: streaming replies, IPC and
// progress go on meanwhile. SQLite's WAL lets this reader see every committed write of main.
import * as sqliteVec from 'sqlite-vec';
import { parentPort, workerData } from 'node:worker_threads';
import { applyKey, Sqlite } from '../services/store/db.ts';
import { RetrievalStore } from '../services/store/retrieval-store.ts';
import type { ReaderRequest, ReaderResponse } from '../services/retrieval/reader-protocol.ts';

const { file, keyHex } = workerData as { file: string; keyHex: string | null };
const db = new Sqlite(file, { readonly: true, fileMustExist: true });
applyKey(db, keyHex ? Buffer.from(keyHex, 'hex') : null);
sqliteVec.load(db);
db.pragma('busy_timeout = 5000');
const store = new RetrievalStore(db);

parentPort!.on('message', (request: ReaderRequest) => {
  let response: ReaderResponse;
  try {
    const result =
      request.method === 'bm25'
        ? store.bm25(request.question, request.documentIds, request.limit, request.part)
        : store.vector(new Float32Array(request.query), request.documentIds, request.limit, request.part);
    response = { id: request.id, ok: true, hits: result };
  } catch (e) {
    response = { id: request.id, ok: false, message: (e as Error).message };
  }
  parentPort!.postMessage(response);
});
