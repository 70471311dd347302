// Serving the built renderer, shared by the Electron app:// protocol and browser mode.
import { extname, resolve, sep } from 'node:path';

const MIME_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.json': 'application/json',
};

export function mimeTypeOf(file: string): string {
  return MIME_TYPES[extname(file)] ?? 'application/octet-stream';
}

/** The file a URL path names inside `root`, or null if it would escape it (../, encoded or not). */
export function resolveInside(root: string, urlPath: string): string | null {
  let decoded: string;
  try {
    decoded = decodeURIComponent(urlPath);
  } catch {
    return null;
  }
  const file = resolve(root, '.' + decoded);
  return file === root || file.startsWith(root + sep) ? file : null;
}
