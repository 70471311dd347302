// A question's vector, evaluated in a batch padded to llama.cpp's fast CPU path.
//
// On some CPUs ggml's matrix kernels are much slower for a batch under 64 tokens than at 64 and
// above. Measured here (AVX-512 binaries, one thread, all-MiniLM-L6-v2 f16): 36 tokens took 27 ms,
// 60 tokens 57 ms, yet 64 tokens 22 ms. A question of 30–60 tokens is exactly what people type, so
// such a question is evaluated beside a second, throw-away sequence that fills the batch to 64
// tokens. Sequences in one batch do not attend to each other and pooling is per sequence, so the
// question's vector is the same; both that and whether padding pays are checked when the model
// loads, on this machine, and where either fails the plain path stays.
//
// Two ways to pad. 'fill' adds 64 − n tokens: right for encoders such as BERT, which llama.cpp
// evaluates in one piece. A model with a KV cache (a decoder used for embeddings) has its batch of
// several sequences cut into pieces of equal tokens per sequence, so a shorter padding would leave
// the question's tail to a second piece and its pooled vector would cover the tail alone: there
// 'mirror' pads with as many tokens as the question has, which pays from 32 tokens on (2n ≥ 64).
// The load-time check finds which one gives the question's own vector.
//
// This uses node-llama-cpp's native context directly (one batch, one decode, sequence 0's pooled
// vector), which its public embedding context does not offer; every internal it needs is checked
// for first.
import type { LlamaContext, LlamaEmbeddingContext, LlamaModel, Token } from 'node-llama-cpp';

/** The batch size from which the fast path is taken (ggml's CPU kernels, measured above). */
export const FAST_BATCH = 64;

/** The internals of node-llama-cpp used here, checked for before use. */
interface NativeContext {
  initBatch(size: number): void;
  addToBatch(sequenceId: number, firstTokenIndex: number, tokens: Uint32Array, logitIndexes: Uint32Array): Uint32Array;
  decodeBatch(): Promise<void>;
  getEmbedding(inputTokensLength: number): Float64Array;
  disposeSequence(sequenceId: number): void;
}

interface Preparer {
  _prepareInput(tokens: Token[]): void;
}

function nativeOf(context: LlamaContext): NativeContext | null {
  const ctx = (context as unknown as { _ctx?: Partial<NativeContext> })._ctx;
  if (!ctx) return null;
  for (const name of ['initBatch', 'addToBatch', 'decodeBatch', 'getEmbedding', 'disposeSequence'] as const) {
    if (typeof ctx[name] !== 'function') return null;
  }
  return ctx as NativeContext;
}

/** Cosine similarity of two vectors of one length (0 when either is all zeros). */
export function cosine(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let dot = 0;
  let na = 0;
  let nb = 0;
  for (let i = 0; i < a.length; i++) {
    dot += a[i] * b[i];
    na += a[i] * a[i];
    nb += b[i] * b[i];
  }
  return na > 0 && nb > 0 ? dot / Math.sqrt(na * nb) : 0;
}

/**
 * From how many tokens padding pays, given a probe's plain and padded times: a plain batch costs
 * about the same per token (it grows a little faster than that below the fast batch), so padding
 * starts where the plain batch would cost a tenth more than the padded one. Null: it never pays.
 */
export function paddingFrom(plainMs: number, paddedMs: number, probeTokens: number, mode: PaddingMode = 'fill'): number | null {
  if (!(plainMs > 0) || !(paddedMs > 0)) return null;
  if (mode === 'mirror') {
    // Both costs grow with the question here (n tokens plain, 2n padded): what holds at the probe holds from 32 on.
    return paddedMs * 1.1 < plainMs ? FAST_BATCH / 2 : null;
  }
  const from = Math.ceil((paddedMs * 1.1) / (plainMs / probeTokens));
  return from < FAST_BATCH ? Math.max(1, from) : null;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** What the load-time check found, for the log and the tests. */
export type PaddingMode = 'fill' | 'mirror';

export interface PaddingCheck {
  /** The way of padding that gave the probe's own vector; null: neither did. */
  mode: PaddingMode | null;
  /** Milliseconds for a probe of `probeTokens` tokens, plain and padded. */
  plainMs: number;
  paddedMs: number;
  probeTokens: number;
  /** Cosine between the probe's plain and padded vectors. */
  agreement: number;
  /** Questions of this many tokens (special tokens included) and more, up to FAST_BATCH − 1, are padded; null: never. */
  padFrom: number | null;
}

export class PaddedQuestions {
  readonly #context: LlamaContext;
  readonly #native: NativeContext;
  readonly #preparer: Preparer;
  #padFrom: number = FAST_BATCH;
  #mode: PaddingMode = 'fill';

  private constructor(context: LlamaContext, native: NativeContext, preparer: Preparer) {
    this.#context = context;
    this.#native = native;
    this.#preparer = preparer;
  }

  /**
   * A padded path for this model, checked against `plain` (the model's own embedding context) on
   * a probe; null where the internals are missing, the vectors differ or padding does not pay.
   */
  static async create(
    model: LlamaModel,
    plain: LlamaEmbeddingContext,
    options: { threads: number; force?: boolean },
  ): Promise<{ padded: PaddedQuestions | null; check: PaddingCheck | null }> {
    const preparer = plain as unknown as Partial<Preparer>;
    if (typeof preparer._prepareInput !== 'function') return { padded: null, check: null };
    let context: LlamaContext | null = null;
    try {
      // Two sequences: the question's and the padding's, in one batch of at most 2 × 63 tokens.
      context = await model.createContext({
        contextSize: FAST_BATCH,
        batchSize: FAST_BATCH * 2,
        sequences: 2,
        threads: options.threads,
        _embeddings: true,
      } as Parameters<LlamaModel['createContext']>[0]);
      const native = nativeOf(context);
      if (!native) {
        await context.dispose();
        return { padded: null, check: null };
      }
      const padded = new PaddedQuestions(context, native, preparer as Preparer);
      const check = await padded.#calibrate(model, plain, options.force === true);
      if (check.padFrom === null) {
        await context.dispose();
        return { padded: null, check };
      }
      padded.#padFrom = check.padFrom;
      padded.#mode = check.mode!;
      return { padded, check };
    } catch {
      await context?.dispose();
      return { padded: null, check: null };
    }
  }

  /** Whether a question of these tokens (before the model's special tokens) is better padded. */
  pays(tokens: readonly Token[]): boolean {
    const n = this.#prepared(tokens).length;
    return n >= this.#padFrom && n < FAST_BATCH;
  }

  #prepared(tokens: readonly Token[]): Token[] {
    const out = [...tokens];
    this.#preparer._prepareInput(out);
    return out;
  }

  /** The question's vector; the caller keeps calls one at a time. */
  embed(tokens: readonly Token[]): Promise<Float32Array> {
    return this.#embed(tokens, this.#mode);
  }

  async #embed(tokens: readonly Token[], mode: PaddingMode): Promise<Float32Array> {
    const question = this.#prepared(tokens);
    if (question.length >= FAST_BATCH) throw new Error('a padded question must be shorter than the batch');
    // The padding repeats the question's tokens: any tokens do, as sequence 1 is never read.
    const length = mode === 'fill' ? FAST_BATCH - question.length : question.length;
    const padding = Array.from({ length }, (_, i) => question[i % question.length]);
    const native = this.#native;
    try {
      native.initBatch(question.length + padding.length);
      // Every token is an output, as pooling needs (llama.cpp would say so and mark them itself).
      native.addToBatch(0, 0, Uint32Array.from(question), Uint32Array.from(question.keys()));
      native.addToBatch(1, 0, Uint32Array.from(padding), Uint32Array.from(padding.keys()));
      await native.decodeBatch();
      const vector = Float32Array.from(native.getEmbedding(question.length));
      if (vector.length === 0) throw new Error('the model gave no vector for this text');
      return vector;
    } finally {
      native.disposeSequence(0);
      native.disposeSequence(1);
    }
  }

  async #calibrate(model: LlamaModel, plain: LlamaEmbeddingContext, force: boolean): Promise<PaddingCheck> {
    // A probe of 48 tokens with the special tokens: in the middle of the range padding may help.
    let text = 'The parties agree that the supplier shall deliver the goods described in the schedule';
    let tokens = model.tokenize(text);
    while (this.#prepared(tokens).length < 48) {
      text += ' ' + text;
      tokens = model.tokenize(text);
    }
    const extra = this.#prepared(tokens).length - tokens.length;
    tokens = tokens.slice(0, 48 - extra);
    const probeTokens = this.#prepared(tokens).length;
    const plainVector = (await plain.getEmbeddingFor([...tokens])).vector;
    const agreementOf = async (mode: PaddingMode) => {
      const padded = await this.#embed(tokens, mode);
      return plainVector.length === padded.length && plainVector.length > 0 ? cosine(plainVector, padded) : 0;
    };
    let mode: PaddingMode | null = null;
    let agreement = await agreementOf('fill');
    if (agreement >= 0.9999) mode = 'fill';
    else {
      const mirrored = await agreementOf('mirror');
      if (mirrored >= 0.9999) mode = 'mirror';
      agreement = Math.max(agreement, mirrored);
    }
    const plainTimes: number[] = [];
    const paddedTimes: number[] = [];
    for (let round = 0; mode && round < 3; round++) {
      let t = performance.now();
      await plain.getEmbeddingFor([...tokens]);
      plainTimes.push(performance.now() - t);
      t = performance.now();
      await this.#embed(tokens, mode);
      paddedTimes.push(performance.now() - t);
    }
    const plainMs = mode ? median(plainTimes) : 0;
    const paddedMs = mode ? median(paddedTimes) : 0;
    const padFrom = mode === null ? null : force ? 1 : paddingFrom(plainMs, paddedMs, probeTokens, mode);
    return { mode, plainMs, paddedMs, probeTokens, agreement, padFrom };
  }

  dispose(): Promise<void> {
    return this.#context.dispose();
  }
}
