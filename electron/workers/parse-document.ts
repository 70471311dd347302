// The reader process: reads documents sent by main, one at a time, streaming their pages back in
// batches. CPU-heavy parsing (a 1,000-page PDF) stays out of the app's process; main kills this
// process to cancel, and when it ends all its memory goes back to the system. Every document is
// bounded: at most MAX_PAGES pages and MAX_TEXT_CHARS characters are read, and what is left out is
// said in a notice. It runs as an Electron utility process (process.parentPort) in the desktop
// app, or as a forked Node process (process.send) in browser mode and tests.
import { readDocumentBytes } from '../services/files/vault.ts';
import { UserFacingError } from '../contract/errors.ts';
import type { ParsedPage, ParseJob, WorkerMessage } from '../services/documents/worker-protocol.ts';
import { detectKind } from '../services/documents/detect.ts';
import { readDocx } from '../services/documents/parsers/docx.ts';
import { readEmail, type EmailAttachment } from '../services/documents/parsers/email.ts';
import { readImage } from '../services/documents/parsers/image.ts';
import { readOdt } from '../services/documents/parsers/odt.ts';
import { readRtf } from '../services/documents/parsers/rtf.ts';
import { readXlsx } from '../services/documents/parsers/xlsx.ts';
import { readXml } from '../services/documents/parsers/xml.ts';
import { decodeText, undecodableNotice } from '../services/documents/parsers/encoding.ts';
import { readHtml } from '../services/documents/parsers/html.ts';
import { PageOcr } from '../services/documents/parsers/ocr.ts';
import { PasswordRequired, readPdf } from '../services/documents/parsers/pdf.ts';
import { readPlainText } from '../services/documents/parsers/text.ts';
import { MAX_PAGES, MAX_TEXT_CHARS, ReadLimitReached, type PageSink } from '../services/documents/parsers/types.ts';

interface ParentPort {
  postMessage(message: unknown): void;
  on(event: 'message', listener: (e: { data: unknown }) => void): void;
}
const electronParent = (process as unknown as { parentPort?: ParentPort }).parentPort;

const post = (message: WorkerMessage) => {
  if (electronParent) electronParent.postMessage(message);
  else process.send?.(message);
};

function onJob(listener: (job: ParseJob) => void): void {
  if (electronParent) electronParent.on('message', (e) => listener(e.data as ParseJob));
  else {
    process.on('message', (job) => listener(job as ParseJob));
    // Main went away (it crashed or was killed): there is no one to read for.
    process.on('disconnect', () => process.exit(0));
  }
}

const BATCH_PAGES = 64;
const BATCH_CHARS = 1_000_000;
const BATCH_MS = 50;

const thousands = (n: number) => n.toLocaleString('en-US');

/** A sink that batches pages to main, enforces the caps, and gathers notices. */
class BoundedSink implements PageSink {
  readonly notices: string[] = [];
  readonly #fileName: string;
  #batch: ParsedPage[] = [];
  #batchChars = 0;
  #since = 0;
  #chars = 0;
  #pageCount: number | null = null;
  #paginated = true;

  constructor(fileName: string) {
    this.#fileName = fileName;
  }

  meta(info: { pageCount: number | null; paginated: boolean; title: string | null }): void {
    this.#pageCount = info.pageCount;
    this.#paginated = info.paginated;
    post({ type: 'meta', ...info });
  }

  page(pageNumber: number, text: string, ocrConfidence: number | null = null): void {
    const unit = this.#paginated ? 'pages' : 'parts';
    if (pageNumber > MAX_PAGES) {
      const total = this.#pageCount && this.#pageCount > MAX_PAGES ? ` of its ${thousands(this.#pageCount)}` : '';
      throw new ReadLimitReached(
        `Only the first ${thousands(MAX_PAGES)} ${unit}${total} of “${this.#fileName}” were read: Enclave reads at most ${thousands(MAX_PAGES)} ${unit} of one document. Split it into smaller files to read the rest.`,
        pageNumber - 1,
      );
    }
    if (this.#chars + text.length > MAX_TEXT_CHARS) {
      throw new ReadLimitReached(
        `Only the first ${thousands(pageNumber - 1)} ${unit} of “${this.#fileName}” were read: it holds more than ${thousands(MAX_TEXT_CHARS / 1_000_000)} million characters of text, the most Enclave keeps from one document. Split it into smaller files to read the rest.`,
        pageNumber - 1,
      );
    }
    this.#chars += text.length;
    if (this.#batch.length === 0) this.#since = performance.now();
    const ocr = ocrConfidence !== null && text.trim().length > 0;
    this.#batch.push({ pageNumber, text, ocr, ocrConfidence: ocr ? Math.round(ocrConfidence) : null });
    this.#batchChars += text.length;
    if (this.#batch.length >= BATCH_PAGES || this.#batchChars >= BATCH_CHARS || performance.now() - this.#since >= BATCH_MS) this.flush();
  }

  notice(text: string): void {
    if (!this.notices.includes(text)) this.notices.push(text);
  }

  flush(): void {
    if (this.#batch.length === 0) return;
    post({ type: 'pages', pages: this.#batch });
    this.#batch = [];
    this.#batchChars = 0;
  }
}

/** Text beyond this many bytes cannot fit the character cap in any encoding: it is not decoded. */
const MAX_TEXT_BYTES = MAX_TEXT_CHARS * 4 + 4;

function readTextFile(data: Buffer, job: ParseJob, sink: BoundedSink): void {
  const slice = data.length > MAX_TEXT_BYTES ? data.subarray(0, MAX_TEXT_BYTES) : data;
  const decoded = decodeText(slice);
  const notice = undecodableNotice(decoded, job.fileName);
  if (notice) sink.notice(notice);
  if (job.kind === 'html') readHtml(decoded.text, sink);
  else if (job.kind === 'xml') readXml(decoded.text, sink);
  else readPlainText(decoded.text, sink);
  if (slice !== data) sink.notice(`Only the first ${thousands(MAX_TEXT_BYTES / 1024 / 1024)} MB of “${job.fileName}” were read: the rest is beyond what Enclave keeps from one document.`);
}

/** Whether an attachment is of a kind Enclave reads (as the library will judge it). */
function readable(fileName: string, head: Uint8Array): boolean {
  try {
    detectKind(head, fileName);
    return true;
  } catch {
    return false;
  }
}

async function run(job: ParseJob, sink: BoundedSink): Promise<EmailAttachment[]> {
  const data = await readDocumentBytes(job.path, job.keyHex ? Buffer.from(job.keyHex, 'hex') : null);
  const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  switch (job.kind) {
    case 'image': {
      const ocr = new PageOcr();
      try {
        await readImage(bytes, job.fileName, sink, ocr);
      } finally {
        await ocr.close();
      }
      break;
    }
    case 'xlsx':
      await readXlsx(bytes, job.fileName, sink);
      break;
    case 'odt':
      readOdt(bytes, job.fileName, sink);
      break;
    case 'rtf':
      readRtf(bytes, job.fileName, sink);
      break;
    case 'email':
      return readEmail(bytes, job.fileName, sink, readable);
    case 'pdf': {
      const ocr = new PageOcr();
      try {
        await readPdf(bytes, job.fileName, sink, job.password, ocr);
      } finally {
        await ocr.close();
      }
      break;
    }
    case 'docx':
      readDocx(bytes, job.fileName, sink);
      break;
    case 'html':
    case 'xml':
    case 'text':
    case 'markdown':
      readTextFile(data, job, sink);
      break;
  }
  return [];
}

// One job at a time; main sends the next only after this one's last message.
onJob((job) => {
  const sink = new BoundedSink(job.fileName);
  run(job, sink)
    .catch((e: unknown): EmailAttachment[] => {
      // A cap ends reading where it is: what was read is kept, and the notice says what was not.
      if (e instanceof ReadLimitReached) sink.notice(e.message);
      else throw e;
      return [];
    })
    .then(
      (attachments) => {
        sink.flush();
        // Its memory now, so that main can end a reader a document has left large.
        post({ type: 'done', notices: sink.notices, attachments, readerRss: process.memoryUsage().rss });
      },
      (e: unknown) => {
        if (e instanceof PasswordRequired) post({ type: 'password', wrong: e.wrongPassword });
        else if (e instanceof UserFacingError) post({ type: 'error', code: e.code, message: e.message });
        else {
          // Internal error text is for the log, not for the person.
          console.error(`[enclave] reading ${job.fileName} failed:`, e);
          post({ type: 'error', code: 'document/corrupt', message: `“${job.fileName}” could not be read: it may be damaged, or made in a way Enclave cannot read. If it opens elsewhere, export it to PDF and add it again.` });
        }
      },
    );
});
