import type { ErrorCode } from '../../contract/errors.ts';
import type { DocumentKind } from '../../contract/types.ts';

export interface ParseJob {
  path: string;
  fileName: string;
  kind: DocumentKind;
  password?: string;
}

export type WorkerMessage =
  | { type: 'meta'; pageCount: number | null; paginated: boolean; title: string | null }
  | { type: 'page'; pageNumber: number; text: string; ocr: boolean }
  | { type: 'done' }
  | { type: 'password'; wrong: boolean }
  | { type: 'error'; code: ErrorCode; message: string };
