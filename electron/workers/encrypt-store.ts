// Worker thread: encrypts a plain library (encrypt-store.ts) so that main stays responsive and
// can show the progress.
import { parentPort, workerData } from 'node:worker_threads';
import { encryptDatabase } from '../services/store/encrypt-store.ts';

const { file, keyHex } = workerData as { file: string; keyHex: string };
try {
  encryptDatabase(file, Buffer.from(keyHex, 'hex'));
  parentPort!.postMessage({ ok: true });
} catch (e) {
  parentPort!.postMessage({ ok: false, message: (e as Error).message });
}
