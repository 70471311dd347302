// A reranking model the user added (a cross-encoder GGUF such as bge-reranker or Qwen3-Reranker),
// loaded with node-llama-cpp's ranking context. It reads the question and each candidate passage
// together and scores how well the passage answers it; search puts its best candidates in that
// order. Passages longer than the model's context are cut to fit, never refused.
import { getLlama, LlamaLogLevel, type Llama, type LlamaModel, type LlamaRankingContext, type Token } from 'node-llama-cpp';
import { UserFacingError } from '../../contract/errors.ts';
import type { ModelInfo } from '../../contract/types.ts';

/** Tokens kept free for the ranking template's own tokens around the question and the passage. */
const TEMPLATE_ROOM = 16;

export class Reranker {
  #llama: Llama | null = null;
  #model: LlamaModel | null = null;
  #context: LlamaRankingContext | null = null;
  #info: ModelInfo | null = null;
  #contextSize = 512;
  #lock: Promise<unknown> = Promise.resolve();

  get info(): ModelInfo | null {
    return this.#info;
  }

  #exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.#lock.then(fn, fn);
    this.#lock = run.catch(() => undefined);
    return run;
  }

  load(info: ModelInfo, threads: number): Promise<void> {
    return this.#exclusive(async () => {
      await this.#release();
      try {
        this.#llama ??= await getLlama({ gpu: false, build: 'never', logLevel: LlamaLogLevel.error });
        this.#model = await this.#llama.loadModel({ modelPath: info.path, gpuLayers: 0 });
        if (!this.#model.fileInsights.supportsRanking) throw new Error('it is not a reranking model (it has no ranking head)');
        const contextSize = Math.min(this.#model.trainContextSize || 512, 1024);
        this.#context = await this.#model.createRankingContext({ contextSize, threads });
        this.#contextSize = this.#context.contextSize;
        // A first score proves the model works before search relies on it.
        const probe = await this.#context.rank('probe', 'probe');
        if (!Number.isFinite(probe)) throw new Error('the model gave no score');
        this.#info = info;
      } catch (e) {
        await this.#release();
        throw new UserFacingError('model/load-failed', `“${info.name}” cannot be used for reranking: ${(e as Error).message}`);
      }
    });
  }

  unload(): Promise<void> {
    return this.#exclusive(() => this.#release());
  }

  async #release(): Promise<void> {
    await this.#context?.dispose();
    await this.#model?.dispose();
    this.#context = null;
    this.#model = null;
    this.#info = null;
  }

  /**
   * One score per passage (0–1, higher is better), in order, and the model that gave them. Throws
   * when no reranking model is loaded, and when `signal` is aborted (checked between passages).
   */
  score(question: string, passages: string[], signal?: AbortSignal): Promise<{ scores: number[]; model: ModelInfo }> {
    return this.#exclusive(async () => {
      const context = this.#context;
      const model = this.#model;
      const info = this.#info;
      if (!context || !model || !info) throw new UserFacingError('model/not-loaded', 'No reranking model is loaded.');
      let query = model.tokenize(question, false, 'trimLeadingSpace');
      // A question takes at most half the context; each passage the rest.
      const half = Math.floor((this.#contextSize - TEMPLATE_ROOM) / 2);
      if (query.length > half) query = query.slice(0, half);
      const room = this.#contextSize - TEMPLATE_ROOM - query.length;
      const scores: number[] = [];
      for (const text of passages) {
        if (signal?.aborted) throw new Error('stopped before the passages were reranked');
        let document: Token[] = model.tokenize(text, false, 'trimLeadingSpace');
        if (document.length > room) document = document.slice(0, room);
        scores.push(await context.rank(query, document));
      }
      return { scores, model: info };
    });
  }

  dispose(): Promise<void> {
    return this.#exclusive(async () => {
      await this.#release();
      await this.#llama?.dispose();
      this.#llama = null;
    });
  }
}
