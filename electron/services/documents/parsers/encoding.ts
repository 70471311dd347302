// Text files come in many encodings: byte-order marks, UTF-16/32 without one, the legacy code
// pages of every office (Big5, Shift-JIS, EUC-JP, KOI8-R, windows-1251/1255…), and HTML that
// names its own. Text is decoded by what its bytes are; what still cannot be decoded is counted
// and reported, never stored as mojibake without a word.
import chardet from 'chardet';

export interface DecodedText {
  text: string;
  /** The encoding used, as TextDecoder names it. */
  encoding: string;
  /** Characters that could not be decoded (shown as U+FFFD). */
  undecodable: number;
  /** True when no encoding could be recognised and non-ASCII bytes were read as windows-1252. */
  uncertain?: boolean;
}

/** An encoding from its byte-order mark, and how many bytes the mark takes. */
export function byteOrderMark(b: Uint8Array): { encoding: string; length: number } | null {
  if (b[0] === 0xef && b[1] === 0xbb && b[2] === 0xbf) return { encoding: 'utf-8', length: 3 };
  if (b[0] === 0xff && b[1] === 0xfe && b[2] === 0 && b[3] === 0) return { encoding: 'utf-32le', length: 4 };
  if (b[0] === 0 && b[1] === 0 && b[2] === 0xfe && b[3] === 0xff) return { encoding: 'utf-32be', length: 4 };
  if (b[0] === 0xff && b[1] === 0xfe) return { encoding: 'utf-16le', length: 2 };
  if (b[0] === 0xfe && b[1] === 0xff) return { encoding: 'utf-16be', length: 2 };
  return null;
}

/**
 * UTF-16 or UTF-32 without a mark, from where the zero bytes fall: text in Latin, Greek,
 * Cyrillic… has a zero in every other byte (UTF-16) or three of every four (UTF-32).
 */
export function wideEncoding(b: Uint8Array): string | null {
  const n = Math.min(b.length, 4096) & ~3;
  if (n < 8) return null;
  const zeros = [0, 0, 0, 0];
  for (let i = 0; i < n; i++) if (b[i] === 0) zeros[i & 3]++;
  const quarter = n / 4;
  const mostly = (k: number) => zeros[k] >= quarter * 0.9;
  const rarely = (k: number) => zeros[k] <= quarter * 0.1;
  if (mostly(1) && mostly(2) && mostly(3) && rarely(0)) return 'utf-32le';
  if (mostly(0) && mostly(1) && mostly(2) && rarely(3)) return 'utf-32be';
  if (mostly(1) && mostly(3) && rarely(0) && rarely(2)) return 'utf-16le';
  if (mostly(0) && mostly(2) && rarely(1) && rarely(3)) return 'utf-16be';
  return null;
}

function utf32(b: Uint8Array, littleEndian: boolean): string {
  const view = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const out: string[] = [];
  let chunk = '';
  for (let i = 0; i + 3 < b.length; i += 4) {
    const cp = view.getUint32(i, littleEndian);
    chunk += cp <= 0x10ffff && (cp < 0xd800 || cp > 0xdfff) ? String.fromCodePoint(cp) : '\ufffd';
    if (chunk.length > 65536) {
      out.push(chunk);
      chunk = '';
    }
  }
  out.push(chunk);
  return out.join('');
}

/** The charset an HTML or XML file names for itself in its first bytes, if TextDecoder knows it. */
export function declaredCharset(b: Uint8Array): string | null {
  const head = Buffer.from(b.subarray(0, 4096)).toString('latin1');
  const m =
    /<meta[^>]+charset\s*=\s*["']?\s*([\w.:-]+)/i.exec(head) ??
    /<\?xml[^>]+encoding\s*=\s*["']([\w.:-]+)["']/i.exec(head);
  return m ? known(m[1]) : null;
}

function known(label: string): string | null {
  try {
    return new TextDecoder(label).encoding;
  } catch {
    return null;
  }
}

/** ISO code pages as chardet names them decode as the Windows code page that contains them. */
const SUPERSET: Record<string, string> = { 'iso-8859-8': 'windows-1255', 'iso-8859-9': 'windows-1254', 'iso-8859-7': 'windows-1253' };

function countReplacements(s: string): number {
  let n = 0;
  for (let i = s.indexOf('\ufffd'); i >= 0; i = s.indexOf('\ufffd', i + 1)) n++;
  return n;
}

function decodeAs(b: Uint8Array, encoding: string): DecodedText {
  const text =
    encoding === 'utf-32le' || encoding === 'utf-32be' ? utf32(b, encoding === 'utf-32le') : new TextDecoder(encoding).decode(b);
  return { text, encoding, undecodable: countReplacements(text) };
}

/**
 * Decodes a text file. In order: a byte-order mark; UTF-16/32 by its zero bytes; valid UTF-8;
 * UTF-8 with a few bad bytes among many good multi-byte characters; the charset an HTML/XML
 * file declares; the legacy encoding its bytes look like (chardet); windows-1252 last.
 */
export function decodeText(data: Uint8Array): DecodedText {
  const bom = byteOrderMark(data);
  if (bom) {
    const decoded = decodeAs(data.subarray(bom.length), bom.encoding);
    return decoded;
  }
  const wide = wideEncoding(data);
  if (wide) return decodeAs(data, wide);
  try {
    return { text: new TextDecoder('utf-8', { fatal: true }).decode(data), encoding: 'utf-8', undecodable: 0 };
  } catch {
    // not valid UTF-8 throughout
  }
  const asUtf8 = decodeAs(data, 'utf-8');
  let multibyte = 0;
  for (let i = 0; i < asUtf8.text.length; i++) if (asUtf8.text.charCodeAt(i) > 0x7f && asUtf8.text[i] !== '\ufffd') multibyte++;
  // Real UTF-8 damaged in a few places: its good multi-byte characters far outnumber the bad bytes.
  if (multibyte >= 4 && asUtf8.undecodable * 4 <= multibyte) return asUtf8;
  const declared = declaredCharset(data);
  if (declared && declared !== 'utf-8') return decodeAs(data, declared);
  const sample = data.subarray(0, 256 * 1024);
  for (const guess of chardet.analyse(sample)) {
    if (guess.confidence < 10) break;
    const name = known(SUPERSET[guess.name.toLowerCase()] ?? guess.name);
    if (!name || name === 'utf-8' || name.startsWith('utf-16') || name.startsWith('utf-32') || name === 'iso-2022-cn') continue;
    const decoded = decodeAs(data, name);
    if (decoded.undecodable <= Math.max(2, decoded.text.length / 1000)) return decoded;
  }
  const fallback = decodeAs(data, 'windows-1252');
  let high = 0;
  for (let i = 0; i < sample.length; i++) if (sample[i] > 0x7f) high++;
  return { ...fallback, uncertain: high > 0 };
}

/** What a reader is told about characters that could not be decoded, or null when all were. */
export function undecodableNotice(d: DecodedText, fileName: string): string | null {
  if (d.uncertain) {
    return `The text encoding of “${fileName}” could not be recognised; it was read as Western European (windows-1252), so letters outside English may be wrong. Save it as UTF-8 and add it again if they are.`;
  }
  if (d.undecodable === 0) return null;
  return `${d.undecodable.toLocaleString('en-US')} character${d.undecodable === 1 ? '' : 's'} of “${fileName}” could not be decoded (read as ${d.encoding}) and show as “\ufffd”.`;
}
