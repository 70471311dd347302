// No filesystem path from the renderer is trusted. A file reaches main only as an opaque, one-time
// handle: granted by main itself for a file the user picked or dropped (resolved in the preload
// from a real File), or for an upload it received into the data folder (browser mode). A handle
// is used once, expires, and cannot be made from a path.
import { randomBytes } from 'node:crypto';
import { isAbsolute } from 'node:path';
import { UserFacingError } from '../../contract/errors.ts';

/** How long a granted file waits to be used. */
export const GRANT_TTL_MS = 15 * 60_000;

export class FileGrants {
  readonly #grants = new Map<string, { path: string; expires: number }>();
  readonly #now: () => number;

  constructor(now: () => number = Date.now) {
    this.#now = now;
  }

  /** A handle for a file main knows the user chose. Only main calls this. */
  grant(path: string): string {
    if (!isAbsolute(path)) throw new Error('file grants are for absolute paths that main resolved');
    const now = this.#now();
    for (const [handle, g] of this.#grants) if (g.expires < now) this.#grants.delete(handle);
    const handle = `f_${randomBytes(18).toString('base64url')}`;
    this.#grants.set(handle, { path, expires: now + GRANT_TTL_MS });
    return handle;
  }

  /** The file behind a handle, once. */
  take(handle: string): string {
    const grant = this.#grants.get(handle);
    this.#grants.delete(handle);
    if (!grant || grant.expires < this.#now()) {
      throw new UserFacingError('file/not-granted', 'That file is no longer available to Enclave. Choose it or drop it again.');
    }
    return grant.path;
  }
}
