// Enclave's own local API, for other programs of this computer (a dictation app, an EHR add-in, a
// script): OpenAI-compatible /v1/models, /v1/chat/completions (streaming or not) and
// /v1/embeddings, and /v1/grounded, which answers from a named collection with Enclave's checked
// sources. Off unless turned on in Settings; on 127.0.0.1 unless the office chooses its network;
// every request must carry the bearer token shown in Settings. Each call is in the audit trail.
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { UserFacingError } from '../../contract/errors.ts';
import type { Collection, LocalApiView, Message } from '../../contract/types.ts';
import type { Engine, ChatTurn } from '../engine/engine.ts';
import type { Embedder } from '../retrieval/embedder.ts';
import type { AuditLog } from '../store/audit-log.ts';
import type { SettingsStore } from '../store/settings-store.ts';

interface StoredApi {
  enabled: boolean;
  host: '127.0.0.1' | '0.0.0.0';
  port: number;
  token: string;
}

export const DEFAULT_API_PORT = 5758;
/** A request body larger than this is refused (a whole conversation fits many times over). */
const MAX_BODY_BYTES = 4 * 1024 * 1024;

export interface ApiDeps {
  settings: SettingsStore;
  engine: Engine;
  embedder: Embedder;
  audit?: AuditLog;
  /** The model answering now, by name. */
  modelName(): string | null;
  generation(): { temperature: number; topP: number; maxTokens: number };
  collections(): Collection[];
  /** Asks a question in a hidden conversation answering from the collection; the checked reply. */
  askGrounded(collectionId: string, question: string): Promise<Message>;
}

export class LocalApi {
  readonly #deps: ApiDeps;
  #server: Server | null = null;
  #url: string | null = null;
  #error: string | null = null;
  #requests = 0;

  constructor(deps: ApiDeps) {
    this.#deps = deps;
  }

  #stored(): StoredApi {
    const saved = this.#deps.settings.localApi<StoredApi>();
    if (saved?.token) return saved;
    const fresh: StoredApi = { enabled: false, host: '127.0.0.1', port: DEFAULT_API_PORT, token: newToken(), ...(saved ?? {}) };
    if (!fresh.token) fresh.token = newToken();
    this.#deps.settings.setLocalApi(fresh);
    return fresh;
  }

  view(): LocalApiView {
    const s = this.#stored();
    return { enabled: s.enabled, host: s.host, port: s.port, token: s.token, url: this.#url, error: this.#error };
  }

  /** Starts it when it was left on (at start). */
  async restore(): Promise<void> {
    if (this.#stored().enabled) await this.#listen().catch(() => undefined);
  }

  async set(enabled: boolean, host: StoredApi['host'], port: number): Promise<LocalApiView> {
    const before = this.#stored();
    this.#deps.settings.setLocalApi({ ...before, enabled, host, port });
    await this.stop();
    if (enabled) await this.#listen();
    if (before.enabled !== enabled || before.host !== host || before.port !== port) {
      this.#deps.audit?.record('api.changed', enabled ? `Turned on Enclave’s local API at ${this.#url ?? `${host}:${port}`}` : 'Turned off Enclave’s local API', { enabled, host, port, error: this.#error });
    }
    return this.view();
  }

  async newToken(): Promise<LocalApiView> {
    this.#deps.settings.setLocalApi({ ...this.#stored(), token: newToken() });
    this.#deps.audit?.record('api.changed', 'Made a new token for Enclave’s local API (the old one no longer works)', { newToken: true });
    return this.view();
  }

  #listen(): Promise<void> {
    const s = this.#stored();
    this.#error = null;
    return new Promise((resolve, reject) => {
      const server = createServer((req, res) => void this.#handle(req, res));
      server.on('error', (e: NodeJS.ErrnoException) => {
        this.#error = e.code === 'EADDRINUSE' ? `Port ${s.port} is taken by another program: choose another.` : `The API could not start: ${e.message}`;
        this.#server = null;
        this.#url = null;
        reject(new UserFacingError('api/bad-port', this.#error));
      });
      server.listen(s.port, s.host, () => {
        const address = server.address() as AddressInfo;
        this.#server = server;
        this.#url = `http://${s.host === '0.0.0.0' ? '0.0.0.0' : '127.0.0.1'}:${address.port}/v1`;
        resolve();
      });
    });
  }

  async stop(): Promise<void> {
    const server = this.#server;
    this.#server = null;
    this.#url = null;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  #authorized(req: IncomingMessage): boolean {
    const header = req.headers.authorization ?? '';
    const given = Buffer.from(/^Bearer\s+(.+)$/i.exec(header)?.[1]?.trim() ?? '');
    const token = Buffer.from(this.#stored().token);
    return given.length === token.length && timingSafeEqual(given, token);
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    res.setHeader('cache-control', 'no-store');
    res.setHeader('x-content-type-options', 'nosniff');
    // Other programs, not web pages: a browser page of another origin gets no CORS permission.
    if (req.headers.origin) return sendError(res, 403, 'Enclave’s API does not answer web pages.', 'forbidden');
    if (!this.#authorized(req)) return sendError(res, 401, 'Missing or wrong API token (see Enclave → Settings → Local API).', 'invalid_api_key');
    const url = new URL(req.url ?? '/', 'http://localhost');
    const route = `${req.method} ${url.pathname.replace(/\/+$/, '')}`;
    this.#requests++;
    try {
      if (route === 'GET /v1/models') return sendJson(res, 200, this.#models());
      if (req.method !== 'POST') return sendError(res, 404, `No such endpoint: ${req.method} ${url.pathname}`, 'not_found');
      const body = await readJson(req);
      if (route === 'POST /v1/chat/completions') return await this.#chat(req, res, body);
      if (route === 'POST /v1/embeddings') return await this.#embeddings(res, body);
      if (route === 'POST /v1/grounded') return await this.#grounded(res, body);
      return sendError(res, 404, `No such endpoint: ${req.method} ${url.pathname}`, 'not_found');
    } catch (e) {
      if (res.headersSent) {
        // A stream already begun: the failure is its last event, then it ends (never a silent cut).
        const message = e instanceof UserFacingError ? e.message : 'Enclave failed to finish this reply.';
        res.end(`data: ${JSON.stringify({ error: { message, type: 'server_error', code: e instanceof UserFacingError ? e.code : 'internal' } })}\n\n`);
        return;
      }
      if (e instanceof ApiInputError) return sendError(res, 400, e.message, 'invalid_request_error');
      if (e instanceof UserFacingError) {
        const status = e.code === 'chat/busy' ? 429 : e.code === 'model/not-loaded' || e.code.startsWith('server/') ? 503 : 400;
        return sendError(res, status, e.message, e.code);
      }
      console.error('[api]', e);
      return sendError(res, 500, 'Enclave failed to answer this request.', 'internal');
    }
  }

  #models() {
    const created = Math.floor(Date.now() / 1000);
    const data = [];
    const chat = this.#deps.modelName();
    if (chat) data.push({ id: chat, object: 'model', created, owned_by: 'enclave' });
    const embedding = this.#deps.embedder.info?.name;
    if (embedding) data.push({ id: embedding, object: 'model', created, owned_by: 'enclave' });
    data.push({ id: 'enclave-grounded', object: 'model', created, owned_by: 'enclave' });
    return { object: 'list', data };
  }

  async #chat(req: IncomingMessage, res: ServerResponse, body: Record<string, unknown>): Promise<void> {
    const messages = body.messages;
    if (!Array.isArray(messages) || messages.length === 0) throw new ApiInputError('“messages” must be a non-empty list.');
    let system = '';
    const turns: ChatTurn[] = [];
    for (const m of messages as { role?: unknown; content?: unknown }[]) {
      const text = contentText(m?.content);
      if (m?.role === 'system' || m?.role === 'developer') system += (system ? '\n\n' : '') + text;
      else if (m?.role === 'user' || m?.role === 'assistant') turns.push({ role: m.role, text });
      else throw new ApiInputError(`A message's role must be system, user or assistant (got ${JSON.stringify(m?.role)}).`);
    }
    if (turns.at(-1)?.role !== 'user') throw new ApiInputError('The last message must be the user’s.');
    const defaults = this.#deps.generation();
    const settings = {
      temperature: numberIn(body.temperature, 0, 2) ?? defaults.temperature,
      topP: numberIn(body.top_p, 0.01, 1) ?? defaults.topP,
      maxTokens: Math.round(numberIn(body.max_completion_tokens ?? body.max_tokens, 1, 65536) ?? defaults.maxTokens),
    };
    const format = body.response_format as { type?: string; json_schema?: { schema?: unknown } } | undefined;
    const jsonSchema = format?.type === 'json_schema' ? (format.json_schema?.schema ?? {}) : format?.type === 'json_object' ? { type: 'object' } : undefined;
    const stream = body.stream === true;
    const abort = new AbortController();
    // The caller hung up: its reply stops (and a server slot is freed).
    res.on('close', () => {
      if (!res.writableFinished) abort.abort();
    });
    const id = `chatcmpl-${randomBytes(12).toString('hex')}`;
    const created = Math.floor(Date.now() / 1000);
    const model = this.#deps.modelName() ?? 'enclave';
    const question = turns.at(-1)!.text;
    const chunk = (delta: Record<string, unknown>, finish: string | null) => ({ id, object: 'chat.completion.chunk', created, model, choices: [{ index: 0, delta, finish_reason: finish }] });
    let started = false;
    const result = await this.#deps.engine.generate({
      conversationId: `api:${id}`,
      systemPrompt: system,
      turns,
      settings,
      signal: abort.signal,
      jsonSchema: jsonSchema as never,
      onText: (text) => {
        if (!stream) return;
        if (!started) {
          started = true;
          res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', connection: 'keep-alive' });
          sse(res, chunk({ role: 'assistant', content: '' }, null));
        }
        sse(res, chunk({ content: text }, null));
      },
    });
    this.#deps.engine.forgetConversation(`api:${id}`);
    this.#deps.audit?.record('api.chat', `A program asked through the local API: “${clip(question)}”`, {
      endpoint: '/v1/chat/completions',
      question,
      answer: result.text,
      model: result.modelName,
      stopReason: result.stopReason,
      stream,
      client: req.socket.remoteAddress ?? null,
    });
    const finish = result.stopReason === 'max-tokens' ? 'length' : 'stop';
    const usage = { prompt_tokens: Math.max(0, result.contextTokens - result.tokenCount), completion_tokens: result.tokenCount, total_tokens: result.contextTokens };
    if (abort.signal.aborted) return;
    if (stream) {
      if (!started) {
        res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8' });
        sse(res, chunk({ role: 'assistant', content: '' }, null));
      }
      sse(res, chunk({}, finish));
      const wantsUsage = (body.stream_options as { include_usage?: unknown } | undefined)?.include_usage === true;
      if (wantsUsage) sse(res, { id, object: 'chat.completion.chunk', created, model, choices: [], usage });
      res.end('data: [DONE]\n\n');
      return;
    }
    sendJson(res, 200, {
      id,
      object: 'chat.completion',
      created,
      model,
      choices: [{ index: 0, message: { role: 'assistant', content: result.text }, finish_reason: finish }],
      usage,
    });
  }

  async #embeddings(res: ServerResponse, body: Record<string, unknown>): Promise<void> {
    const input = typeof body.input === 'string' ? [body.input] : Array.isArray(body.input) && body.input.every((t) => typeof t === 'string') ? (body.input as string[]) : null;
    if (!input || input.length === 0) throw new ApiInputError('“input” must be a text or a list of texts.');
    if (input.length > 256) throw new ApiInputError('At most 256 texts per request.');
    if (!this.#deps.embedder.info) throw new UserFacingError('model/not-loaded', 'No embedding model is in use: choose one with “Use for search” in Enclave’s Models.');
    const vectors = await this.#deps.embedder.embed(input);
    this.#deps.audit?.record('api.embeddings', `A program asked for ${input.length} embedding(s) through the local API`, { endpoint: '/v1/embeddings', texts: input.length });
    sendJson(res, 200, {
      object: 'list',
      model: this.#deps.embedder.info?.name ?? 'enclave',
      // The official clients ask for base64 (little-endian float32) by default.
      data: vectors.map((v, index) => ({ object: 'embedding', index, embedding: body.encoding_format === 'base64' ? Buffer.from(normalized(v).buffer).toString('base64') : Array.from(normalized(v)) })),
      usage: { prompt_tokens: 0, total_tokens: 0 },
    });
  }

  async #grounded(res: ServerResponse, body: Record<string, unknown>): Promise<void> {
    const question = typeof body.question === 'string' ? body.question.trim() : '';
    const name = typeof body.collection === 'string' ? body.collection.trim() : '';
    if (!question) throw new ApiInputError('“question” is required.');
    if (question.length > 8000) throw new ApiInputError('“question” is too long (8,000 characters at most).');
    if (!name) throw new ApiInputError('“collection” (a collection’s name) is required.');
    const all = this.#deps.collections();
    const collection = all.find((c) => c.name.toLocaleLowerCase() === name.toLocaleLowerCase());
    if (!collection) {
      return sendError(res, 404, `No collection is named “${name}”${all.length ? ` (there are ${all.map((c) => `“${c.name}”`).join(', ')})` : ''}.`, 'collection_not_found');
    }
    const message = await this.#deps.askGrounded(collection.id, question);
    if (message.status === 'error') throw new UserFacingError('server/failed', message.error ?? 'The answer failed.');
    const sentences = (message.grounding?.sentences ?? []).map((s) => ({
      text: message.content.slice(s.start, s.end),
      support: s.support,
      source: s.source,
    }));
    const verified = new Set(sentences.filter((s) => s.support === 'verified').map((s) => s.source));
    sendJson(res, 200, {
      collection: collection.name,
      question,
      answer: message.content,
      model: message.modelName,
      /** Each sentence: verified (with the source that supports it), unsupported, refusal or question. */
      sentences,
      sources: message.sources.map((s) => ({
        number: s.number,
        document: s.documentTitle,
        page: s.pageNumber,
        quote: s.quote,
        supports_answer: verified.has(s.number),
      })),
      evidence: message.grounding?.evidence ?? [],
      // Counts, not a yes/no: an answer with one verified sentence and three unsupported ones is not "supported".
      verified_sentences: sentences.filter((s) => s.support === 'verified').length,
      unsupported_sentences: sentences.filter((s) => s.support === 'unsupported').length,
    });
  }
}

class ApiInputError extends Error {}

function newToken(): string {
  return `enclave-${randomBytes(24).toString('base64url')}`;
}

function clip(text: string): string {
  return text.length > 120 ? `${text.slice(0, 120)}…` : text;
}

function contentText(content: unknown): string {
  if (typeof content === 'string') return content;
  if (Array.isArray(content)) {
    return content
      .map((part: { type?: unknown; text?: unknown }) => {
        if (part?.type === 'text' && typeof part.text === 'string') return part.text;
        throw new ApiInputError('Only text message parts are supported.');
      })
      .join('');
  }
  throw new ApiInputError('A message’s content must be text.');
}

function numberIn(v: unknown, min: number, max: number): number | null {
  if (v === undefined || v === null) return null;
  if (typeof v !== 'number' || !Number.isFinite(v) || v < min || v > max) throw new ApiInputError(`A number between ${min} and ${max} was expected, not ${JSON.stringify(v)}.`);
  return v;
}

function normalized(v: Float32Array): Float32Array {
  let norm = 0;
  for (const x of v) norm += x * x;
  norm = Math.sqrt(norm);
  return norm > 0 ? v.map((x) => x / norm) : v;
}

function readJson(req: IncomingMessage): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    let size = 0;
    req.on('data', (part: Buffer) => {
      size += part.length;
      if (size > MAX_BODY_BYTES) {
        reject(new ApiInputError('The request is too large (4 MB at most).'));
        req.destroy();
        return;
      }
      parts.push(part);
    });
    req.on('end', () => {
      try {
        const value = JSON.parse(Buffer.concat(parts).toString('utf8')) as unknown;
        if (!value || typeof value !== 'object' || Array.isArray(value)) throw new Error('not an object');
        resolve(value as Record<string, unknown>);
      } catch {
        reject(new ApiInputError('The request body must be a JSON object.'));
      }
    });
    req.on('error', reject);
  });
}

function sse(res: ServerResponse, value: unknown): void {
  res.write(`data: ${JSON.stringify(value)}\n\n`);
}

function sendJson(res: ServerResponse, status: number, value: unknown): void {
  const body = JSON.stringify(value);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

function sendError(res: ServerResponse, status: number, message: string, code: string): void {
  sendJson(res, status, { error: { message, type: status === 401 ? 'authentication_error' : 'invalid_request_error', code } });
}
