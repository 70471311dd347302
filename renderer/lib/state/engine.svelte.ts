import { NO_MODEL_STATUS, type EngineStatus } from '../../../electron/contract/types.ts';
import type { Client, ConnectionState } from '../api/client.ts';

export class EngineManager {
  status = $state<EngineStatus>({ ...NO_MODEL_STATUS });
  connection = $state<ConnectionState>('connecting');
  readonly ready = $derived(this.status.state === 'ready' || this.status.state === 'generating');

  constructor(client: Client) {
    client.on('engine.status', (s) => (this.status = s));
    client.onConnection((c) => {
      this.connection = c;
      if (c === 'open') client.call('engine.status', {}).then((s) => (this.status = s)).catch(() => {});
    });
  }
}
