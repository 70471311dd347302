// What a file really is, from its first bytes (the extension can lie either way). Extension and
// content must agree on a kind Enclave reads; text is recognised in any encoding it can decode.
import { extname } from 'node:path';
import { UserFacingError } from '../../contract/errors.ts';
import type { DocumentKind } from '../../contract/types.ts';
import { byteOrderMark, decodeText, wideEncoding } from './parsers/encoding.ts';

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
  xlsx: 'an Excel workbook',
  odt: 'an OpenDocument text',
  rtf: 'a Rich Text (RTF) document',
  email: 'an e-mail message',
  image: 'an image',
  xml: 'an XML document',
};

const EXTENSION_KIND: Record<string, DocumentKind> = {
  '.pdf': 'pdf',
  '.docx': 'docx',
  '.docm': 'docx',
  '.txt': 'text',
  '.text': 'text',
  '.log': 'text',
  '.csv': 'text',
  '.md': 'markdown',
  '.markdown': 'markdown',
  '.html': 'html',
  '.htm': 'html',
  '.xhtml': 'html',
  '.xlsx': 'xlsx',
  '.xlsm': 'xlsx',
  '.odt': 'odt',
  '.rtf': 'rtf',
  '.eml': 'email',
  '.png': 'image',
  '.jpg': 'image',
  '.jpeg': 'image',
  '.tif': 'image',
  '.tiff': 'image',
  '.bmp': 'image',
  '.gif': 'image',
  '.webp': 'image',
  '.xml': 'xml',
};

/** The extensions the file pickers offer. */
export const ACCEPTED_EXTENSIONS = Object.keys(EXTENSION_KIND);

export const SUPPORTED_TYPES = 'PDF, Word (.docx), OpenDocument text (.odt), RTF, Excel (.xlsx), e-mail (.eml), images (PNG, JPEG, TIFF), plain text, Markdown, HTML and XML';

function startsWith(head: Uint8Array, bytes: number[]): boolean {
  return bytes.every((b, i) => head[i] === b);
}

function unsupported(fileName: string, what: string): never {
  throw new UserFacingError('document/unsupported', `“${fileName}” is ${what}. Enclave reads ${SUPPORTED_TYPES}.`);
}

const includesUtf16 = (head: Buffer, s: string) => head.includes(Buffer.from(s, 'utf16le'));

/** Office's compound files: old binary formats, or a password-protected new one. */
function compoundFile(head: Buffer, fileName: string, ext: string): never {
  if (includesUtf16(head, 'EncryptedPackage') || includesUtf16(head, 'EncryptionInfo')) {
    throw new UserFacingError(
      'document/encrypted',
      `“${fileName}” is a password-protected Office file. Open it in Word or Excel, remove the password (File › Info › Protect), save it, and add it again — or export it to PDF.`,
    );
  }
  const what = ext === '.xls' ? 'an old Excel 97–2003 (.xls) workbook; save it as .xlsx' : ext === '.ppt' ? 'an old PowerPoint (.ppt) file; export it to PDF' : 'an old Word 97–2003 (.doc) or Office file; save it as .docx or PDF';
  unsupported(fileName, what);
}

/** Which Office Open XML or OpenDocument package a ZIP is, from the entry names and mimetype it starts with. */
function zipKind(head: Buffer, fileName: string, claimed: DocumentKind | undefined): DocumentKind {
  const text = head.toString('latin1');
  const mimetype = /mimetypeapplication\/vnd\.oasis\.opendocument\.([a-z]+(?:-[a-z]+)?)/.exec(text)?.[1];
  if (mimetype) {
    if (mimetype === 'text') return 'odt';
    unsupported(fileName, `an OpenDocument ${mimetype.replace(/-.*$/, '')} file, which is not supported; export it to PDF (or a spreadsheet to .xlsx)`);
  }
  if (text.includes('xl/workbook') || text.includes('xl/worksheets/')) return 'xlsx';
  if (text.includes('word/')) return 'docx';
  if (text.includes('ppt/')) unsupported(fileName, 'a PowerPoint presentation; export it to PDF');
  // The entries may be listed only at the end of a large archive: the extension decides, and the
  // package itself is checked when it is opened.
  if (claimed === 'xlsx' || claimed === 'odt') return claimed;
  return 'docx';
}

/** An e-mail message: it opens with header fields, among them From and a Subject or Date. */
function looksLikeEmail(text: string): boolean {
  const header = text.split(/\r?\n\r?\n/, 1)[0];
  if (!/^[A-Za-z][\w-]*:[ \t]/.test(header)) return false;
  return /^from:/im.test(header) && /^(subject|date|message-id|to):/im.test(header);
}

/** Text that is really a PDF's syntax with its header missing or damaged. */
function looksLikePdfSyntax(text: string): boolean {
  return /\b\d+\s+\d+\s+obj\b/.test(text) && /\bendobj\b|\/Type\s*\/(Catalog|Page)\b/.test(text);
}

export function detectKind(headBytes: Uint8Array, fileName: string): DetectedKind {
  const head = Buffer.from(headBytes.buffer, headBytes.byteOffset, headBytes.byteLength);
  const ext = extname(fileName).toLowerCase();
  const claimed = EXTENSION_KIND[ext];
  let kind: DocumentKind;

  const bom = byteOrderMark(head);
  const wide = bom && bom.encoding !== 'utf-8' ? bom.encoding : wideEncoding(head);
  // PDF allows junk before the header within 1 KB; further in, only a file named .pdf is taken for
  // one (a text that merely quotes "%PDF-" stays text).
  const pdfAt = wide ? -1 : head.indexOf('%PDF-');
  if (pdfAt >= 0 && (pdfAt < 1024 || claimed === 'pdf')) kind = 'pdf';
  else if (startsWith(head, [0x50, 0x4b, 0x03, 0x04])) kind = zipKind(head, fileName, claimed);
  else if (startsWith(head, [0xd0, 0xcf, 0x11, 0xe0])) compoundFile(head, fileName, ext);
  else if (startsWith(head, [0x89, 0x50, 0x4e, 0x47]) || startsWith(head, [0xff, 0xd8, 0xff]) || startsWith(head, [0x47, 0x49, 0x46, 0x38])) kind = 'image';
  else if (startsWith(head, [0x49, 0x49, 0x2a, 0x00]) || startsWith(head, [0x4d, 0x4d, 0x00, 0x2a])) kind = 'image';
  else if (startsWith(head, [0x42, 0x4d]) && claimed === 'image') kind = 'image';
  else if (head.subarray(0, 4).toString('latin1') === 'RIFF' && head.subarray(8, 12).toString('latin1') === 'WEBP') kind = 'image';
  else if (!wide && head.includes(0)) unsupported(fileName, 'a binary file, not a document');
  else {
    // Text in any encoding: what it says at its start decides between the text kinds.
    const text = (wide ? decodeText(head).text : head.toString('latin1')).replace(/^\uFEFF/, '');
    const start = text.trimStart().slice(0, 512).toLowerCase();
    if (start.startsWith('{\\rtf')) kind = 'rtf';
    else if (looksLikePdfSyntax(text)) kind = 'pdf';
    else if (claimed === 'email' || ((!claimed || claimed === 'text') && looksLikeEmail(text))) kind = 'email';
    else if (claimed === 'html' || start.startsWith('<!doctype html') || start.startsWith('<html') || /^<\?xml[^>]*>\s*(<!doctype html|<html)/.test(start)) kind = 'html';
    else if (start.startsWith('<?xml') || claimed === 'xml') kind = 'xml';
    else if (claimed === 'markdown') kind = 'markdown';
    else kind = 'text';
  }

  const textual = (k: DocumentKind | undefined) => k === 'text' || k === 'markdown' || k === 'html' || k === 'xml';
  const agrees = claimed === kind || (textual(claimed) && textual(kind)) || (claimed === 'text' && kind === 'email');
  const notice =
    claimed && !agrees ? `“${fileName}” is named like ${KIND_NAMES[claimed]} but is ${KIND_NAMES[kind]}; it was read as such.` : null;
  return { kind, notice };
}
