// A stand-in reader process for the parse queue's own tests: what a document does to the reader
// is chosen by its file name (exhaust memory, crash, hang, or read N pages). It speaks the real
// reader's protocol over the real fork channel.
import type { ParseJob, WorkerMessage } from '../../electron/services/documents/worker-protocol.ts';

const post = (m: WorkerMessage) => process.send!(m);
process.on('disconnect', () => process.exit(0));

process.on('message', (message) => {
  const job = message as ParseJob;
  const [what, n] = job.fileName.split(':');
  if (what === 'exhaust') {
    const hoard: number[][] = [];
    for (;;) hoard.push(Array.from({ length: 1_000_000 }, (_, i) => i + hoard.length));
  }
  if (what === 'crash') process.exit(3);
  if (what === 'hang') {
    post({ type: 'meta', pageCount: 1, paginated: true, title: null });
    return;
  }
  const pages = Number(n ?? 1);
  // Memory a large document leaves behind in the reader, as pdf.js caches would.
  (globalThis as { kept?: string[] }).kept = Array.from({ length: pages }, (_, i) => `page ${i + 1} `.repeat(2000));
  post({ type: 'meta', pageCount: pages, paginated: true, title: null });
  post({ type: 'pages', pages: Array.from({ length: pages }, (_, i) => ({ pageNumber: i + 1, text: `page ${i + 1}`, ocr: false, ocrConfidence: null })) });
  post({ type: 'done', notices: [], attachments: [{ fileName: 'a.txt', data: new Uint8Array([104, 105]) }] });
});
