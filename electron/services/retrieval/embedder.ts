// A GGUF embedding model the user added, loaded beside the chat model (node-llama-cpp's
// embedding context). Texts longer than its usable context (the context less the special
// tokens the model adds, such as BERT's [CLS] and [SEP]) are cut to fit rather than refused,
// and a text the model still cannot take fails alone, never the whole batch.
import { getLlama, LlamaLogLevel, type Llama, type LlamaEmbeddingContext, type LlamaModel, type Token } from 'node-llama-cpp';
import { UserFacingError } from '../../contract/errors.ts';
import type { ModelInfo } from '../../contract/types.ts';
import type { OfficeServerClient } from '../engine/office-server.ts';
import { PaddedQuestions, type PaddingCheck } from './padded-question.ts';

/** Embeddings by an office server's model (/v1/embeddings) instead of a model on this computer. */
export interface RemoteEmbeddings {
  client: OfficeServerClient;
  model: string;
}

/** How an office server's embedding model is named in the index and the window. */
export function remoteEmbeddingInfo(remote: RemoteEmbeddings): ModelInfo {
  return {
    id: `server:${remote.client.baseUrl}#${remote.model}`,
    path: '',
    fileName: remote.model,
    name: `${remote.model} (office server at ${remote.client.label})`,
    architecture: 'server',
    parameterCount: 0,
    quantization: '',
    contextLength: null,
    fileSize: 0,
    sha256: null,
    kind: 'embedding',
    addedAt: 0,
  };
}

/** Texts sent to the office server in one request. */
const REMOTE_BATCH = 16;

export class Embedder {
  #llama: Llama | null = null;
  #model: LlamaModel | null = null;
  #context: LlamaEmbeddingContext | null = null;
  /**
   * A second context, on one thread, for questions: a short text on two threads waited on the
   * threads' hand-over (all-MiniLM: p50 5.7 ms either way, p95 38 ms on two threads against 10 ms
   * on one), and a question never queues behind a batch of passages being indexed.
   */
  #questionContext: LlamaEmbeddingContext | null = null;
  #questionLock: Promise<unknown> = Promise.resolve();
  /** Questions of some lengths evaluated in a batch padded to the CPU's fast path, where that pays here. */
  #padded: PaddedQuestions | null = null;
  #paddingCheck: PaddingCheck | null = null;
  readonly #padding: 'auto' | 'always' | 'never';
  #info: ModelInfo | null = null;
  #remote: RemoteEmbeddings | null = null;
  #dimensions: number | null = null;
  #contextSize = 512;
  #lock: Promise<unknown> = Promise.resolve();

  /** `padding`: 'always' pads every question under the fast batch (tests), 'never' never; 'auto' where it measures faster. */
  constructor(options: { padding?: 'auto' | 'always' | 'never' } = {}) {
    this.#padding = options.padding ?? 'auto';
  }

  /** What the load-time check of padded questions found; null when it did not run. */
  get paddingCheck(): PaddingCheck | null {
    return this.#paddingCheck;
  }

  get info(): ModelInfo | null {
    return this.#info;
  }

  get dimensions(): number | null {
    return this.#dimensions;
  }

  #exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.#lock.then(fn, fn);
    this.#lock = run.catch(() => undefined);
    return run;
  }

  load(info: ModelInfo, threads: number, remote?: RemoteEmbeddings): Promise<number> {
    return this.#exclusive(async () => {
      await this.#release();
      if (remote) {
        try {
          const [probe] = await remote.client.embeddings(remote.model, ['probe']);
          if (!probe?.length) throw new Error('the server gave no vector');
          this.#remote = remote;
          this.#dimensions = probe.length;
          this.#info = info;
          return probe.length;
        } catch (e) {
          throw e instanceof UserFacingError ? e : new UserFacingError('model/load-failed', `“${info.name}” cannot be used for search: ${(e as Error).message}`);
        }
      }
      try {
        this.#llama ??= await getLlama({ gpu: false, build: 'never', logLevel: LlamaLogLevel.error });
        this.#model = await this.#llama.loadModel({ modelPath: info.path, gpuLayers: 0 });
        const contextSize = Math.min(this.#model.trainContextSize || 512, 2048);
        this.#context = await this.#model.createEmbeddingContext({ contextSize, threads });
        this.#questionContext = threads > 1 ? await this.#model.createEmbeddingContext({ contextSize, threads: 1 }) : null;
        this.#contextSize = contextSize;
        const probe = await this.#context.getEmbeddingFor('probe');
        if (this.#padding !== 'never') {
          const { padded, check } = await PaddedQuestions.create(this.#model, this.#questionContext ?? this.#context, {
            threads: 1,
            force: this.#padding === 'always',
          });
          this.#padded = padded;
          this.#paddingCheck = check;
        }
        this.#dimensions = probe.vector.length;
        this.#info = info;
        return this.#dimensions;
      } catch (e) {
        await this.#release();
        throw new UserFacingError('model/load-failed', `“${info.name}” cannot be used for search: ${(e as Error).message}`);
      }
    });
  }

  unload(): Promise<void> {
    return this.#exclusive(() => this.#release());
  }

  async #release(): Promise<void> {
    // Questions queued from now on find these gone and take the main context.
    const questionContext = this.#questionContext;
    const padded = this.#padded;
    this.#questionContext = null;
    this.#padded = null;
    this.#paddingCheck = null;
    await this.#questionLock;
    await padded?.dispose();
    await questionContext?.dispose();
    await this.#context?.dispose();
    await this.#model?.dispose();
    this.#context = null;
    this.#model = null;
    this.#info = null;
    this.#remote = null;
    this.#dimensions = null;
  }

  /** One vector per text, in order; throws if any text cannot be embedded. */
  async embed(texts: string[]): Promise<Float32Array[]> {
    const results = await this.embedEach(texts);
    return results.map((r) => {
      if (r instanceof Error) throw r;
      return r;
    });
  }

  /** One vector per text, in order, or the error of that text alone. */
  embedEach(texts: string[]): Promise<(Float32Array | Error)[]> {
    return this.#exclusive(async () => {
      const remote = this.#remote;
      if (remote) return this.#remoteEach(remote, texts);
      const context = this.#context;
      const model = this.#model;
      if (!context || !model) throw new UserFacingError('model/not-loaded', 'No embedding model is loaded.');
      const out: (Float32Array | Error)[] = [];
      for (const text of texts) {
        try {
          out.push(await this.#vectorOf(model, context, text));
        } catch (e) {
          out.push(e instanceof Error ? e : new Error(String(e)));
        }
      }
      return out;
    });
  }

  /** Batches to the server; a batch it refuses is retried text by text, so one bad text fails alone. */
  async #remoteEach(remote: RemoteEmbeddings, texts: string[]): Promise<(Float32Array | Error)[]> {
    const out: (Float32Array | Error)[] = [];
    for (let i = 0; i < texts.length; i += REMOTE_BATCH) {
      const batch = texts.slice(i, i + REMOTE_BATCH);
      try {
        out.push(...(await remote.client.embeddings(remote.model, batch)));
      } catch (e) {
        // The server is gone: every text fails the same way, and the indexer tries again later.
        if (e instanceof UserFacingError && (e.code === 'server/unreachable' || e.code === 'server/unauthorized')) throw e;
        for (const text of batch) {
          try {
            out.push((await remote.client.embeddings(remote.model, [text]))[0]);
          } catch (one) {
            out.push(one instanceof Error ? one : new Error(String(one)));
          }
        }
      }
    }
    return out;
  }

  /**
   * A question's vector, padded to the fast batch where that pays, else on the question context
   * when there is one: either way it does not wait for the indexer's batch. (Two contexts of one
   * model evaluate independently in llama.cpp.)
   */
  embedQuestion(text: string): Promise<Float32Array> {
    const remote = this.#remote;
    if (remote) return remote.client.embeddings(remote.model, [text]).then(([v]) => v);
    const padded = this.#padded;
    const model = this.#model;
    // Tokenized once, for the padded path or the question context.
    const tokens = model ? model.tokenize(text) : null;
    if (padded && tokens && padded.pays(tokens)) {
      const run = this.#questionLock.then(() => (this.#padded === padded ? padded.embed(tokens) : this.embed([text]).then(([v]) => v)));
      this.#questionLock = run.catch(() => undefined);
      return run;
    }
    const questionContext = this.#questionContext;
    if (!questionContext || !model || !tokens) return this.embed([text]).then(([v]) => v);
    const run = this.#questionLock.then(async () => {
      // Unloaded or another model meanwhile: the main context's, as any text.
      if (this.#model !== model || this.#questionContext !== questionContext) return (await this.embed([text]))[0];
      return this.#vectorOf(model, questionContext, tokens);
    });
    this.#questionLock = run.catch(() => undefined);
    return run;
  }

  /** `input`: the text, or its tokens when they were made already. */
  async #vectorOf(model: LlamaModel, context: LlamaEmbeddingContext, input: string | Token[]): Promise<Float32Array> {
    let tokens = typeof input === 'string' ? model.tokenize(input) : input;
    // The model adds its own special tokens around the input; the whole must stay below the context.
    const extra = context.calculateInputLength(tokens.slice(0, 1)) - 1;
    const usable = this.#contextSize - 1 - extra;
    if (tokens.length > usable) tokens = tokens.slice(0, Math.max(1, usable));
    const e = await context.getEmbeddingFor(tokens);
    if (e.vector.length === 0) throw new Error('the model gave no vector for this text');
    return Float32Array.from(e.vector);
  }

  dispose(): Promise<void> {
    return this.#exclusive(async () => {
      await this.#release();
      await this.#llama?.dispose();
      this.#llama = null;
    });
  }
}
