// Files the engine libraries read or own: their hash, and the removal of browser-mode uploads.
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { rm } from 'node:fs/promises';
import { dirname, resolve, sep } from 'node:path';

/** A file's SHA-256, streamed (models and adapters are hundreds of megabytes to gigabytes). */
export async function fileSha256(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/**
 * Deletes a browser-mode upload: a file in a folder of its own under `ownedDir` (the data
 * folder's models/). A file anywhere else is the user's own and is never touched.
 */
export async function discardUpload(ownedDir: string | null, path: string): Promise<void> {
  const absolute = resolve(path);
  if (!ownedDir || !absolute.startsWith(ownedDir + sep)) return;
  const uploadDir = dirname(absolute);
  await rm(uploadDir === ownedDir ? absolute : uploadDir, { recursive: true, force: true });
}
