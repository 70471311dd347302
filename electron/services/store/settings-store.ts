// Key/value settings persisted as JSON, merged over defaults.
import type { Database } from 'better-sqlite3';
import type { Settings } from '../../contract/types.ts';

export const DEFAULT_SETTINGS: Settings = {
  threads: 0,
  contextSize: 4096,
  temperature: 0.7,
  topP: 0.9,
  maxTokens: 1024,
  gpu: 'auto',
  allowGeneralAnswers: false,
};

const SETTINGS_KEY = 'settings';
const ACTIVE_MODEL_KEY = 'activeModelId';

export class SettingsStore {
  readonly #db: Database;
  constructor(db: Database) {
    this.#db = db;
  }

  #read<T>(key: string): T | undefined {
    const row = this.#db.prepare('SELECT value FROM settings WHERE key = ?').get(key) as { value: string } | undefined;
    return row ? (JSON.parse(row.value) as T) : undefined;
  }

  #write(key: string, value: unknown): void {
    this.#db
      .prepare('INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value')
      .run(key, JSON.stringify(value));
  }

  get(): Settings {
    return { ...DEFAULT_SETTINGS, ...(this.#read<Partial<Settings>>(SETTINGS_KEY) ?? {}) };
  }

  update(patch: Partial<Settings>): Settings {
    const next = { ...this.get(), ...patch };
    this.#write(SETTINGS_KEY, next);
    return next;
  }

  embeddingSpace(): { modelId: string; dimensions: number } | null {
    return this.#read<{ modelId: string; dimensions: number } | null>('embeddingSpace') ?? null;
  }

  setEmbeddingSpace(space: { modelId: string; dimensions: number } | null): void {
    this.#write('embeddingSpace', space);
  }

  embeddingModelId(): string | null {
    return this.#read<string | null>('embeddingModelId') ?? null;
  }

  setEmbeddingModelId(id: string | null): void {
    this.#write('embeddingModelId', id);
  }

  rerankModelId(): string | null {
    return this.#read<string | null>('rerankModelId') ?? null;
  }

  setRerankModelId(id: string | null): void {
    this.#write('rerankModelId', id);
  }

  /** The assistant packs whose assistants were added once (so a deleted one stays deleted). */
  seededPacks(): string[] {
    return this.#read<string[]>('assistants.seededPacks') ?? [];
  }

  markPackSeeded(packId: string): void {
    this.#write('assistants.seededPacks', [...new Set([...this.seededPacks(), packId])]);
  }

  /** Where answers are computed (backend-service.ts); undefined until a choice was saved. */
  backend<T>(): T | undefined {
    return this.#read<T>('backend');
  }

  setBackend(value: unknown): void {
    this.#write('backend', value);
  }

  /** Enclave's own local API (api-server.ts): whether it is on, its port, and its token. */
  localApi<T>(): T | undefined {
    return this.#read<T>('localApi');
  }

  setLocalApi(value: unknown): void {
    this.#write('localApi', value);
  }

  activeModelId(): string | null {
    return this.#read<string | null>(ACTIVE_MODEL_KEY) ?? null;
  }

  setActiveModelId(id: string | null): void {
    this.#write(ACTIVE_MODEL_KEY, id);
  }
}
