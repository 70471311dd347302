// The app lock in the window: it locks after the chosen minutes without use (no key, click,
// scroll or pointer movement), shows only the lock screen while locked, and reloads once unlocked
// so that everything shown is read afresh.
import type { LockStatus } from '../../../electron/contract/types.ts';
import type { Client } from '../api/client.ts';

const ACTIVITY = ['pointerdown', 'pointermove', 'keydown', 'wheel', 'touchstart'] as const;

export class LockManager {
  status = $state<LockStatus | null>(null);
  readonly #client: Client;
  #timer: ReturnType<typeof setTimeout> | null = null;
  #lastActivity = 0;

  constructor(client: Client) {
    this.#client = client;
    client.on('lock.changed', (s) => this.#set(s));
    client.onConnection((c) => {
      if (c === 'open') void client.call('lock.status', {}).then((s) => this.#set(s), () => {});
    });
    for (const name of ACTIVITY) window.addEventListener(name, () => this.#activity(), { capture: true, passive: true });
  }

  get locked(): boolean {
    return this.status?.locked ?? false;
  }

  #set(s: LockStatus): void {
    const wasLocked = this.status?.locked ?? false;
    this.status = s;
    // Unlocked (here or in another window): what was hidden is read again.
    if (wasLocked && !s.locked) location.reload();
    this.#arm();
  }

  #activity(): void {
    const now = Date.now();
    if (now - this.#lastActivity < 1000) return;
    this.#lastActivity = now;
    this.#arm();
  }

  #arm(): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
    const s = this.status;
    if (!s?.enabled || s.locked || s.idleMinutes <= 0) return;
    this.#timer = setTimeout(() => void this.#client.call('lock.lock', { reason: 'idle' }).then((x) => this.#set(x), () => {}), s.idleMinutes * 60_000);
  }

  async lockNow(): Promise<void> {
    this.#set(await this.#client.call('lock.lock', { reason: 'asked' }));
  }

  /** Null when unlocked; otherwise why not. */
  async unlock(passphrase: string): Promise<string | null> {
    try {
      this.#set(await this.#client.call('lock.unlock', { passphrase }));
      return null;
    } catch (e) {
      void this.#client.call('lock.status', {}).then((s) => (this.status = s), () => {});
      return e instanceof Error ? e.message : String(e);
    }
  }

  async configure(passphrase: string, idleMinutes: number, current?: string): Promise<string | null> {
    try {
      this.#set(await this.#client.call('lock.configure', { passphrase, idleMinutes, ...(current ? { current } : {}) }));
      return null;
    } catch (e) {
      return e instanceof Error ? e.message : String(e);
    }
  }

  async disable(current: string): Promise<string | null> {
    try {
      this.#set(await this.#client.call('lock.disable', { current }));
      return null;
    } catch (e) {
      return e instanceof Error ? e.message : String(e);
    }
  }
}
