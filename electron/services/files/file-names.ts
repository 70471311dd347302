import { basename } from 'node:path';

/**
 * An uploaded file's name as the person gave it — accents, CJK, spaces kept — less what no file
 * system takes: path separators, control characters and Windows' reserved characters. Cut to
 * 200 bytes of UTF-8 (file systems allow 255), keeping its extension.
 */
export function safeFileName(raw: string): string {
  const cleaned = basename(raw.normalize('NFC').replace(/\\/g, '/'))
    .replace(/[\u0000-\u001f\u007f<>:"|?*]/g, '_')
    .replace(/^[.\s]+|[.\s]+$/g, '');
  if (!cleaned) return 'upload';
  const dot = cleaned.lastIndexOf('.');
  const ext = dot > 0 && cleaned.length - dot <= 10 ? cleaned.slice(dot) : '';
  let stem = ext ? cleaned.slice(0, dot) : cleaned;
  while (Buffer.byteLength(stem + ext) > 200) stem = [...stem].slice(0, -1).join('');
  return stem + ext;
}
