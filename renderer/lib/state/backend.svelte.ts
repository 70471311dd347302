// Where answers are computed (this computer or an office server), and Enclave's own local API,
// as Settings shows them. The server's API key is sent once and never read back.
import type { BackendChoice, BackendView, LocalApiView, ServerCheck } from '../../../electron/contract/types.ts';
import type { Client } from '../api/client.ts';
import { toasts } from './toasts.svelte.ts';

export class BackendManager {
  view = $state<BackendView | null>(null);
  api = $state<LocalApiView | null>(null);
  checking = $state(false);
  applying = $state(false);
  /** The last "Check connection": what the server said, or why it could not be used. */
  check = $state<{ ok: true; result: ServerCheck } | { ok: false; message: string } | null>(null);
  readonly #client: Client;

  constructor(client: Client) {
    this.#client = client;
    client.onConnection((c) => {
      if (c !== 'open') return;
      client.call('backend.get', {}).then((v) => (this.view = v)).catch(() => {});
      client.call('api.get', {}).then((v) => (this.api = v)).catch(() => {});
    });
  }

  async checkServer(baseUrl: string, apiKey: string): Promise<ServerCheck | null> {
    this.checking = true;
    this.check = null;
    try {
      const result = await this.#client.call('backend.check', { baseUrl, apiKey: apiKey || null });
      this.check = { ok: true, result };
      return result;
    } catch (e) {
      this.check = { ok: false, message: e instanceof Error ? e.message : String(e) };
      return null;
    } finally {
      this.checking = false;
    }
  }

  /** Applies a choice; an error is returned as a sentence (and the choice before stays). */
  async apply(choice: BackendChoice): Promise<string | null> {
    this.applying = true;
    try {
      this.view = await this.#client.call('backend.set', choice);
      toasts.show(choice.kind === 'local' ? 'Answers come from this computer.' : `Answers come from the office server at ${this.view.label}.`);
      return null;
    } catch (e) {
      return e instanceof Error ? e.message : String(e);
    } finally {
      this.applying = false;
    }
  }

  async setApi(enabled: boolean, host: LocalApiView['host'], port: number): Promise<string | null> {
    try {
      this.api = await this.#client.call('api.set', { enabled, host: host === '0.0.0.0' ? '0.0.0.0' : '127.0.0.1', port });
      return this.api.error;
    } catch (e) {
      this.api = await this.#client.call('api.get', {}).catch(() => this.api);
      return e instanceof Error ? e.message : String(e);
    }
  }

  async newToken(): Promise<void> {
    try {
      this.api = await this.#client.call('api.newToken', {});
    } catch (e) {
      toasts.error(e);
    }
  }
}
