// A GGUF embedding model the user added, loaded beside the chat model (node-llama-cpp's
// embedding context). Texts longer than its usable context (the context less the special
// tokens the model adds, such as BERT's [CLS] and [SEP]) are cut to fit rather than refused,
// and a text the model still cannot take fails alone, never the whole batch.
import { mkdir, readdir, rm, stat } from 'node:fs/promises';
import { freemem } from 'node:os';
import { join } from 'node:path';
import { getLlama, LlamaLogLevel, type Llama, type LlamaEmbeddingContext, type LlamaModel, type Token } from 'node-llama-cpp';
import { UserFacingError } from '../../contract/errors.ts';
import type { ModelInfo, QuestionCopyCheck } from '../../contract/types.ts';
import type { OfficeServerClient } from '../engine/office-server.ts';
import { cosine, PaddedQuestions, type PaddingCheck } from './padded-question.ts';
import { worthCopying, writeQ8Copy } from './q8-copy.ts';

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

/** An 8-bit copy is used for questions only when its vectors agree with the model's at least this well (cosine, worst probe). */
export const COPY_AGREEMENT = 0.999;
/** …and when it embeds a question in at most this share of the model's time. */
const COPY_SPEEDUP = 0.8;
/** Models larger than this get no copy (its memory beside the model's would not pay). */
const COPY_MAX_BYTES = 2 * 1024 ** 3;

/** Probes for the copy's check: a few words, a question of 48 tokens or so, a long passage. */
const COPY_PROBES = [
  'notice period',
  'Does the contract allow either party to terminate for convenience, and how many days of written notice must be given before termination takes effect?',
  'The Supplier shall indemnify, defend and hold harmless the Customer and its officers, directors and employees from and against any and all losses, damages, liabilities, costs and expenses, including reasonable attorneys fees, arising out of or relating to any third party claim that the Products infringe any patent, copyright or trade secret, or any breach by the Supplier of its obligations under this Agreement, except to the extent caused by the negligence of the Customer.',
];

/** Whether questions go to the 8-bit copy: it must agree with the model, and be faster here (unless `force`d, for tests). */
export function copyPays(agreement: number, modelMs: number, copyMs: number, force = false): boolean {
  if (!(agreement >= COPY_AGREEMENT)) return false;
  return force || (copyMs > 0 && modelMs > 0 && copyMs <= modelMs * COPY_SPEEDUP);
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

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
  /**
   * The model questions are embedded with: the model itself, or its 8-bit copy once that is
   * made and checked (q8-copy.ts). Passages are always embedded by the model itself.
   */
  #questionModel: LlamaModel | null = null;
  #questionCopy: QuestionCopyCheck | null = null;
  /** The copy being made and checked after a load (awaited by dispose). */
  #preparing: Promise<void> = Promise.resolve();
  /** Bumped by each load and release: a copy prepared for an earlier one is thrown away. */
  #generation = 0;
  readonly #copyDir: string | null;
  readonly #copy: 'auto' | 'always' | 'never';
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

  /**
   * `padding`: 'always' pads every question under the fast batch (tests), 'never' never; 'auto'
   * where it measures faster. `copyDir`: where 8-bit copies for questions are kept (none without
   * it); `questionCopy`: 'always' uses a copy that agrees even where it is not faster (tests).
   */
  constructor(options: { padding?: 'auto' | 'always' | 'never'; copyDir?: string; questionCopy?: 'auto' | 'always' | 'never' } = {}) {
    this.#padding = options.padding ?? 'auto';
    this.#copyDir = options.copyDir ?? null;
    this.#copy = options.copyDir ? (options.questionCopy ?? 'auto') : 'never';
  }

  /** What the check of the 8-bit copy for questions found; null while none was checked. */
  get questionCopy(): QuestionCopyCheck | null {
    return this.#questionCopy;
  }

  /** Settles when the copy for questions made after the last load is in use, or was found wanting. */
  get questionCopyReady(): Promise<void> {
    return this.#preparing;
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
      const generation = this.#generation;
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
        this.#questionModel = this.#model;
        // In the background: search works meanwhile, with the model itself.
        if (this.#copy !== 'never') this.#preparing = this.#prepareCopy(info, generation).catch((e) => console.warn(`[embedder] no 8-bit copy for questions: ${(e as Error).message}`));
        return this.#dimensions;
      } catch (e) {
        await this.#release();
        throw new UserFacingError('model/load-failed', `“${info.name}” cannot be used for search: ${(e as Error).message}`);
      }
    });
  }

  /** Unloads the model; its 8-bit copy is deleted (it is made again, in a second or so, if the model comes back). */
  unload(): Promise<void> {
    return this.#exclusive(async () => {
      await this.#release();
      if (this.#copyDir) await rm(this.#copyDir, { recursive: true, force: true });
    });
  }

  /**
   * Makes (or finds) the 8-bit copy of the model for questions, loads it, and uses it only if its
   * vectors agree with the model's on every probe and it is faster here. Everything is thrown
   * away if another load or a release came meanwhile.
   */
  async #prepareCopy(info: ModelInfo, generation: number): Promise<void> {
    const dir = this.#copyDir!;
    const llama = this.#llama!;
    const stale = () => this.#generation !== generation;
    const source = await stat(info.path);
    const name = `${info.id.replace(/[^A-Za-z0-9_-]/g, '_')}-${source.size}-${Math.floor(source.mtimeMs)}.q8_0.gguf`;
    const target = join(dir, name);
    await mkdir(dir, { recursive: true });
    // A later load's preparation owns the folder now (it may be writing there).
    if (stale()) return;
    // One model's copy at a time: another's (or an older file's) goes, whether or not this one gets one.
    for (const other of await readdir(dir)) if (other !== name) await rm(join(dir, other), { force: true });
    if (source.size > COPY_MAX_BYTES || !(await worthCopying(info.path))) return;
    // The copy is loaded beside the model (about half its size): not where memory is short.
    if (freemem() < source.size * 2) return;
    const missing = await stat(target).then(() => false, () => true);
    if (missing) await writeQ8Copy(info.path, target, stale);
    if (stale()) return;
    const model = await llama.loadModel({ modelPath: target, gpuLayers: 0 });
    let context: LlamaEmbeddingContext | null = null;
    let padded: PaddedQuestions | null = null;
    let used = false;
    try {
      context = await model.createEmbeddingContext({ contextSize: this.#contextSize, threads: 1 });
      if (this.#padding !== 'never') padded = (await PaddedQuestions.create(model, context, { threads: 1, force: this.#padding === 'always' })).padded;
      // Agreement: the copy's question vectors against the model's own, on every probe.
      let agreement = 1;
      for (const text of COPY_PROBES) {
        if (stale()) return;
        const [own] = await this.embed([text]);
        const tokens = model.tokenize(text);
        const mine = padded?.pays(tokens) ? await padded.embed(tokens) : await this.#vectorOf(model, context, tokens);
        agreement = Math.min(agreement, cosine(own, mine));
      }
      // Speed: a question of about 48 tokens, the model's question path against the copy's.
      const probe = this.#model!.tokenize(COPY_PROBES[1]);
      const ownTimes: number[] = [];
      const copyTimes: number[] = [];
      for (let round = 0; round < 3; round++) {
        if (stale()) return;
        let t = performance.now();
        await this.embedQuestion(COPY_PROBES[1]);
        ownTimes.push(performance.now() - t);
        t = performance.now();
        if (padded?.pays(probe)) await padded.embed(probe);
        else await this.#vectorOf(model, context, probe);
        copyTimes.push(performance.now() - t);
      }
      const check: QuestionCopyCheck = {
        quantization: 'Q8_0',
        agreement,
        modelMs: median(ownTimes),
        copyMs: median(copyTimes),
        used: copyPays(agreement, median(ownTimes), median(copyTimes), this.#copy === 'always'),
      };
      if (stale()) return;
      this.#questionCopy = check;
      if (!check.used) return;
      // Swapped in between two questions.
      const swap = this.#questionLock.then(async () => {
        if (stale()) return;
        const [oldContext, oldPadded] = [this.#questionContext, this.#padded];
        this.#questionModel = model;
        this.#questionContext = context;
        this.#padded = padded;
        used = true;
        await oldPadded?.dispose();
        await oldContext?.dispose();
      });
      this.#questionLock = swap.catch(() => undefined);
      await swap;
    } finally {
      if (!used) {
        await padded?.dispose();
        await context?.dispose();
        await model.dispose();
      }
    }
  }

  async #release(): Promise<void> {
    // A copy still being prepared is thrown away when it next looks (it is not awaited here: it
    // may be waiting for this lock to embed a probe).
    this.#generation++;
    // Questions queued from now on find these gone and take the main context.
    const questionContext = this.#questionContext;
    const padded = this.#padded;
    const questionModel = this.#questionModel !== this.#model ? this.#questionModel : null;
    this.#questionContext = null;
    this.#padded = null;
    this.#questionModel = null;
    this.#paddingCheck = null;
    this.#questionCopy = null;
    await this.#questionLock;
    await padded?.dispose();
    await questionContext?.dispose();
    await questionModel?.dispose();
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
    // Read when the question's turn comes: the 8-bit copy may have been swapped in meanwhile.
    const run = this.#questionLock.then(async (): Promise<Float32Array | null> => {
      const model = this.#questionModel;
      const padded = this.#padded;
      const questionContext = this.#questionContext;
      if (!model) return null;
      // Tokenized once, for the padded path or the question context (the copy has the model's vocabulary).
      const tokens = model.tokenize(text);
      if (padded?.pays(tokens)) return padded.embed(tokens);
      return questionContext ? this.#vectorOf(model, questionContext, tokens) : null;
    });
    this.#questionLock = run.catch(() => undefined);
    // No question path (none of its own, or unloaded meanwhile): the main context's, as any text,
    // asked after the question lock is let go (a load or unload holds the main lock while it
    // waits for the question lock).
    return run.then(async (vector) => vector ?? (await this.embed([text]))[0]);
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

  async dispose(): Promise<void> {
    this.#generation++;
    await this.#preparing;
    return this.#exclusive(async () => {
      await this.#release();
      await this.#llama?.dispose();
      this.#llama = null;
    });
  }
}
