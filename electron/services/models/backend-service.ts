// Where answers are computed: this computer (node-llama-cpp, the default) or an office server on
// the local network. The choice, the server's address and its API key are kept in the encrypted
// library; the key never goes back to the window. Choosing a server is recorded in the audit trail.
import { UserFacingError } from '../../contract/errors.ts';
import type { BackendChoice, BackendView, ServerCheck } from '../../contract/types.ts';
import type { Engine } from '../engine/engine.ts';
import { OfficeServerClient, normalizeServerUrl } from '../engine/office-server.ts';
import type { Indexer } from '../retrieval/indexer.ts';
import { remoteEmbeddingInfo } from '../retrieval/embedder.ts';
import type { ModelStore } from '../store/model-store.ts';
import type { SettingsStore } from '../store/settings-store.ts';
import type { AuditLog } from '../store/audit-log.ts';
import type { ModelLibrary } from '../engine/model-library.ts';

/** What is stored: the key with it (in the encrypted library, never sent to the window). */
export interface StoredBackend {
  kind: 'local' | 'server';
  baseUrl: string | null;
  apiKey: string;
  model: string | null;
  embeddingModel: string | null;
}

const LOCAL: StoredBackend = { kind: 'local', baseUrl: null, apiKey: '', model: null, embeddingModel: null };

export class BackendService {
  readonly #settings: SettingsStore;
  readonly #engine: Engine;
  readonly #models: ModelLibrary;
  readonly #modelStore: ModelStore;
  readonly #indexer: Indexer;
  readonly #audit: AuditLog | null;
  readonly #threads: () => number;

  constructor(deps: { settings: SettingsStore; engine: Engine; models: ModelLibrary; modelStore: ModelStore; indexer: Indexer; audit?: AuditLog; threads: () => number }) {
    this.#settings = deps.settings;
    this.#engine = deps.engine;
    this.#models = deps.models;
    this.#modelStore = deps.modelStore;
    this.#indexer = deps.indexer;
    this.#audit = deps.audit ?? null;
    this.#threads = deps.threads;
  }

  #stored(): StoredBackend {
    return { ...LOCAL, ...(this.#settings.backend<StoredBackend>() ?? {}) };
  }

  get(): BackendView {
    const s = this.#stored();
    const client = s.baseUrl ? safeClient(s.baseUrl, s.apiKey) : null;
    return { kind: s.kind, baseUrl: s.baseUrl, model: s.model, embeddingModel: s.embeddingModel, hasApiKey: s.apiKey !== '', label: client?.label ?? null };
  }

  /** A key left empty keeps the one saved for the same address. */
  #keyFor(baseUrl: string, apiKey: string | null): string {
    if (apiKey !== null && apiKey !== '') return apiKey;
    const s = this.#stored();
    if (s.baseUrl && normalizeServerUrl(s.baseUrl).href === normalizeServerUrl(baseUrl).href) return s.apiKey;
    return '';
  }

  /** "Check connection": the server answers, takes the key, and lists its models. Changes nothing. */
  async check(baseUrl: string, apiKey: string | null): Promise<ServerCheck> {
    const client = new OfficeServerClient(baseUrl, this.#keyFor(baseUrl, apiKey));
    const models = await client.models();
    const props = await client.props();
    const first = models[0]?.id ?? '';
    const tokenizer = first ? (await client.tokenize('Enclave', first)) !== null : false;
    return { label: client.label, baseUrl: client.baseUrl, models: models.map((m) => ({ id: m.id })), contextSize: props.contextSize, slots: props.slots, tokenizer };
  }

  async set(choice: BackendChoice): Promise<BackendView> {
    const before = this.#stored();
    if (choice.kind === 'local') {
      if (before.kind === 'local') return this.get();
      await this.#engine.useLocal();
      this.#settings.setBackend({ ...before, kind: 'local' });
      await this.#restoreLocalEmbeddings(before);
      this.#audit?.record('backend.changed', 'Answers come from this computer again', { kind: 'local', previous: before.baseUrl });
      await this.#restoreLocalModel();
      return this.get();
    }
    if (!choice.model.trim()) throw new UserFacingError('server/no-model', 'Choose one of the server’s models (Check connection lists them).');
    const client = new OfficeServerClient(choice.baseUrl, this.#keyFor(choice.baseUrl, choice.apiKey));
    const next: StoredBackend = { kind: 'server', baseUrl: client.baseUrl, apiKey: this.#keyFor(choice.baseUrl, choice.apiKey), model: choice.model.trim(), embeddingModel: choice.embeddingModel?.trim() || null };
    try {
      await this.#engine.useServer({ baseUrl: next.baseUrl!, apiKey: next.apiKey, model: next.model! }, this.#settings.get());
    } catch (e) {
      // The server could not be used: this computer answers again, as before the attempt.
      await this.#engine.useLocal().catch(() => undefined);
      if (before.kind === 'server' && before.baseUrl && before.model) {
        await this.#engine.useServer({ baseUrl: before.baseUrl, apiKey: before.apiKey, model: before.model }, this.#settings.get()).catch(() => undefined);
      } else await this.#restoreLocalModel();
      throw e;
    }
    this.#settings.setBackend(next);
    if (next.embeddingModel !== before.embeddingModel || next.baseUrl !== before.baseUrl || before.kind !== 'server') await this.#applyEmbeddings(next, before);
    this.#audit?.record('backend.changed', `Answers come from the office server at ${client.label} (${next.model})`, {
      kind: 'server',
      baseUrl: next.baseUrl,
      model: next.model,
      embeddingModel: next.embeddingModel,
      apiKeySet: next.apiKey !== '',
    });
    return this.get();
  }

  async #applyEmbeddings(next: StoredBackend, before: StoredBackend): Promise<void> {
    if (next.embeddingModel && next.baseUrl) {
      const remote = { client: new OfficeServerClient(next.baseUrl, next.apiKey), model: next.embeddingModel };
      await this.#indexer.setEmbeddingModel(remoteEmbeddingInfo(remote), this.#threads(), remote);
    } else if (before.kind === 'server' && before.embeddingModel) await this.#restoreLocalEmbeddings(before);
  }

  async #restoreLocalEmbeddings(before: StoredBackend): Promise<void> {
    if (!before.embeddingModel) return;
    const id = this.#settings.embeddingModelId();
    const info = id ? this.#modelStore.get(id) : null;
    await this.#indexer.setEmbeddingModel(info, this.#threads()).catch((e) => console.warn(`[search] ${(e as Error).message}`));
  }

  /** The model last active here, or else the library's first chat model. */
  async #restoreLocalModel(): Promise<void> {
    const last = this.#settings.activeModelId();
    const id = last && this.#modelStore.get(last) ? last : (this.#modelStore.list().find((m) => m.kind !== 'embedding' && m.kind !== 'reranker')?.id ?? null);
    if (!id) return;
    await this.#models.activate(id).catch((e) => console.warn(`[models] ${(e as Error).message}`));
  }

  /**
   * At start, when a server was chosen: it is connected to in the background; if it cannot be
   * reached the window says so (the engine's error) and the person can retry or switch back.
   * Returns false when this computer answers (the local models are restored by the caller).
   */
  restore(): boolean {
    const s = this.#stored();
    if (s.kind !== 'server' || !s.baseUrl || !s.model) return false;
    void this.#engine.useServer({ baseUrl: s.baseUrl, apiKey: s.apiKey, model: s.model }, this.#settings.get()).catch((e) => console.warn(`[server] ${(e as Error).message}`));
    if (s.embeddingModel) {
      const remote = { client: new OfficeServerClient(s.baseUrl, s.apiKey), model: s.embeddingModel };
      this.#indexer.setEmbeddingModel(remoteEmbeddingInfo(remote), this.#threads(), remote).catch((e) => console.warn(`[search] ${(e as Error).message}`));
    }
    return true;
  }

  /** Whether search by meaning uses the server's model (the local one is then not loaded at start). */
  embeddingsOnServer(): boolean {
    const s = this.#stored();
    return s.kind === 'server' && s.embeddingModel !== null;
  }
}

function safeClient(baseUrl: string, apiKey: string): OfficeServerClient | null {
  try {
    return new OfficeServerClient(baseUrl, apiKey);
  } catch {
    return null;
  }
}
