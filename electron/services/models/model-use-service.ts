// How the app uses its models, across the model library, the engine, the search index and the
// settings: settings that reshape the context reload the model; removing the model used for
// search stops search by meaning first; at start, the last models are loaded again.
import { UserFacingError } from '../../contract/errors.ts';
import type { IndexStatus, ModelLibrary as ModelLibraryView, Settings } from '../../contract/types.ts';
import type { Engine } from '../engine/engine.ts';
import type { ModelLibrary } from '../engine/model-library.ts';
import type { Indexer } from '../retrieval/indexer.ts';
import type { Reranker } from '../retrieval/reranker.ts';
import type { ModelStore } from '../store/model-store.ts';
import type { SettingsStore } from '../store/settings-store.ts';

export class ModelUseService {
  readonly #settings: SettingsStore;
  readonly #models: ModelLibrary;
  readonly #modelStore: ModelStore;
  readonly #engine: Engine;
  readonly #indexer: Indexer;
  readonly #threads: () => number;
  readonly #reranker: Reranker;

  constructor(deps: { settings: SettingsStore; models: ModelLibrary; modelStore: ModelStore; engine: Engine; indexer: Indexer; reranker: Reranker; threads: () => number }) {
    this.#reranker = deps.reranker;
    this.#settings = deps.settings;
    this.#models = deps.models;
    this.#modelStore = deps.modelStore;
    this.#engine = deps.engine;
    this.#indexer = deps.indexer;
    this.#threads = deps.threads;
  }

  async updateSettings(patch: Partial<Settings>): Promise<Settings> {
    const before = this.#settings.get();
    const next = this.#settings.update(patch);
    const reshapesContext = next.contextSize !== before.contextSize || next.threads !== before.threads || next.gpu !== before.gpu;
    if (reshapesContext && this.#engine.loadedModelId) await this.#models.reloadActive();
    return next;
  }

  async removeModel(modelId: string): Promise<ModelLibraryView> {
    if (this.#settings.embeddingModelId() === modelId) await this.setEmbeddingModel(null);
    if (this.#settings.rerankModelId() === modelId) await this.setRerankModel(null);
    return this.#models.remove(modelId);
  }

  async setEmbeddingModel(modelId: string | null): Promise<IndexStatus> {
    const info = modelId ? this.#modelStore.get(modelId) : null;
    if (modelId && !info) throw new UserFacingError('model/not-found', 'That model is no longer in the library.');
    const status = await this.#indexer.setEmbeddingModel(info, this.#threads());
    this.#settings.setEmbeddingModelId(modelId);
    return status;
  }

  /** A reranking model (a GGUF cross-encoder) orders each search's best candidates; null stops reranking. */
  async setRerankModel(modelId: string | null): Promise<IndexStatus> {
    const info = modelId ? this.#modelStore.get(modelId) : null;
    if (modelId && !info) throw new UserFacingError('model/not-found', 'That model is no longer in the library.');
    if (info && info.kind !== 'reranker') {
      throw new UserFacingError(
        'model/unsupported',
        `“${info.name}” is not a reranking model. Reranking needs a cross-encoder GGUF with a ranking head (such as bge-reranker or Qwen3-Reranker).`,
      );
    }
    if (info) await this.#reranker.load(info, this.#threads());
    else await this.#reranker.unload();
    this.#settings.setRerankModelId(modelId);
    this.#indexer.announce();
    return this.#indexer.status();
  }

  /** At start: the search index catches up in the background, then the last active model loads. */
  async restore(backend: { onServer: boolean; embeddingsOnServer: boolean } = { onServer: false, embeddingsOnServer: false }): Promise<void> {
    const embeddingId = backend.embeddingsOnServer ? null : this.#settings.embeddingModelId();
    const embeddingModel = embeddingId ? this.#modelStore.get(embeddingId) : null;
    void this.#models.hashPending();
    if (backend.embeddingsOnServer) {
      // The office server's embedding model is connected to by the backend service.
    } else if (embeddingModel) this.#indexer.setEmbeddingModel(embeddingModel, this.#threads()).catch((e) => console.warn(`[search] ${(e as Error).message}`));
    else void this.#indexer.kick();
    const rerankModel = this.#settings.rerankModelId() ? this.#modelStore.get(this.#settings.rerankModelId()!) : null;
    if (rerankModel) {
      this.#reranker
        .load(rerankModel, this.#threads())
        .then(() => this.#indexer.announce())
        .catch((e) => console.warn(`[search] ${(e as Error).message}`));
    }
    const id = this.#settings.activeModelId();
    if (backend.onServer || !id || !this.#modelStore.get(id)) return;
    try {
      await this.#models.activate(id);
    } catch (e) {
      console.warn(`[models] the last active model could not be loaded: ${(e as Error).message}`);
    }
  }
}
