// The app lock: after some minutes without use (or when asked), the window shows only the lock
// screen, and main answers nothing but the lock's own methods and sends the window no event until
// the lock passphrase is given. The passphrase is kept only as a scrypt verifier in the (encrypted)
// database. Wrong tries are recorded in the audit trail; after five in a row each waits 30 s.
import { randomBytes, scrypt, timingSafeEqual } from 'node:crypto';
import { UserFacingError } from '../../contract/errors.ts';
import type { LockStatus } from '../../contract/types.ts';
import type { AuditLog } from '../store/audit-log.ts';
import type { LockStore } from '../store/lock-store.ts';

const SCRYPT = { N: 1 << 15, r: 8, p: 1, maxmem: 128 * 1024 * 1024 };
const FREE_TRIES = 5;
const PAUSE_MS = 30_000;

function derive(passphrase: string, salt: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => scrypt(passphrase.normalize('NFC'), salt, 32, SCRYPT, (e, key) => (e ? reject(e) : resolve(key))));
}

export class AppLock {
  readonly #store: LockStore;
  readonly #audit: AuditLog;
  readonly #onChange: (status: LockStatus) => void;
  readonly #now: () => number;
  #locked: boolean;
  #failures = 0;
  #retryAt: number | null = null;

  constructor(deps: { store: LockStore; audit: AuditLog; onChange: (status: LockStatus) => void; now?: () => number }) {
    this.#store = deps.store;
    this.#audit = deps.audit;
    this.#onChange = deps.onChange;
    this.#now = deps.now ?? Date.now;
    // A library with a lock starts locked.
    this.#locked = this.#store.get() !== null;
  }

  get locked(): boolean {
    return this.#locked;
  }

  status(): LockStatus {
    const row = this.#store.get();
    return { enabled: row !== null, locked: this.#locked, idleMinutes: row?.idleMinutes ?? 0, retryAt: this.#retryAt && this.#retryAt > this.#now() ? this.#retryAt : null };
  }

  #changed(): LockStatus {
    const status = this.status();
    this.#onChange(status);
    return status;
  }

  async #matches(passphrase: string): Promise<boolean> {
    const row = this.#store.get();
    if (!row) return false;
    const got = await derive(passphrase, Buffer.from(row.salt, 'base64'));
    return timingSafeEqual(got, Buffer.from(row.verifier, 'base64'));
  }

  /** Sets or changes the passphrase and the idle minutes; a lock already set needs its passphrase. */
  async configure(input: { passphrase: string; idleMinutes: number; current?: string }): Promise<LockStatus> {
    const had = this.#store.get() !== null;
    if (had && !(await this.#matches(input.current ?? ''))) {
      throw new UserFacingError('lock/wrong-passphrase', 'The current lock passphrase is not right. Nothing was changed.');
    }
    if (input.passphrase.length < 8) throw new UserFacingError('store/weak-passphrase', 'Choose a lock passphrase of at least 8 characters.');
    const salt = randomBytes(16);
    const verifier = await derive(input.passphrase, salt);
    this.#store.set({ salt: salt.toString('base64'), verifier: verifier.toString('base64'), idleMinutes: input.idleMinutes });
    this.#audit.record('app.lock-changed', had ? `Changed the app lock (locks after ${input.idleMinutes} min without use)` : `Turned on the app lock (locks after ${input.idleMinutes} min without use)`, {
      idleMinutes: input.idleMinutes,
    });
    return this.#changed();
  }

  async disable(current: string): Promise<LockStatus> {
    if (!this.#store.get()) return this.status();
    if (!(await this.#matches(current))) throw new UserFacingError('lock/wrong-passphrase', 'The lock passphrase is not right. The lock stays on.');
    this.#store.clear();
    this.#locked = false;
    this.#audit.record('app.lock-changed', 'Turned off the app lock', {});
    return this.#changed();
  }

  lock(reason: 'idle' | 'asked'): LockStatus {
    if (!this.#store.get()) throw new UserFacingError('lock/not-enabled', 'Set a lock passphrase in Settings first.');
    if (!this.#locked) {
      this.#locked = true;
      this.#audit.record('app.locked', reason === 'idle' ? 'Locked after a time without use' : 'Locked', { reason });
    }
    return this.#changed();
  }

  async unlock(passphrase: string): Promise<LockStatus> {
    if (!this.#locked) return this.status();
    const now = this.#now();
    if (this.#retryAt && this.#retryAt > now) {
      throw new UserFacingError('lock/wrong-passphrase', `Too many wrong passphrases. Try again in ${Math.ceil((this.#retryAt - now) / 1000)} s.`);
    }
    if (!(await this.#matches(passphrase))) {
      this.#failures++;
      this.#audit.record('app.unlock-failed', 'A wrong passphrase was given to unlock', { failuresInARow: this.#failures });
      if (this.#failures >= FREE_TRIES) this.#retryAt = this.#now() + PAUSE_MS;
      this.#changed();
      throw new UserFacingError('lock/wrong-passphrase', this.#retryAt ? 'That passphrase is not right. Too many wrong tries: wait 30 s before the next one.' : 'That passphrase is not right.');
    }
    this.#locked = false;
    this.#failures = 0;
    this.#retryAt = null;
    this.#audit.record('app.unlocked', 'Unlocked', {});
    return this.#changed();
  }
}
