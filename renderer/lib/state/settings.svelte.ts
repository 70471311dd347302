import type { AppInfo, Settings } from '../../../electron/contract/types.ts';
import type { Client } from '../api/client.ts';
import { toasts } from './toasts.svelte.ts';

export class SettingsManager {
  settings = $state<Settings | null>(null);
  info = $state<AppInfo | null>(null);
  saving = $state(false);
  readonly #client: Client;

  constructor(client: Client) {
    this.#client = client;
    client.onConnection((c) => {
      if (c !== 'open') return;
      client.call('settings.get', {}).then((s) => (this.settings = s)).catch((e) => toasts.error(e));
      client
        .call('app.info', {})
        .then((i) => {
          // Shown once per window, not again at each reconnection.
          if (!this.info) for (const n of i.notices) toasts.show(n, 'error', 0);
          this.info = i;
        })
        .catch(() => {});
    });
  }

  async save(patch: Partial<Settings>): Promise<boolean> {
    this.saving = true;
    try {
      this.settings = await this.#client.call('settings.update', patch);
      toasts.show('Settings saved.');
      return true;
    } catch (e) {
      toasts.error(e);
      return false;
    } finally {
      this.saving = false;
    }
  }
}
