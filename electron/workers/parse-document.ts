// Worker thread: reads documents sent by main, one at a time, streaming their pages back. CPU-heavy parsing (a
// 1,000-page PDF) stays off the main thread; main can terminate this worker to cancel.
import { readFile } from 'node:fs/promises';
import { parentPort } from 'node:worker_threads';
import { UserFacingError } from '../contract/errors.ts';
import type { ParseJob, WorkerMessage } from '../services/documents/worker-protocol.ts';
import { readDocx } from '../services/documents/parsers/docx.ts';
import { readHtml } from '../services/documents/parsers/html.ts';
import { PageOcr } from '../services/documents/parsers/ocr.ts';
import { PasswordRequired, readPdf } from '../services/documents/parsers/pdf.ts';
import { readPlainText } from '../services/documents/parsers/text.ts';
import type { PageSink } from '../services/documents/parsers/types.ts';

const post = (message: WorkerMessage) => parentPort!.postMessage(message);

/** UTF-8 when it is valid; otherwise Windows-1252, the usual encoding of older text files. */
function decodeText(data: Buffer): string {
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(data);
  } catch {
    return new TextDecoder('windows-1252').decode(data);
  }
}

async function run(job: ParseJob): Promise<void> {
  const data = await readFile(job.path);
  const sink: PageSink = {
    meta: (info) => post({ type: 'meta', ...info }),
    page: (pageNumber, text, ocr) => post({ type: 'page', pageNumber, text, ocr: ocr ?? false }),
  };
  switch (job.kind) {
    case 'pdf': {
      const ocr = new PageOcr();
      try {
        await readPdf(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), job.fileName, sink, job.password, ocr);
      } finally {
        await ocr.close();
      }
      break;
    }
    case 'docx':
      readDocx(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), job.fileName, sink);
      break;
    case 'html':
      readHtml(decodeText(data), sink);
      break;
    case 'text':
    case 'markdown':
      readPlainText(decodeText(data), sink);
      break;
  }
}

// One job at a time; main sends the next only after this one's last message.
parentPort!.on('message', (job: ParseJob) => {
  run(job).then(
    () => post({ type: 'done' }),
    (e: unknown) => {
      if (e instanceof PasswordRequired) post({ type: 'password', wrong: e.wrongPassword });
      else if (e instanceof UserFacingError) post({ type: 'error', code: e.code, message: e.message });
      else post({ type: 'error', code: 'document/corrupt', message: `“${job.fileName}” could not be read: ${(e as Error)?.message ?? String(e)}` });
    },
  );
});
