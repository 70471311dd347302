// An office inference server (llama.cpp's llama-server, vLLM, Ollama: anything with an
// OpenAI-compatible API) on the local network. This client is the only code in Enclave that opens
// a connection off this computer, and it connects to exactly one origin: the one the user chose.
// Every request is checked against that origin first, redirects are refused, and the host must
// be on the local network (a private, loopback or link-local address, or a name that resolves
// only to such addresses).
import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import { UserFacingError } from '../../contract/errors.ts';

/** The user's choice of server, as kept in settings (the key stays in the encrypted library). */
export interface OfficeServerConfig {
  baseUrl: string;
  apiKey: string;
  /** The server's model that answers (one of /v1/models). */
  model: string;
}

export interface ServerModel {
  id: string;
  ownedBy: string | null;
}

export interface ServerProps {
  /** Tokens each of the server's slots holds (llama-server's /props); null when it does not say. */
  contextSize: number | null;
  slots: number | null;
  /** The chat template the server applies, when it says. */
  chatTemplate: string | null;
}

export interface ChatMessage {
  role: 'system' | 'user' | 'assistant';
  content: string;
}

export interface ChatStreamRequest {
  messages: ChatMessage[];
  maxTokens: number;
  temperature: number;
  topP: number;
  repeatPenalty?: { penalty: number; lastTokens: number };
  jsonSchema?: unknown;
  signal: AbortSignal;
  onText: (text: string) => void;
}

export interface ChatStreamResult {
  text: string;
  finishReason: 'stop' | 'length' | 'aborted';
  promptTokens: number | null;
  completionTokens: number | null;
  /** The server's own generation speed (llama-server's timings), when it reports one. */
  tokensPerSecond: number | null;
  firstTokenAt: number | null;
  chunks: number;
}

/** How long the server may stay silent before a request is called interrupted. */
const CONNECT_TIMEOUT_MS = 10_000;
const SILENCE_TIMEOUT_MS = 120_000;

/** Whether an IP address is on this computer or a local network (never the internet). */
export function isLocalAddress(address: string): boolean {
  const v = isIP(address);
  if (v === 4) {
    const [a, b] = address.split('.').map(Number);
    return a === 10 || a === 127 || (a === 172 && b >= 16 && b <= 31) || (a === 192 && b === 168) || (a === 169 && b === 254) || (a === 100 && b >= 64 && b <= 127);
  }
  if (v === 6) {
    const lower = address.toLowerCase();
    if (lower === '::1') return true;
    const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(lower);
    if (mapped) return isLocalAddress(mapped[1]);
    return /^f[cd][0-9a-f]{2}:/.test(lower) || /^fe[89ab][0-9a-f]:/.test(lower);
  }
  return false;
}

/**
 * The server's origin from what the user typed ("10.0.0.5:8080", "http://host:8080/v1/"):
 * http or https, no user name or password in it, no query. Throws a sentence fit to show.
 */
export function normalizeServerUrl(raw: string): URL {
  const text = raw.trim();
  if (!text) throw new UserFacingError('server/bad-url', 'Give the office server’s address, for example http://10.0.0.5:8080.');
  let url: URL;
  try {
    url = new URL(/^[a-z][a-z0-9+.-]*:\/\//i.test(text) ? text : `http://${text}`);
  } catch {
    throw new UserFacingError('server/bad-url', `“${text}” is not a server address. Write it as http://10.0.0.5:8080.`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new UserFacingError('server/bad-url', 'The office server’s address must start with http:// or https://.');
  if (url.username || url.password) throw new UserFacingError('server/bad-url', 'Put the API key in its own field, not in the address.');
  if (url.search || url.hash) throw new UserFacingError('server/bad-url', 'The server’s address takes no “?” or “#” part.');
  const path = url.pathname.replace(/\/+$/, '').replace(/\/v1$/, '');
  return new URL(`${url.protocol}//${url.host}${path}`);
}

/** The address a host name or literal reaches, checked to be local; throws when any is not. */
export async function assertLocalHost(hostname: string): Promise<string[]> {
  const bare = hostname.replace(/^\[|\]$/g, '');
  const addresses = isIP(bare) ? [bare] : (await lookup(bare, { all: true }).catch(() => [])).map((a) => a.address);
  if (addresses.length === 0) throw new UserFacingError('server/unreachable', `The name “${bare}” was not found on this network.`);
  const outside = addresses.filter((a) => !isLocalAddress(a));
  if (outside.length) {
    throw new UserFacingError(
      'server/not-local',
      `“${bare}” is ${outside.join(', ')}, an address outside your local network. Enclave sends documents and questions only to a server on your own network (10.x, 172.16–31.x, 192.168.x, or this computer).`,
    );
  }
  return addresses;
}

/** The host as the title bar says it ("10.0.0.5", "gpu-box:8080" when a port is needed to tell). */
export function serverLabel(baseUrl: string): string {
  try {
    return new URL(baseUrl).host;
  } catch {
    return baseUrl;
  }
}

function reasonOf(e: unknown): string {
  const err = e as { cause?: { code?: string; message?: string }; message?: string };
  const code = err.cause?.code;
  if (code === 'ECONNREFUSED') return 'nothing answers at that address (is the server running?)';
  if (code === 'ECONNRESET' || code === 'UND_ERR_SOCKET') return 'the server closed the connection';
  if (code === 'EHOSTUNREACH' || code === 'ENETUNREACH') return 'that address cannot be reached from this computer';
  if (code === 'UND_ERR_CONNECT_TIMEOUT' || (e as Error)?.name === 'TimeoutError') return 'the server did not answer in time';
  return err.cause?.message ?? err.message ?? String(e);
}

export class OfficeServerClient {
  readonly origin: URL;
  readonly #apiKey: string;
  readonly #silenceMs: number;
  #checkedHost = false;

  /** `silenceMs`: how long a streamed reply may go without a word before it is called interrupted. */
  constructor(baseUrl: string, apiKey: string, options: { silenceMs?: number } = {}) {
    this.origin = normalizeServerUrl(baseUrl);
    this.#apiKey = apiKey.trim();
    this.#silenceMs = options.silenceMs ?? SILENCE_TIMEOUT_MS;
  }

  get baseUrl(): string {
    return this.origin.href.replace(/\/$/, '');
  }

  get label(): string {
    return serverLabel(this.baseUrl);
  }

  /** The one place a request leaves this computer: only to the chosen origin, never redirected. */
  /** `timeoutMs` bounds the whole request; null: none (a streamed reply is bounded by its silences instead). */
  async #fetch(path: string, init: RequestInit & { timeoutMs?: number | null }): Promise<Response> {
    const url = new URL(`${this.origin.pathname.replace(/\/$/, '')}${path}`, this.origin);
    if (url.origin !== this.origin.origin) throw new UserFacingError('server/not-local', 'Enclave refused a request to another address than the office server.');
    if (!this.#checkedHost) {
      await assertLocalHost(this.origin.hostname);
      this.#checkedHost = true;
    }
    const headers = new Headers(init.headers);
    if (this.#apiKey) headers.set('authorization', `Bearer ${this.#apiKey}`);
    if (init.body) headers.set('content-type', 'application/json');
    const total = init.timeoutMs === null ? null : AbortSignal.timeout(init.timeoutMs ?? CONNECT_TIMEOUT_MS);
    const signals = [init.signal, total].filter((s): s is AbortSignal => !!s);
    let response: Response;
    try {
      response = await fetch(url, { ...init, headers, redirect: 'error', signal: AbortSignal.any(signals) });
    } catch (e) {
      if (init.signal?.aborted) throw e;
      throw new UserFacingError('server/unreachable', `The office server at ${this.label} cannot be reached: ${reasonOf(e)}.`);
    }
    if (response.status === 401 || response.status === 403) {
      throw new UserFacingError('server/unauthorized', `The office server at ${this.label} refused the API key${this.#apiKey ? '' : ' (none was given)'}.`);
    }
    return response;
  }

  async #json<T>(path: string, init: RequestInit & { timeoutMs?: number } = {}): Promise<T> {
    const response = await this.#fetch(path, init);
    const text = await response.text();
    if (!response.ok) throw new UserFacingError('server/failed', `The office server at ${this.label} answered ${response.status}: ${serverMessage(text)}`);
    try {
      return JSON.parse(text) as T;
    } catch {
      throw new UserFacingError('server/failed', `The office server at ${this.label} did not answer in JSON (is this an OpenAI-compatible server?).`);
    }
  }

  /** The server's models (/v1/models). */
  async models(): Promise<ServerModel[]> {
    const body = await this.#json<{ data?: { id?: unknown; owned_by?: unknown }[] }>('/v1/models');
    const list = Array.isArray(body.data) ? body.data.map((m) => ({ id: String(m.id ?? ''), ownedBy: typeof m.owned_by === 'string' ? m.owned_by : null })) : [];
    return list.filter((m) => m.id);
  }

  /** What llama-server says of itself (/props); nulls from servers without it. */
  async props(): Promise<ServerProps> {
    try {
      const body = await this.#json<{ default_generation_settings?: { n_ctx?: unknown }; total_slots?: unknown; chat_template?: unknown }>('/props');
      const n = Number(body.default_generation_settings?.n_ctx);
      const slots = Number(body.total_slots);
      return {
        contextSize: Number.isFinite(n) && n > 0 ? n : null,
        slots: Number.isFinite(slots) && slots > 0 ? slots : null,
        chatTemplate: typeof body.chat_template === 'string' ? body.chat_template : null,
      };
    } catch (e) {
      if (e instanceof UserFacingError && (e.code === 'server/unreachable' || e.code === 'server/unauthorized' || e.code === 'server/not-local')) throw e;
      return { contextSize: null, slots: null, chatTemplate: null };
    }
  }

  /** The server's own token count of a text (/tokenize), or null when it has no such endpoint. */
  async tokenize(text: string, model: string): Promise<number | null> {
    try {
      const body = await this.#json<{ tokens?: unknown[]; count?: unknown }>('/tokenize', { method: 'POST', body: JSON.stringify({ content: text, prompt: text, model, add_special: false }) });
      if (typeof body.count === 'number') return body.count;
      return Array.isArray(body.tokens) ? body.tokens.length : null;
    } catch (e) {
      if (e instanceof UserFacingError && (e.code === 'server/unreachable' || e.code === 'server/unauthorized')) throw e;
      return null;
    }
  }

  /** The prompt the server's chat template makes of these messages (llama-server), or null. */
  async applyTemplate(messages: ChatMessage[]): Promise<string | null> {
    try {
      const body = await this.#json<{ prompt?: unknown }>('/apply-template', { method: 'POST', body: JSON.stringify({ messages }) });
      return typeof body.prompt === 'string' ? body.prompt : null;
    } catch (e) {
      if (e instanceof UserFacingError && (e.code === 'server/unreachable' || e.code === 'server/unauthorized')) throw e;
      return null;
    }
  }

  /** Vectors for texts (/v1/embeddings), in order. */
  async embeddings(model: string, input: string[], signal?: AbortSignal): Promise<Float32Array[]> {
    const body = await this.#json<{ data?: { index?: number; embedding?: number[] }[] }>('/v1/embeddings', {
      method: 'POST',
      body: JSON.stringify({ model, input, encoding_format: 'float' }),
      signal,
      timeoutMs: SILENCE_TIMEOUT_MS,
    });
    const data = Array.isArray(body.data) ? body.data : [];
    if (data.length !== input.length) throw new UserFacingError('server/failed', `The office server gave ${data.length} vectors for ${input.length} texts.`);
    return [...data].sort((a, b) => (a.index ?? 0) - (b.index ?? 0)).map((d) => Float32Array.from(d.embedding ?? []));
  }

  /**
   * Streams a chat reply (/v1/chat/completions, server-sent events). Aborting the signal closes
   * the connection, which frees the server's slot. A connection that breaks, or a server silent
   * for two minutes, throws 'server/interrupted' with what was written so far kept by the caller.
   */
  async chatStream(model: string, req: ChatStreamRequest): Promise<ChatStreamResult> {
    const body: Record<string, unknown> = {
      model,
      messages: req.messages,
      stream: true,
      stream_options: { include_usage: true },
      max_tokens: req.maxTokens,
      temperature: req.temperature,
      top_p: req.topP,
      // llama.cpp's own names; servers that do not know them leave them be.
      cache_prompt: true,
      timings_per_token: false,
    };
    if (req.repeatPenalty) {
      body.repeat_penalty = req.repeatPenalty.penalty;
      body.repeat_last_n = req.repeatPenalty.lastTokens;
    }
    if (req.jsonSchema !== undefined) body.response_format = { type: 'json_schema', json_schema: { name: 'output', schema: req.jsonSchema, strict: true } };
    const silence = new AbortController();
    let silenceTimer: ReturnType<typeof setTimeout> | null = null;
    const heard = () => {
      if (silenceTimer) clearTimeout(silenceTimer);
      silenceTimer = setTimeout(() => silence.abort(), this.#silenceMs);
    };
    heard();
    const signal = AbortSignal.any([req.signal, silence.signal]);
    let text = '';
    let finishReason: ChatStreamResult['finishReason'] | null = null;
    let promptTokens: number | null = null;
    let completionTokens: number | null = null;
    let tokensPerSecond: number | null = null;
    let firstTokenAt: number | null = null;
    let chunks = 0;
    const interrupted = (why: string) =>
      new UserFacingError('server/interrupted', `The office server at ${this.label} stopped answering mid-reply (${why}). What it wrote is kept; retry when it is back.`);
    try {
      // No limit on the whole reply (a long answer from a busy server takes minutes): only on silence.
      const response = await this.#fetch('/v1/chat/completions', { method: 'POST', body: JSON.stringify(body), signal, timeoutMs: null });
      if (!response.ok || !response.body) {
        const detail = serverMessage(await response.text().catch(() => ''));
        if (/context|too long|exceed/i.test(detail)) throw new UserFacingError('chat/too-long', `This message does not fit in the office server’s context: ${detail}`);
        throw new UserFacingError('server/failed', `The office server at ${this.label} answered ${response.status}: ${detail}`);
      }
      const decoder = new TextDecoder();
      let buffer = '';
      const reader = response.body.getReader();
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        heard();
        buffer += decoder.decode(value, { stream: true });
        let newline: number;
        while ((newline = buffer.indexOf('\n')) >= 0) {
          const line = buffer.slice(0, newline).replace(/\r$/, '');
          buffer = buffer.slice(newline + 1);
          if (!line.startsWith('data:')) continue;
          const data = line.slice(5).trim();
          if (data === '[DONE]') continue;
          let event: StreamEvent;
          try {
            event = JSON.parse(data) as StreamEvent;
          } catch {
            continue;
          }
          if (event.error) throw new UserFacingError('server/failed', `The office server at ${this.label} failed: ${serverMessage(JSON.stringify(event))}`);
          const choice = event.choices?.[0];
          const piece = choice?.delta?.content;
          if (typeof piece === 'string' && piece) {
            firstTokenAt ??= performance.now();
            chunks++;
            text += piece;
            req.onText(piece);
          }
          if (choice?.finish_reason) finishReason = choice.finish_reason === 'length' ? 'length' : 'stop';
          if (event.usage) {
            promptTokens = numberOr(event.usage.prompt_tokens, promptTokens);
            completionTokens = numberOr(event.usage.completion_tokens, completionTokens);
          }
          if (event.timings) tokensPerSecond = numberOr(event.timings.predicted_per_second, tokensPerSecond);
        }
      }
      if (finishReason === null) throw interrupted('the reply ended without its last part');
    } catch (e) {
      if (req.signal.aborted) return { text, finishReason: 'aborted', promptTokens, completionTokens, tokensPerSecond, firstTokenAt, chunks };
      if (e instanceof UserFacingError && e.code !== 'server/unreachable') throw e;
      if (silence.signal.aborted) throw interrupted(`silent for ${Math.round(this.#silenceMs / 1000)} s`);
      if (e instanceof UserFacingError && text === '') throw e;
      throw interrupted(reasonOf(e));
    } finally {
      if (silenceTimer) clearTimeout(silenceTimer);
    }
    return { text, finishReason, promptTokens, completionTokens, tokensPerSecond, firstTokenAt, chunks };
  }
}

interface StreamEvent {
  choices?: { delta?: { content?: unknown }; finish_reason?: string | null }[];
  usage?: { prompt_tokens?: unknown; completion_tokens?: unknown };
  timings?: { predicted_per_second?: unknown };
  error?: unknown;
}

function numberOr(v: unknown, fallback: number | null): number | null {
  return typeof v === 'number' && Number.isFinite(v) ? v : fallback;
}

/** A server's error body, cut to a sentence (never HTML or a page of JSON in the window). */
function serverMessage(text: string): string {
  let message = text;
  try {
    const body = JSON.parse(text) as { error?: { message?: unknown } | string; message?: unknown };
    message = typeof body.error === 'string' ? body.error : typeof body.error?.message === 'string' ? body.error.message : typeof body.message === 'string' ? body.message : text;
  } catch {
    // not JSON
  }
  const plain = message.replace(/<[^>]*>/g, ' ').replace(/\s+/g, ' ').trim();
  return plain.length > 300 ? `${plain.slice(0, 300)}…` : plain || 'no reason given';
}
