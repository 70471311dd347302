// Documents copied into the data folder (browser-mode uploads) are kept encrypted with the
// library's key: AES-256-GCM under a key derived for documents, written as they arrive, so their
// text never reaches the disk in the clear. Layout: "ENCV1\0", a 12-byte IV, the ciphertext, and
// GCM's 16-byte tag at the end.
import { createCipheriv, createDecipheriv, createHash, hkdfSync, randomBytes, type CipherGCM } from 'node:crypto';
import { closeSync, createReadStream, openSync, readSync, statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { Transform } from 'node:stream';

/** The name an encrypted copy is stored under: the original name and this ending. */
export const VAULT_SUFFIX = '.enclave-enc';
const MAGIC = Buffer.from('ENCV1\0', 'latin1');
const IV_BYTES = 12;
const TAG_BYTES = 16;
const HEADER_BYTES = MAGIC.length + IV_BYTES;
/** How much larger a stored copy is than its content. */
export const VAULT_OVERHEAD_BYTES = HEADER_BYTES + TAG_BYTES;

export const isVaultPath = (path: string) => path.endsWith(VAULT_SUFFIX);
/** The person's own file name of a stored copy. */
export const plainName = (name: string) => (isVaultPath(name) ? name.slice(0, -VAULT_SUFFIX.length) : name);

function documentsKey(key: Buffer): Buffer {
  return Buffer.from(hkdfSync('sha256', key, Buffer.alloc(0), 'enclave documents v1', 32));
}

/** A stream that encrypts what is written to it, for a file written as it arrives. */
export function encryptingStream(key: Buffer): Transform {
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', documentsKey(key), iv) as CipherGCM;
  let started = false;
  return new Transform({
    transform(chunk: Buffer, _encoding, done) {
      const out = cipher.update(chunk);
      if (!started) {
        started = true;
        done(null, Buffer.concat([MAGIC, iv, out]));
      } else done(null, out);
    },
    flush(done) {
      const tail = cipher.final();
      done(null, Buffer.concat([started ? Buffer.alloc(0) : Buffer.concat([MAGIC, iv]), tail, cipher.getAuthTag()]));
    },
  });
}

function readTag(path: string, size: number): { iv: Buffer; tag: Buffer } {
  const fd = openSync(path, 'r');
  try {
    const head = Buffer.alloc(HEADER_BYTES);
    readSync(fd, head, 0, HEADER_BYTES, 0);
    if (!head.subarray(0, MAGIC.length).equals(MAGIC)) throw new Error('not an encrypted Enclave document');
    const tag = Buffer.alloc(TAG_BYTES);
    readSync(fd, tag, 0, TAG_BYTES, size - TAG_BYTES);
    return { iv: head.subarray(MAGIC.length), tag };
  } finally {
    closeSync(fd);
  }
}

/** The plain bytes of a document file: decrypted (and its tag checked) when it is a stored copy. */
export async function readDocumentBytes(path: string, key: Buffer | null): Promise<Buffer> {
  const data = await readFile(path);
  if (!isVaultPath(path)) return data;
  if (!key) throw new Error('this document is encrypted and no key was given');
  if (data.length < HEADER_BYTES + TAG_BYTES || !data.subarray(0, MAGIC.length).equals(MAGIC)) throw new Error('not an encrypted Enclave document');
  const decipher = createDecipheriv('aes-256-gcm', documentsKey(key), data.subarray(MAGIC.length, HEADER_BYTES));
  decipher.setAuthTag(data.subarray(data.length - TAG_BYTES));
  return Buffer.concat([decipher.update(data.subarray(HEADER_BYTES, data.length - TAG_BYTES)), decipher.final()]);
}

/** Size, first bytes and SHA-256 of a document's plain content, read as a stream (never whole). */
export async function inspectDocument(path: string, key: Buffer | null, headBytes: number): Promise<{ size: number; head: Buffer; sha256: string }> {
  const hash = createHash('sha256');
  const heads: Buffer[] = [];
  let headLength = 0;
  let size = 0;
  const take = (chunk: Buffer) => {
    hash.update(chunk);
    size += chunk.length;
    if (headLength < headBytes) {
      heads.push(chunk.subarray(0, headBytes - headLength));
      headLength += Math.min(chunk.length, headBytes - headLength);
    }
  };
  if (!isVaultPath(path)) {
    for await (const chunk of createReadStream(path)) take(chunk as Buffer);
  } else {
    if (!key) throw new Error('this document is encrypted and no key was given');
    const total = statSync(path).size;
    if (total < HEADER_BYTES + TAG_BYTES) throw new Error('not an encrypted Enclave document');
    const { iv, tag } = readTag(path, total);
    const decipher = createDecipheriv('aes-256-gcm', documentsKey(key), iv);
    decipher.setAuthTag(tag);
    if (total > HEADER_BYTES + TAG_BYTES) {
      for await (const chunk of createReadStream(path, { start: HEADER_BYTES, end: total - TAG_BYTES - 1 })) take(decipher.update(chunk as Buffer));
    }
    take(decipher.final());
  }
  return { size, head: Buffer.concat(heads), sha256: hash.digest('hex') };
}

/** Bytes encrypted whole, in the stored-copy layout (for files Enclave makes itself: attachments). */
export function encryptBytes(data: Uint8Array, key: Buffer): Buffer {
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', documentsKey(key), iv) as CipherGCM;
  const body = Buffer.concat([cipher.update(data), cipher.final()]);
  return Buffer.concat([MAGIC, iv, body, cipher.getAuthTag()]);
}
