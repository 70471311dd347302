// What a file really is, from its first bytes (the extension can lie either way).
import { extname } from 'node:path';
import { UserFacingError } from '../../contract/errors.ts';
import type { DocumentKind } from '../../contract/types.ts';

export interface DetectedKind {
  kind: DocumentKind;
  notice: string | null;
}

const KIND_NAMES: Record<DocumentKind, string> = {
  pdf: 'a PDF',
  docx: 'a Word document',
  text: 'plain text',
  markdown: 'Markdown',
  html: 'a web page (HTML)',
};

const EXTENSION_KIND: Record<string, DocumentKind> = {
  '.pdf': 'pdf',
  '.docx': 'docx',
  '.txt': 'text',
  '.text': 'text',
  '.log': 'text',
  '.csv': 'text',
  '.md': 'markdown',
  '.markdown': 'markdown',
  '.html': 'html',
  '.htm': 'html',
  '.xhtml': 'html',
};

export const SUPPORTED_TYPES = 'PDF, Word (.docx), plain text, Markdown and HTML';

function startsWith(head: Buffer, bytes: number[]): boolean {
  return bytes.every((b, i) => head[i] === b);
}

function unsupported(fileName: string, what: string): never {
  throw new UserFacingError('document/unsupported', `“${fileName}” is ${what}. Enclave reads ${SUPPORTED_TYPES}.`);
}

export function detectKind(head: Buffer, fileName: string): DetectedKind {
  const ext = extname(fileName).toLowerCase();
  const claimed = EXTENSION_KIND[ext];
  let kind: DocumentKind;

  // PDF allows junk before the header within the first 1024 bytes.
  if (head.subarray(0, 1024).includes('%PDF-')) kind = 'pdf';
  else if (startsWith(head, [0x50, 0x4b, 0x03, 0x04])) {
    if (head.includes('mimetypeapplication/vnd.oasis.opendocument')) unsupported(fileName, 'an OpenDocument file, which is not supported yet; save it as .docx or PDF');
    kind = 'docx'; // confirmed when the archive is opened: it must hold word/document.xml
  } else if (startsWith(head, [0xd0, 0xcf, 0x11, 0xe0])) unsupported(fileName, 'an old Word 97–2003 (.doc) or Office file; save it as .docx or PDF');
  else if (startsWith(head, [0x89, 0x50, 0x4e, 0x47]) || startsWith(head, [0xff, 0xd8, 0xff]) || startsWith(head, [0x47, 0x49, 0x46])) {
    unsupported(fileName, 'an image');
  } else if (head.includes(0)) unsupported(fileName, 'a binary file, not a document');
  else {
    const text = head.toString('utf8').trimStart().slice(0, 512).toLowerCase();
    if (claimed === 'html' || text.startsWith('<!doctype html') || text.startsWith('<html')) kind = 'html';
    else if (claimed === 'markdown') kind = 'markdown';
    else kind = 'text';
  }

  const textual = (k: DocumentKind | undefined) => k === 'text' || k === 'markdown' || k === 'html';
  const agrees = claimed === kind || (textual(claimed) && textual(kind));
  const notice =
    claimed && !agrees ? `“${fileName}” is named like ${KIND_NAMES[claimed]} but is ${KIND_NAMES[kind]}; it was read as such.` : null;
  return { kind, notice };
}
