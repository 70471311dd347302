// What the Electron preload exposes as window.enclave: one named function per contract method,
// plus event subscription and a handle for a picked or dropped file (never its path). Never raw ipcRenderer.
import type { Result } from '../../../electron/contract/errors.ts';
import type { MethodName } from '../../../electron/contract/methods.ts';
import type { EventMap, EventName } from '../../../electron/contract/types.ts';

export type BridgeMethods = { [M in MethodName]: (input: unknown) => Promise<Result<unknown>> };

export interface EnclaveBridge {
  methods: BridgeMethods;
  onEvent(listener: <E extends EventName>(name: E, payload: EventMap[E]) => void): () => void;
  /** main's one-time handle for a picked or dropped file (its path never reaches the page). */
  grantFile(file: File): Promise<string>;
}
