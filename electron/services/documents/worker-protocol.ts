import type { ErrorCode } from '../../contract/errors.ts';
import type { DocumentKind } from '../../contract/types.ts';

export interface ParseJob {
  path: string;
  fileName: string;
  kind: DocumentKind;
  password?: string;
  /** The library's key, for a copy stored encrypted in the data folder. */
  keyHex?: string;
}

export interface ParsedPage {
  pageNumber: number;
  text: string;
  ocr: boolean;
  /** OCR's confidence (0–100) for a page it read. */
  ocrConfidence: number | null;
}

export type WorkerMessage =
  | { type: 'meta'; pageCount: number | null; paginated: boolean; title: string | null }
  /** Pages in order, sent in batches (one message per page cost main a task per page). */
  | { type: 'pages'; pages: ParsedPage[] }
  /** The end of a document; `notices` name what could not be read, and where. */
  | { type: 'done'; notices: string[]; attachments: { fileName: string; data: Uint8Array }[]; readerRss?: number }
  | { type: 'password'; wrong: boolean }
  | { type: 'error'; code: ErrorCode; message: string };
