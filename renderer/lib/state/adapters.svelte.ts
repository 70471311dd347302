import type { AdapterInfo } from '../../../electron/contract/types.ts';
import type { Client } from '../api/client.ts';
import { toasts } from './toasts.svelte.ts';

/** LoRA adapters in the library (assistants apply them). Files arrive as models do. */
export class AdaptersManager {
  list = $state<AdapterInfo[]>([]);
  adding = $state<{ fileName: string; progress: number | null } | null>(null);
  addError = $state<string | null>(null);
  readonly #client: Client;

  constructor(client: Client) {
    this.#client = client;
    client.on('adapters.changed', (list) => (this.list = list));
    client.onConnection((c) => {
      if (c === 'open') client.call('adapters.list', {}).then((l) => (this.list = l)).catch((e) => toasts.error(e));
    });
  }

  async addFile(file: File): Promise<AdapterInfo | null> {
    this.addError = null;
    this.adding = { fileName: file.name, progress: 0 };
    try {
      const handle = await this.#client.importFile(file, 'model', (p) => {
        if (this.adding) this.adding.progress = p;
      });
      if (this.adding) this.adding.progress = null;
      const adapter = await this.#client.call('adapters.add', { file: handle });
      toasts.show(`Added the adapter ${adapter.name}. Give it to an assistant under Assistants.`);
      return adapter;
    } catch (e) {
      this.addError = e instanceof Error ? e.message : String(e);
      return null;
    } finally {
      this.adding = null;
    }
  }

  async remove(adapterId: string): Promise<void> {
    await this.#client.call('adapters.remove', { adapterId }).catch((e) => toasts.error(e));
  }
}
