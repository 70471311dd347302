// The renderer's typed client. The same interface over Electron IPC (window.enclave) or the
// browser-mode WebSocket; components never know which.
import type { AppError, Result } from '../../../electron/contract/errors.ts';
import type { MethodInput, MethodName, MethodOutput } from '../../../electron/contract/methods.ts';
import type { EventMap, EventName } from '../../../electron/contract/types.ts';
import type { EnclaveBridge } from './bridge.ts';

export class ClientError extends Error implements AppError {
  readonly code: AppError['code'];
  /** What the failed call was about (see topicOf): a later success of the same clears its message. */
  topic: string | null = null;
  constructor(error: AppError) {
    super(error.message);
    this.code = error.code;
  }
}

/**
 * What a call is about: its method and the ids and file handle it names ("settings.update",
 * "conversations.rename conversationId=c1"). A success of the same topic makes an earlier failure's
 * message out of date; a call about something else (another document, another file) does not.
 */
export function topicOf(method: string, input: unknown): string {
  const ids =
    input && typeof input === 'object'
      ? Object.entries(input as Record<string, unknown>)
          .filter(([key, value]) => (/Id$/.test(key) || key === 'file') && (typeof value === 'string' || typeof value === 'number'))
          .map(([key, value]) => `${key}=${String(value)}`)
          .sort()
      : [];
  return [method, ...ids].join(' ');
}

/** expired: Enclave answers, but was restarted, so this tab's link (its token) no longer works. */
export type ConnectionState = 'connecting' | 'open' | 'closed' | 'expired';
type AnyListener = (name: EventName, payload: unknown) => void;

export interface Client {
  readonly mode: 'electron' | 'web';
  call<M extends MethodName>(method: M, input: MethodInput<M>): Promise<MethodOutput<M>>;
  on<E extends EventName>(name: E, listener: (payload: EventMap[E]) => void): () => void;
  onConnection(listener: (state: ConnectionState) => void): () => void;
  /** Makes a user-chosen file available to main and returns main's one-time handle for it (never a path). */
  importFile(file: File, purpose: 'model' | 'document', onProgress?: (fraction: number) => void): Promise<string>;
  /** Called with a call's topic each time one succeeds. */
  onSucceeded(listener: (topic: string) => void): () => void;
}

/** Tags each failed call's error with its topic and tells listeners of each success. */
function withOutcomes(client: Omit<Client, 'onSucceeded'>): Client {
  const succeeded = new Set<(topic: string) => void>();
  return {
    ...client,
    async call(method, input) {
      const topic = topicOf(method, input);
      try {
        const value = await client.call(method, input);
        for (const l of succeeded) l(topic);
        return value;
      } catch (e) {
        if (e instanceof ClientError) e.topic = topic;
        throw e;
      }
    },
    onSucceeded(listener) {
      succeeded.add(listener);
      return () => succeeded.delete(listener);
    },
  };
}

function unwrap<T>(result: Result<unknown>): T {
  if (!result.ok) throw new ClientError(result.error);
  return result.value as T;
}

class Listeners {
  readonly #byName = new Map<EventName, Set<(payload: unknown) => void>>();
  on(name: EventName, listener: (payload: unknown) => void): () => void {
    let set = this.#byName.get(name);
    if (!set) this.#byName.set(name, (set = new Set()));
    set.add(listener);
    return () => set.delete(listener);
  }
  dispatch: AnyListener = (name, payload) => {
    for (const l of this.#byName.get(name) ?? []) l(payload);
  };
}

function electronClient(bridge: EnclaveBridge): Omit<Client, 'onSucceeded'> {
  const listeners = new Listeners();
  bridge.onEvent(listeners.dispatch);
  return {
    mode: 'electron',
    async call(method, input) {
      return unwrap(await bridge.methods[method](input));
    },
    on: (name, listener) => listeners.on(name, listener as (p: unknown) => void),
    onConnection(listener) {
      listener('open');
      return () => {};
    },
    async importFile(file) {
      // Electron reads the file where it is (nothing is copied); the page only holds a handle.
      return bridge.grantFile(file);
    },
  };
}

const TOKEN_KEY = 'enclave.token';

/** The launch token comes in the URL once; it is kept for this tab and removed from the address bar. */
function takeToken(): string {
  const url = new URL(location.href);
  const fromUrl = url.searchParams.get('token');
  if (fromUrl) {
    sessionStorage.setItem(TOKEN_KEY, fromUrl);
    url.searchParams.delete('token');
    history.replaceState(null, '', url.pathname + url.search + url.hash);
    return fromUrl;
  }
  return sessionStorage.getItem(TOKEN_KEY) ?? '';
}

function webSocketClient(): Omit<Client, 'onSucceeded'> {
  const token = takeToken();
  const listeners = new Listeners();
  const connectionListeners = new Set<(s: ConnectionState) => void>();
  const pending = new Map<number, { resolve: (r: Result<unknown>) => void }>();
  const queue: string[] = [];
  let socket: WebSocket | null = null;
  let nextId = 1;
  let retryMs = 250;
  let state: ConnectionState = 'connecting';

  const setState = (s: ConnectionState) => {
    state = s;
    for (const l of connectionListeners) l(s);
  };

  const connect = () => {
    setState('connecting');
    const ws = new WebSocket(`ws://${location.host}/rpc?token=${encodeURIComponent(token)}`);
    socket = ws;
    ws.onopen = () => {
      retryMs = 250;
      setState('open');
      for (const message of queue.splice(0)) ws.send(message);
    };
    ws.onmessage = (e) => {
      const data = JSON.parse(String(e.data)) as { id?: number | null; result?: Result<unknown>; event?: EventName; payload?: unknown };
      if (data.event) listeners.dispatch(data.event, data.payload);
      else if (typeof data.id === 'number' && data.result) {
        pending.get(data.id)?.resolve(data.result);
        pending.delete(data.id);
      }
    };
    ws.onclose = () => {
      socket = null;
      for (const [, p] of pending) p.resolve({ ok: false, error: { code: 'internal', message: 'The connection to Enclave was lost.' } });
      pending.clear();
      // Is Enclave running again under a new link? Then reconnecting cannot work: say so.
      fetch('/api/session', { headers: { 'x-enclave-token': token }, cache: 'no-store' }).then(
        (r) => {
          if (r.status === 401) setState('expired');
          else retry();
        },
        () => retry(),
      );
    };
    const retry = () => {
      setState('closed');
      setTimeout(connect, retryMs);
      retryMs = Math.min(retryMs * 2, 5000);
    };
  };
  connect();

  return {
    mode: 'web',
    call(method, input) {
      const id = nextId++;
      const message = JSON.stringify({ id, method, payload: input });
      return new Promise((resolve, reject) => {
        pending.set(id, {
          resolve: (r) => {
            try {
              resolve(unwrap(r));
            } catch (e) {
              reject(e);
            }
          },
        });
        if (socket && socket.readyState === WebSocket.OPEN) socket.send(message);
        else queue.push(message);
      });
    },
    on: (name, listener) => listeners.on(name, listener as (p: unknown) => void),
    onConnection(listener) {
      connectionListeners.add(listener);
      listener(state);
      return () => connectionListeners.delete(listener);
    },
    importFile(file, purpose, onProgress) {
      return new Promise((resolve, reject) => {
        const xhr = new XMLHttpRequest();
        xhr.open('POST', `/api/upload?purpose=${purpose}&name=${encodeURIComponent(file.name)}`);
        xhr.setRequestHeader('x-enclave-token', token);
        xhr.upload.onprogress = (e) => {
          if (e.lengthComputable) onProgress?.(e.loaded / e.total);
        };
        xhr.onload = () => {
          try {
            const body = JSON.parse(xhr.responseText) as { file?: string; error?: AppError };
            if (body.file) resolve(body.file);
            else reject(new ClientError(body.error ?? { code: 'internal', message: 'The upload failed.' }));
          } catch {
            reject(new ClientError({ code: 'internal', message: `The upload failed (HTTP ${xhr.status}).` }));
          }
        };
        xhr.onerror = () => reject(new ClientError({ code: 'internal', message: 'The upload failed: the connection to Enclave was lost.' }));
        xhr.send(file);
      });
    },
  };
}

export function createClient(): Client {
  const bridge = (globalThis as { enclave?: EnclaveBridge }).enclave;
  return withOutcomes(bridge ? electronClient(bridge) : webSocketClient());
}
