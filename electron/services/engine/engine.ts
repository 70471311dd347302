// Hosts llama.cpp (node-llama-cpp) for the app: one model at a time, one context with a small pool
// of sequences, one sequence per active conversation so a follow-up turn reuses its KV cache.
// Resources are created and released in order (llama → model → context → sequences, and back)
// under one lock, so loading, switching and unloading never overlap or leak.
import {
  getLlama,
  LlamaChat,
  LlamaLogLevel,
  type ChatHistoryItem,
  type GbnfJsonSchema,
  type Llama,
  type LlamaGrammar,
  type LlamaContext,
  type LlamaContextSequence,
  type LlamaModel,
} from 'node-llama-cpp';
import { UserFacingError } from '../../contract/errors.ts';
import { NO_MODEL_STATUS, type EngineStatus, type GpuMode, type ModelInfo, type Settings } from '../../contract/types.ts';
import { physicalCoreCount } from './cpu.ts';
import { OfficeServerClient, type ChatMessage, type OfficeServerConfig } from './office-server.ts';
import { LoopWatch } from './repetition.ts';

export interface ChatTurn {
  role: 'user' | 'assistant';
  text: string;
}

export interface GenerateRequest {
  conversationId: string;
  systemPrompt: string;
  /** Whole conversation, ending with the user turn to answer. */
  turns: ChatTurn[];
  settings: Pick<Settings, 'temperature' | 'topP' | 'maxTokens'>;
  signal: AbortSignal;
  onText: (text: string) => void;
  /** LoRA adapters to apply (files checked by the caller), each with its scale; none by default. */
  adapters?: AdapterUse[];
  /** The context size this reply wants (an assistant's own); the current one when not given. */
  contextSize?: number;
  /** Stop when the reply starts repeating itself, and cut the repetition (stopReason 'loop'). */
  stopOnLoop?: boolean;
  /**
   * Background work (a task's batch): a reply to a person asked meanwhile waits for this
   * generation to end and then goes first; background requests are refused while one waits.
   */
  background?: boolean;
  /** The start of the reply, written before: the model goes on from its last word (Continue). */
  continueFrom?: string;
  /**
   * Constrain the reply to JSON under this schema (a grammar built by llama.cpp from it): the
   * model can write nothing else. The text returned is that JSON (cut short at maxTokens).
   */
  jsonSchema?: GbnfJsonSchema;
}

export interface AdapterUse {
  path: string;
  scale: number;
}

export interface GenerateResult {
  text: string;
  stopReason: 'end' | 'max-tokens' | 'aborted' | 'loop';
  tokenCount: number;
  durationMs: number;
  /** Tokens per second from the first generated token to the last. */
  tokensPerSecond: number | null;
  contextTokens: number;
  contextSize: number;
  modelName: string;
}

export interface EngineLogger {
  warn(message: string): void;
  error(message: string): void;
}

interface Slot {
  sequence: LlamaContextSequence;
  chat: LlamaChat;
  conversationId: string | null;
  /** History as LlamaChat last saw it, and the window it kept in context: for KV reuse. */
  lastHistory: ChatHistoryItem[] | null;
  lastContextWindow: ChatHistoryItem[] | null;
  lastUsed: number;
}

interface Loaded {
  info: ModelInfo;
  model: LlamaModel;
  context: LlamaContext;
  slots: Slot[];
  threads: number;
  /** The adapters the context was made with (a context's LoRA set is fixed), as a comparable key. */
  adapterKey: string;
}

/** An office server answering instead of this computer, as measured when it was chosen. */
interface ServerBackend {
  client: OfficeServerClient;
  model: string;
  /** Tokens a reply's prompt and text may take: the server's slot size, or the settings' when it does not say. */
  contextSize: number;
  /** Characters per token of the server's tokenizer on ordinary text, less a margin (for planning). */
  charsPerToken: number;
  /** The server counts a prompt made by its own chat template (llama-server's /apply-template and /tokenize). */
  countsPrompts: boolean;
}

/** Real prose of the kinds Enclave reads, to measure a server's tokenizer by (characters per token). */
const CALIBRATION_TEXT =
  'The Company shall indemnify and hold harmless the Distributor from any claims, losses or damages (including reasonable attorneys’ fees) arising out of a breach of Section 7.2. ' +
  'This Agreement terminates on December 31, 2027 unless renewed in writing 90 days before. Patient: 54-year-old male, BP 142/91 mmHg, HbA1c 7.8%; atorvastatin 10 mg once daily, metformin 500 mg twice daily. ' +
  'Follow-up in 3 months; refer to nephrology if eGFR < 45 mL/min/1.73 m². The court held that the statute of limitations began to run when the plaintiff knew, or should have known, of the injury.';

const adapterKey = (adapters: AdapterUse[]) => JSON.stringify(adapters.map((a) => [a.path, a.scale]));

export const REPEAT_PENALTY = 1.1;

/** Sequences kept warm: the active conversation and the one before it. */
export const SEQUENCE_POOL_SIZE = 2;

export class Engine {
  #llama: Llama | null = null;
  #llamaGpu: GpuMode | null = null;
  #loaded: Loaded | null = null;
  #server: ServerBackend | null = null;
  #status: EngineStatus = { ...NO_MODEL_STATUS };
  #lock: Promise<unknown> = Promise.resolve();
  /** Loads, unloads and context changes queued or running (a reply waits for them). */
  #lifecycleQueued = 0;
  #generating = false;
  /** The generation in progress is background work. */
  #background = false;
  /** People's replies waiting for a background generation to end. */
  #foregroundWaiting = 0;
  #idleWaiters: (() => void)[] = [];
  #onStatus: (s: EngineStatus) => void;
  #log: EngineLogger;

  constructor(options: { onStatus?: (s: EngineStatus) => void; logger?: EngineLogger } = {}) {
    this.#onStatus = options.onStatus ?? (() => {});
    this.#log = options.logger ?? { warn: (m) => console.warn(m), error: (m) => console.error(m) };
  }

  get status(): EngineStatus {
    return { ...this.#status };
  }

  get loadedModelId(): string | null {
    return this.#loaded?.info.id ?? null;
  }

  /** Answers come from an office server (no model of this computer is loaded). */
  get onServer(): boolean {
    return this.#server !== null;
  }

  /**
   * Answers from now on come from an office server: this computer's model is released, the
   * server is asked for its models (the chosen one must be there), its context size, and how
   * its tokenizer counts ordinary text. Throws a sentence fit to show when it cannot be used.
   */
  useServer(config: OfficeServerConfig, settings: Settings): Promise<void> {
    return this.#exclusive(async () => {
      if (this.#generating) throw new UserFacingError('chat/busy', 'Stop the reply in progress before switching to the office server.');
      const client = new OfficeServerClient(config.baseUrl, config.apiKey);
      this.#setStatus({ state: 'loading', modelId: null, loadProgress: 0, error: null, contextSize: null, threads: null, server: { label: client.label, model: config.model } });
      await this.#release();
      this.#server = null;
      try {
        const models = await client.models();
        if (!models.some((m) => m.id === config.model)) {
          throw new UserFacingError('server/no-model', `The office server at ${client.label} has no model “${config.model}”${models.length ? ` (it has ${models.map((m) => `“${m.id}”`).join(', ')})` : ''}.`);
        }
        const props = await client.props();
        const counted = await client.tokenize(CALIBRATION_TEXT, config.model);
        // 10 % more tokens than measured: a budget planned with it never overfills the context.
        const charsPerToken = counted ? (CALIBRATION_TEXT.length / counted) * 0.9 : 3;
        const countsPrompts = counted !== null && (await client.applyTemplate([{ role: 'user', content: 'x' }])) !== null;
        this.#server = { client, model: config.model, contextSize: props.contextSize ?? settings.contextSize, charsPerToken, countsPrompts };
        this.#setStatus({ state: 'ready', loadProgress: 1, contextSize: this.#server.contextSize });
      } catch (e) {
        const error = e instanceof UserFacingError ? e : new UserFacingError('server/failed', `The office server could not be used: ${(e as Error).message}`);
        this.#setStatus({ state: 'error', loadProgress: 0, error: error.toValue() });
        throw error;
      }
    });
  }

  /** Back to this computer: the office server is no longer used (a local model is loaded next). */
  useLocal(): Promise<void> {
    return this.#exclusive(async () => {
      if (this.#generating) throw new UserFacingError('chat/busy', 'Stop the reply in progress before switching back to this computer.');
      this.#server = null;
      this.#setStatus({ ...NO_MODEL_STATUS });
    });
  }

  #setStatus(patch: Partial<EngineStatus>): void {
    this.#status = { ...this.#status, ...patch };
    this.#onStatus(this.status);
  }

  /** Runs `fn` after every earlier lifecycle operation has finished. */
  #exclusive<T>(fn: () => Promise<T>): Promise<T> {
    this.#lifecycleQueued++;
    const run = this.#lock.then(fn, fn).finally(() => this.#lifecycleQueued--);
    this.#lock = run.catch(() => undefined);
    return run;
  }

  async #getLlama(gpu: GpuMode): Promise<Llama> {
    if (this.#llama && this.#llamaGpu === gpu) return this.#llama;
    if (this.#llama) {
      await this.#llama.dispose();
      this.#llama = null;
    }
    this.#llama = await getLlama({
      gpu: gpu === 'auto' ? 'auto' : false,
      build: 'never',
      logLevel: LlamaLogLevel.warn,
      logger: (level, message) => {
        const text = message.trim();
        if (!text) return;
        if (level === LlamaLogLevel.error || level === LlamaLogLevel.fatal) this.#log.error(`[llama] ${text}`);
        else if (level === LlamaLogLevel.warn) this.#log.warn(`[llama] ${text}`);
      },
    });
    this.#llamaGpu = gpu;
    return this.#llama;
  }

  /** Loads `info` as the active model, unloading any other first. */
  load(info: ModelInfo, settings: Settings): Promise<void> {
    return this.#exclusive(async () => {
      if (this.#generating) throw new UserFacingError('chat/busy', 'Stop the reply in progress before switching models.');
      if (this.#server) throw new UserFacingError('server/in-use', `Answers come from the office server at ${this.#server.client.label}. To use a model on this computer, choose “This computer” under Inference in Settings.`);
      const threads = settings.threads > 0 ? settings.threads : physicalCoreCount();
      // The same model with the same settings is already loaded (chosen twice, or added and chosen
      // at once): nothing to do, and its cached conversations are kept.
      const current = this.#loaded;
      if (current && current.info.id === info.id && current.info.path === info.path && current.info.sha256 === info.sha256 && current.threads === threads && this.#llamaGpu === settings.gpu && current.adapterKey === adapterKey([])) {
        const trained = current.model.trainContextSize;
        if (current.context.contextSize === Math.max(512, Math.min(settings.contextSize, trained > 0 ? trained : settings.contextSize))) return;
      }
      // Said before the old model goes: never "ready" while there is no model to answer.
      this.#setStatus({ state: 'loading', modelId: info.id, loadProgress: 0, error: null, contextSize: null, threads, server: null });
      await this.#release();
      let model: LlamaModel | null = null;
      try {
        const llama = await this.#getLlama(settings.gpu);
        model = await llama.loadModel({
          modelPath: info.path,
          gpuLayers: settings.gpu === 'auto' ? 'auto' : 0,
          onLoadProgress: (p) => this.#setStatus({ loadProgress: p }),
        });
        const trained = model.trainContextSize;
        const contextSize = Math.max(512, Math.min(settings.contextSize, trained > 0 ? trained : settings.contextSize));
        const { context, slots } = await this.#createContext(model, contextSize, threads, []);
        this.#loaded = { info, model, context, slots, threads, adapterKey: adapterKey([]) };
        this.#setStatus({ state: 'ready', loadProgress: 1, contextSize: context.contextSize });
      } catch (e) {
        if (model && !model.disposed) await model.dispose();
        const error = new UserFacingError('model/load-failed', `“${info.name}” could not be loaded: ${(e as Error).message}`);
        this.#setStatus({ state: 'error', loadProgress: 0, error: error.toValue() });
        throw error;
      }
    });
  }

  /** A context with its pool of sequences, with the given LoRA adapters applied. */
  async #createContext(model: LlamaModel, contextSize: number, threads: number, adapters: AdapterUse[]): Promise<{ context: LlamaContext; slots: Slot[] }> {
    const context = await model.createContext({
      contextSize,
      threads,
      sequences: SEQUENCE_POOL_SIZE,
      ...(adapters.length ? { lora: { adapters: adapters.map((a) => ({ filePath: a.path, scale: a.scale })) } } : {}),
    });
    const slots: Slot[] = [];
    for (let i = 0; i < SEQUENCE_POOL_SIZE; i++) {
      const sequence = context.getSequence();
      slots.push({ sequence, chat: new LlamaChat({ contextSequence: sequence }), conversationId: null, lastHistory: null, lastContextWindow: null, lastUsed: 0 });
    }
    return { context, slots };
  }

  /**
   * Makes the context carry exactly these adapters, at this size. Only the context is rebuilt (the
   * model stays loaded); when nothing changes nothing happens, so cached conversations are kept.
   */
  #useContext(adapters: AdapterUse[], wantedSize?: number): Promise<void> {
    return this.#exclusive(async () => {
      const loaded = this.#loaded;
      if (!loaded) return;
      const trained = loaded.model.trainContextSize;
      const contextSize = wantedSize ? Math.max(512, Math.min(wantedSize, trained > 0 ? trained : wantedSize)) : loaded.context.contextSize;
      if (loaded.adapterKey === adapterKey(adapters) && loaded.context.contextSize === contextSize) return;
      this.#setStatus({ state: 'loading', loadProgress: 0 });
      try {
        for (const slot of loaded.slots) {
          slot.chat.dispose({ disposeSequence: false });
          slot.sequence.dispose();
        }
        await loaded.context.dispose();
        try {
          Object.assign(loaded, await this.#createContext(loaded.model, contextSize, loaded.threads, adapters), { adapterKey: adapterKey(adapters) });
        } catch (e) {
          // Back to the plain model, so the app keeps working; the reply says what failed.
          Object.assign(loaded, await this.#createContext(loaded.model, contextSize, loaded.threads, []), { adapterKey: adapterKey([]) });
          throw new UserFacingError('adapter/mismatch', `The LoRA adapter could not be applied: ${(e as Error).message}`);
        }
      } finally {
        this.#setStatus({ state: 'ready', loadProgress: 1, contextSize: loaded.context.contextSize });
      }
    });
  }

  unload(): Promise<void> {
    return this.#exclusive(async () => {
      if (this.#generating) throw new UserFacingError('chat/busy', 'Stop the reply in progress before unloading the model.');
      if (this.#server) return;
      await this.#release();
      this.#setStatus({ state: 'no-model', modelId: null, loadProgress: 0, contextSize: null, error: null });
    });
  }

  /** Releases in order: chats and sequences, then the context, then the model. */
  async #release(): Promise<void> {
    const loaded = this.#loaded;
    this.#loaded = null;
    if (!loaded) return;
    for (const slot of loaded.slots) {
      slot.chat.dispose({ disposeSequence: false });
      slot.sequence.dispose();
    }
    await loaded.context.dispose();
    await loaded.model.dispose();
  }

  /** Forget a conversation's KV state (after an edit, or when it is deleted). */
  forgetConversation(conversationId: string): void {
    for (const slot of this.#loaded?.slots ?? []) {
      if (slot.conversationId === conversationId) {
        slot.lastHistory = null;
        slot.lastContextWindow = null;
      }
    }
  }

  #slotFor(conversationId: string): Slot {
    const loaded = this.#loaded!;
    let slot = loaded.slots.find((s) => s.conversationId === conversationId);
    if (!slot) {
      // Least recently used sequence goes to this conversation; its old tokens will not match.
      slot = [...loaded.slots].sort((a, b) => a.lastUsed - b.lastUsed)[0];
      slot.conversationId = conversationId;
      slot.lastHistory = null;
      slot.lastContextWindow = null;
    }
    slot.lastUsed = performance.now();
    return slot;
  }

  /** True while the model works on background generations only: a person's reply may start (it waits its turn). */
  get backgroundBusy(): boolean {
    return this.#generating && this.#background;
  }

  #endGeneration(): void {
    this.#generating = false;
    this.#background = false;
    for (const wake of this.#idleWaiters.splice(0)) wake();
  }

  async generate(req: GenerateRequest): Promise<GenerateResult> {
    const busy = () => new UserFacingError('chat/busy', 'The model is still answering. Wait for it, or stop it first.');
    if (this.#generating) {
      if (req.background || !this.#background) throw busy();
      // A person's reply waits for the background generation in progress (a field of a task, a
      // few seconds at most) and then goes first.
      this.#foregroundWaiting++;
      try {
        await new Promise<void>((wake) => this.#idleWaiters.push(wake));
      } finally {
        this.#foregroundWaiting--;
      }
      if (this.#generating) throw busy();
    }
    if (req.background && this.#foregroundWaiting > 0) throw busy();
    // A model being loaded (or reloaded with new settings) is waited for, not reported as missing.
    if (this.#lifecycleQueued > 0) {
      await this.#lock;
      if (this.#generating) throw busy();
    }
    const loaded = this.#loaded;
    const server = this.#server;
    if ((!loaded && !server) || this.#status.state !== 'ready') {
      throw new UserFacingError('model/not-loaded', 'No model is loaded. Add or choose a model first.');
    }
    this.#generating = true;
    this.#background = req.background ?? false;
    if (server) return this.#generateOnServer(server, req);
    if (!loaded) throw new UserFacingError('model/not-loaded', 'No model is loaded. Add or choose a model first.');
    try {
      await this.#useContext(req.adapters ?? [], req.contextSize);
    } catch (e) {
      this.#endGeneration();
      throw e;
    }
    let grammar: LlamaGrammar | undefined;
    try {
      grammar = req.jsonSchema ? await this.#llama!.createGrammarForJsonSchema<GbnfJsonSchema>(req.jsonSchema) : undefined;
    } catch (e) {
      this.#endGeneration();
      throw new UserFacingError('task/bad-schema', `The output structure cannot be expressed as a grammar: ${(e as Error).message}`);
    }
    this.#setStatus({ state: 'generating', busyConversationId: req.conversationId, background: this.#background });
    const slot = this.#slotFor(req.conversationId);
    const history = toChatHistory(req.systemPrompt, req.turns, req.continueFrom);
    const started = performance.now();
    let firstTokenAt: number | null = null;
    let tokenCount = 0;
    let streamed = '';
    const stats = (text: string, stopReason: GenerateResult['stopReason']): GenerateResult => {
      const ended = performance.now();
      const genSeconds = firstTokenAt === null ? 0 : (ended - firstTokenAt) / 1000;
      return {
        text,
        stopReason,
        tokenCount,
        durationMs: Math.round(ended - started),
        tokensPerSecond: tokenCount > 1 && genSeconds > 0 ? (tokenCount - 1) / genSeconds : null,
        contextTokens: slot.sequence.nextTokenIndex,
        contextSize: loaded.context.contextSize,
        modelName: loaded.info.name,
      };
    };
    const { signal, looped, push } = loopGuard(req, () => streamed);
    try {
      const response = await slot.chat.generateResponse(history, {
        signal,
        stopOnAbortSignal: true,
        maxTokens: req.settings.maxTokens,
        temperature: req.settings.temperature,
        topP: req.settings.topP,
        // Small models fall into loops ("13. PSS 14. PSS …"): a mild penalty on recent tokens, as
        // llama.cpp's own tools default to. Not under a grammar: JSON repeats its quotes and keys
        // by design, and a quote copies the document's words.
        repeatPenalty: grammar ? false : { penalty: REPEAT_PENALTY, lastTokens: 64 },
        grammar,
        lastEvaluationContextWindow: continuedWindow(slot, history),
        onToken: (tokens) => {
          if (firstTokenAt === null) firstTokenAt = performance.now();
          tokenCount += tokens.length;
        },
        onTextChunk: (text) => {
          streamed += text;
          push(text);
          req.onText(text);
        },
      });
      slot.lastHistory = response.lastEvaluation.cleanHistory;
      slot.lastContextWindow = response.lastEvaluation.contextWindow;
      const cut = looped();
      if (cut !== null && !req.signal.aborted) {
        // The repetition is not part of the reply; nor of what this sequence remembers.
        slot.lastHistory = null;
        slot.lastContextWindow = null;
        return stats(cut, 'loop');
      }
      const stop = response.metadata.stopReason;
      return stats(response.response, stop === 'abort' ? 'aborted' : stop === 'maxTokens' ? 'max-tokens' : 'end');
    } catch (e) {
      slot.lastHistory = null;
      slot.lastContextWindow = null;
      // Stopped before the first token: node-llama-cpp throws instead of returning.
      if (req.signal.aborted) return stats(streamed, 'aborted');
      const cut = looped();
      if (cut !== null) return stats(cut, 'loop');
      const message = (e as Error).message ?? String(e);
      if (/compress chat history|context size|too long/i.test(message)) {
        throw new UserFacingError(
          'chat/too-long',
          `This message does not fit in the model's context of ${loaded.context.contextSize} tokens. Shorten it, or raise the context size in Settings.`,
        );
      }
      throw e;
    } finally {
      this.#setStatus({ state: this.#loaded ? 'ready' : 'no-model', busyConversationId: null, background: false });
      this.#endGeneration();
    }
  }

  /**
   * A reply by the office server: the same streaming, stop, loop cut, JSON schema and figures as
   * on this computer. The prompt is counted by the server's own template and tokenizer when it
   * can; the oldest turns give way when the conversation no longer fits, as they do here.
   */
  async #generateOnServer(server: ServerBackend, req: GenerateRequest): Promise<GenerateResult> {
    this.#setStatus({ state: 'generating', busyConversationId: req.conversationId, background: this.#background });
    const started = performance.now();
    const modelName = `${server.model} (office server at ${server.client.label})`;
    let streamed = '';
    const { signal, looped, push } = loopGuard(req, () => streamed);
    let promptTokens: number | null = null;
    const stats = (text: string, stopReason: GenerateResult['stopReason'], r: { completionTokens: number | null; chunks: number; tokensPerSecond: number | null; firstTokenAt: number | null } | null): GenerateResult => {
      const ended = performance.now();
      const tokenCount = r?.completionTokens ?? r?.chunks ?? 0;
      const genSeconds = r?.firstTokenAt ? (ended - r.firstTokenAt) / 1000 : 0;
      return {
        text,
        stopReason,
        tokenCount,
        durationMs: Math.round(ended - started),
        tokensPerSecond: r?.tokensPerSecond ?? (tokenCount > 1 && genSeconds > 0 ? (tokenCount - 1) / genSeconds : null),
        contextTokens: (promptTokens ?? 0) + tokenCount,
        contextSize: server.contextSize,
        modelName,
      };
    };
    try {
      let turns = req.turns;
      let messages = toServerMessages(req.systemPrompt, turns, req.continueFrom);
      let maxTokens = req.settings.maxTokens;
      if (server.countsPrompts) {
        for (;;) {
          const prompt = await server.client.applyTemplate(messages);
          promptTokens = prompt === null ? null : await server.client.tokenize(prompt, server.model);
          if (promptTokens === null || promptTokens + Math.min(maxTokens, 64) <= server.contextSize) break;
          // The conversation outgrew the server's context: its oldest exchange goes (never the question).
          if (turns.length <= 1) {
            throw new UserFacingError('chat/too-long', `This message does not fit in the office server’s context of ${server.contextSize} tokens. Shorten it.`);
          }
          turns = turns.slice(turns[0].role === 'user' && turns[1]?.role === 'assistant' ? 2 : 1);
          messages = toServerMessages(req.systemPrompt, turns, req.continueFrom);
        }
        if (promptTokens !== null) maxTokens = Math.max(1, Math.min(maxTokens, server.contextSize - promptTokens));
      }
      const r = await server.client.chatStream(server.model, {
        messages,
        maxTokens,
        temperature: req.settings.temperature,
        topP: req.settings.topP,
        // llama-server counts the prompt's last tokens in its repeat penalty (node-llama-cpp only
        // the reply's), so an answer from documents was pushed off the question's and passages'
        // own words: SmolLM2's answers over a collection grew from 59 to 151 sentences, mostly
        // unsupported. Such answers go without it; their loop cut stops a repetition instead.
        repeatPenalty: req.jsonSchema || req.stopOnLoop ? undefined : { penalty: REPEAT_PENALTY, lastTokens: 64 },
        jsonSchema: req.jsonSchema,
        signal,
        onText: (text) => {
          streamed += text;
          push(text);
          req.onText(text);
        },
      });
      promptTokens ??= r.promptTokens;
      const cut = looped();
      if (cut !== null && !req.signal.aborted) return stats(cut, 'loop', r);
      return stats(r.text, r.finishReason === 'aborted' ? 'aborted' : r.finishReason === 'length' ? 'max-tokens' : 'end', r);
    } catch (e) {
      if (req.signal.aborted) return stats(streamed, 'aborted', null);
      const cut = looped();
      if (cut !== null) return stats(cut, 'loop', null);
      throw e;
    } finally {
      this.#setStatus({ state: this.#server ? 'ready' : 'no-model', busyConversationId: null, background: false });
      this.#endGeneration();
    }
  }

  /** Tokens `text` takes for the loaded model (to cut documents into sections that fit). */
  countTokens(text: string): number {
    // The office server's tokenizer, as measured on ordinary text with a margin: documents are
    // planned with it; the whole prompt is counted by the server itself before it is sent.
    if (this.#server) return Math.ceil(text.length / this.#server.charsPerToken);
    if (!this.#loaded) throw new UserFacingError('model/not-loaded', 'No model is loaded. Add or choose a model first.');
    return this.#loaded.model.tokenize(text, false).length;
  }

  get contextSize(): number | null {
    if (this.#server) return this.#server.contextSize;
    return this.#loaded?.context.contextSize ?? null;
  }

  /** Input and output tokens evaluated so far by a conversation's sequence (for tests and benchmarks). */
  tokenUsage(conversationId: string): { input: number; output: number } | null {
    const slot = this.#loaded?.slots.find((s) => s.conversationId === conversationId);
    if (!slot) return null;
    return { input: slot.sequence.tokenMeter.usedInputTokens, output: slot.sequence.tokenMeter.usedOutputTokens };
  }

  dispose(): Promise<void> {
    return this.#exclusive(async () => {
      this.#server = null;
      await this.#release();
      if (this.#llama) await this.#llama.dispose();
      this.#llama = null;
      this.#setStatus({ state: 'no-model', modelId: null, contextSize: null });
    });
  }
}

function toChatHistory(systemPrompt: string, turns: ChatTurn[], continueFrom?: string): ChatHistoryItem[] {
  const history: ChatHistoryItem[] = [];
  if (systemPrompt.trim()) history.push({ type: 'system', text: systemPrompt });
  for (const t of turns) {
    history.push(t.role === 'user' ? { type: 'user', text: t.text } : { type: 'model', response: [t.text] });
  }
  // The reply to write: empty, or the part written before when it is continued.
  history.push({ type: 'model', response: continueFrom ? [continueFrom] : [] });
  return history;
}

/** The conversation as OpenAI-compatible messages; a continued reply ends with its start (llama-server prefills it). */
function toServerMessages(systemPrompt: string, turns: ChatTurn[], continueFrom?: string): ChatMessage[] {
  const messages: ChatMessage[] = [];
  if (systemPrompt.trim()) messages.push({ role: 'system', content: systemPrompt });
  for (const t of turns) messages.push({ role: t.role, content: t.text });
  if (continueFrom) messages.push({ role: 'assistant', content: continueFrom });
  return messages;
}

/** A reply's loop cut: its stop signal, what it heard, and the reply cut where it began repeating. */
function loopGuard(req: GenerateRequest, streamed: () => string) {
  const loopStop = new AbortController();
  const watch = req.stopOnLoop ? new LoopWatch(() => loopStop.abort()) : null;
  return {
    signal: watch ? AbortSignal.any([req.signal, loopStop.signal]) : req.signal,
    push: (text: string) => watch?.push(text),
    looped: (): string | null => {
      const cut = watch?.cut ?? null;
      return cut === null ? null : streamed().slice(0, cut).trimEnd();
    },
  };
}

function sameItem(a: ChatHistoryItem, b: ChatHistoryItem): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/**
 * When the new history extends what this sequence last evaluated, tell LlamaChat the window it
 * kept (plus the new items), so it continues from the cached tokens instead of rebuilding.
 */
function continuedWindow(slot: Slot, history: ChatHistoryItem[]) {
  const last = slot.lastHistory;
  const window = slot.lastContextWindow;
  if (!last || !window || last.length > history.length) return undefined;
  for (let i = 0; i < last.length; i++) if (!sameItem(last[i], history[i])) return undefined;
  // The same history (a reply continued where it was cut off): the window as it was.
  if (last.length === history.length) return { history: window };
  return { history: [...window, ...history.slice(last.length)] };
}
