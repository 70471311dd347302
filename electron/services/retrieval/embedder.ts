// A GGUF embedding model the user added, loaded beside the chat model (node-llama-cpp's
// embedding context). Texts longer than its context are cut to fit rather than refused.
import { getLlama, LlamaLogLevel, type Llama, type LlamaEmbeddingContext, type LlamaModel } from 'node-llama-cpp';
import { UserFacingError } from '../../contract/errors.ts';
import type { ModelInfo } from '../../contract/types.ts';

export class Embedder {
  #llama: Llama | null = null;
  #model: LlamaModel | null = null;
  #context: LlamaEmbeddingContext | null = null;
  #info: ModelInfo | null = null;
  #dimensions: number | null = null;
  #contextSize = 512;
  #lock: Promise<unknown> = Promise.resolve();

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

  load(info: ModelInfo, threads: number): Promise<number> {
    return this.#exclusive(async () => {
      await this.#release();
      try {
        this.#llama ??= await getLlama({ gpu: false, build: 'never', logLevel: LlamaLogLevel.error });
        this.#model = await this.#llama.loadModel({ modelPath: info.path, gpuLayers: 0 });
        const contextSize = Math.min(this.#model.trainContextSize || 512, 2048);
        this.#context = await this.#model.createEmbeddingContext({ contextSize, threads });
        this.#contextSize = contextSize;
        const probe = await this.#context.getEmbeddingFor('probe');
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
    await this.#context?.dispose();
    await this.#model?.dispose();
    this.#context = null;
    this.#model = null;
    this.#info = null;
    this.#dimensions = null;
  }

  /** One vector per text, in order. */
  embed(texts: string[]): Promise<Float32Array[]> {
    return this.#exclusive(async () => {
      const context = this.#context;
      const model = this.#model;
      if (!context || !model) throw new UserFacingError('model/not-loaded', 'No embedding model is loaded.');
      const out: Float32Array[] = [];
      for (const text of texts) {
        let tokens = model.tokenize(text);
        if (tokens.length > this.#contextSize) tokens = tokens.slice(0, this.#contextSize);
        const e = await context.getEmbeddingFor(tokens);
        out.push(Float32Array.from(e.vector));
      }
      return out;
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
