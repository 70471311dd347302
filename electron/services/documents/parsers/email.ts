// An e-mail message (.eml) read with postal-mime: its header (from, to, cc, date, subject) and body
// (the plain text, or the HTML as text) are the document; attachments that Enclave can read become
// their own documents, linked to the message. Other attachments are named in a notice.
import PostalMime, { type Address, type Email } from 'postal-mime';
import { htmlToText } from './html.ts';
import { readPlainText } from './text.ts';
import type { PageSink } from './types.ts';

export interface EmailAttachment {
  fileName: string;
  data: Uint8Array;
}

/** The most attachments taken from one message, and the largest one. */
const MAX_ATTACHMENTS = 50;
const MAX_ATTACHMENT_BYTES = 256 * 1024 * 1024;

function addresses(list: Address[] | Address | undefined): string {
  const flat: string[] = [];
  for (const a of Array.isArray(list) ? list : list ? [list] : []) {
    if ('group' in a && Array.isArray(a.group)) flat.push(...a.group.map((g) => (g.name ? `${g.name} <${g.address}>` : g.address)));
    else if ('address' in a) flat.push(a.name ? `${a.name} <${a.address}>` : (a.address ?? ''));
  }
  return flat.filter(Boolean).join(', ');
}

export async function readEmail(data: Uint8Array, fileName: string, sink: PageSink, readable: (fileName: string, head: Uint8Array) => boolean): Promise<EmailAttachment[]> {
  const email: Email = await PostalMime.parse(data, { attachmentEncoding: 'arraybuffer' });
  const header = [
    email.from ? `From: ${addresses(email.from)}` : '',
    email.to?.length ? `To: ${addresses(email.to)}` : '',
    email.cc?.length ? `Cc: ${addresses(email.cc)}` : '',
    email.date ? `Date: ${email.headers.find((h) => h.key === 'date')?.value.trim() || email.date}` : '',
    email.subject ? `Subject: ${email.subject}` : '',
  ].filter(Boolean);
  const body = email.text?.trim() ? email.text : email.html ? htmlToText(email.html).text : '';
  const attachments: EmailAttachment[] = [];
  const skipped: string[] = [];
  const files = email.attachments.filter((a) => !(a.related && a.mimeType.startsWith('image/')));
  for (const [i, a] of files.entries()) {
    const name = a.filename?.trim() || `attachment-${i + 1}${a.mimeType === 'message/rfc822' ? '.eml' : ''}`;
    const bytes = a.content instanceof ArrayBuffer ? new Uint8Array(a.content) : typeof a.content === 'string' ? new TextEncoder().encode(a.content) : a.content;
    if (attachments.length < MAX_ATTACHMENTS && bytes.length > 0 && bytes.length <= MAX_ATTACHMENT_BYTES && readable(name, bytes.subarray(0, 64 * 1024))) {
      attachments.push({ fileName: name, data: bytes });
    } else skipped.push(name);
  }
  const listed = files.length ? [`Attachments: ${files.map((a, i) => a.filename?.trim() || `attachment-${i + 1}`).join(', ')}`] : [];
  const text = `${[...header, ...listed].join('\n')}\n\n${body}`;
  if (skipped.length) {
    sink.notice(`${skipped.length === 1 ? 'One attachment was' : `${skipped.length} attachments were`} not read (${skipped.map((s) => `“${s}”`).join(', ')}): Enclave cannot read ${skipped.length === 1 ? 'its' : 'their'} kind, or ${skipped.length === 1 ? 'it is' : 'they are'} too large.`);
  }
  if (attachments.length) sink.notice(`${attachments.length === 1 ? 'Its attachment is' : `Its ${attachments.length} attachments are`} added to the library as ${attachments.length === 1 ? 'a document' : 'documents'} of ${attachments.length === 1 ? 'its' : 'their'} own, linked to this message.`);
  readPlainText(text, sink, email.subject?.trim() || null);
  return attachments;
}
