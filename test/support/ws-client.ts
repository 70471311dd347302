// A Node client of the browser-mode wire protocol, typed by the contract (tests and benchmarks).
import WebSocket from 'ws';
import type { Result } from '../../electron/contract/errors.ts';
import type { MethodInput, MethodName, MethodOutput } from '../../electron/contract/methods.ts';
import type { EventMap, EventName } from '../../electron/contract/types.ts';

export class WireClient {
  readonly #socket: WebSocket;
  readonly #pending = new Map<number, (r: Result<unknown>) => void>();
  readonly #listeners = new Set<(name: EventName, payload: unknown) => void>();
  #next = 1;

  private constructor(socket: WebSocket) {
    this.#socket = socket;
    socket.on('message', (data) => {
      const msg = JSON.parse(String(data)) as { id?: number; result?: Result<unknown>; event?: EventName; payload?: unknown };
      if (msg.event) for (const l of this.#listeners) l(msg.event, msg.payload);
      else if (typeof msg.id === 'number') {
        this.#pending.get(msg.id)?.(msg.result!);
        this.#pending.delete(msg.id);
      }
    });
  }

  static connect(origin: string, token: string, headers: { origin?: string } = {}): Promise<WireClient> {
    const socket = new WebSocket(`${origin.replace('http', 'ws')}/rpc?token=${encodeURIComponent(token)}`, {
      headers: { origin: headers.origin ?? origin },
    });
    return new Promise((resolve, reject) => {
      socket.once('open', () => resolve(new WireClient(socket)));
      socket.once('error', reject);
      socket.once('unexpected-response', (_req, res) => reject(new Error(`refused: HTTP ${res.statusCode}`)));
    });
  }

  raw(method: unknown, payload: unknown): Promise<Result<unknown>> {
    const id = this.#next++;
    return new Promise((resolve) => {
      this.#pending.set(id, resolve);
      this.#socket.send(JSON.stringify({ id, method, payload }));
    });
  }

  async call<M extends MethodName>(method: M, input: MethodInput<M>): Promise<MethodOutput<M>> {
    const result = await this.raw(method, input);
    if (!result.ok) throw Object.assign(new Error(result.error.message), { code: result.error.code });
    return result.value as MethodOutput<M>;
  }

  on<E extends EventName>(name: E, listener: (payload: EventMap[E]) => void): () => void {
    const wrapped = (n: EventName, p: unknown) => {
      if (n === name) listener(p as EventMap[E]);
    };
    this.#listeners.add(wrapped);
    return () => this.#listeners.delete(wrapped);
  }

  sendText(text: string): void {
    this.#socket.send(text);
  }

  close(): void {
    this.#socket.close();
  }
}
