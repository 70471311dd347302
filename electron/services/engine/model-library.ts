// The user's models: add (validated), remove, choose the active one. Knows no transport.
import { randomUUID } from 'node:crypto';
import { resolve } from 'node:path';
import { UserFacingError } from '../../contract/errors.ts';
import type { EngineStatus, ModelFit, ModelInfo, ModelLibrary as ModelLibraryView } from '../../contract/types.ts';
import type { ModelStore } from '../store/model-store.ts';
import type { SettingsStore } from '../store/settings-store.ts';
import { SEQUENCE_POOL_SIZE, type Engine } from './engine.ts';
import { estimateFit, quickFingerprint } from './model-fit.ts';
import { discardUpload, fileSha256 } from './file-hash.ts';
import { inspectModelFile } from './gguf-inspector.ts';

export class ModelLibrary {
  readonly #models: ModelStore;
  readonly #settings: SettingsStore;
  readonly #engine: Engine;
  readonly #onChange: (library: ModelLibraryView) => void;
  /** Files in this folder were copied in by Enclave (browser-mode uploads) and are ours to delete. */
  readonly #ownedDir: string | null;
  #pendingActivation: Promise<void> = Promise.resolve();

  constructor(deps: {
    models: ModelStore;
    settings: SettingsStore;
    engine: Engine;
    onChange?: (library: ModelLibraryView) => void;
    ownedDir?: string;
  }) {
    this.#models = deps.models;
    this.#settings = deps.settings;
    this.#engine = deps.engine;
    this.#onChange = deps.onChange ?? (() => {});
    this.#ownedDir = deps.ownedDir ? resolve(deps.ownedDir) : null;
  }

  list(): ModelLibraryView {
    return { models: this.#models.list(), activeModelId: this.#settings.activeModelId() };
  }

  #changed(): void {
    this.#onChange(this.list());
  }

  #require(modelId: string): ModelInfo {
    const model = this.#models.get(modelId);
    if (!model) throw new UserFacingError('model/not-found', 'That model is no longer in the library.');
    return model;
  }

  /**
   * Validates and records a GGUF file. The first model added becomes the active one. The same
   * model added again (the same file, or a copy of it) is the one already there: an upload of it
   * is not kept.
   */
  async add(path: string): Promise<ModelInfo> {
    const absolute = resolve(path);
    const existing = this.#models.findByPath(absolute);
    if (existing) return existing;
    let inspected;
    let fingerprint: string;
    try {
      inspected = await inspectModelFile(absolute);
      fingerprint = await quickFingerprint(absolute, inspected.fileSize);
    } catch (e) {
      // A refused upload does not stay in the data folder (files elsewhere are the user's).
      await discardUpload(this.#ownedDir, absolute);
      throw e;
    }
    const same = this.#models.findByFingerprint(fingerprint);
    if (same) {
      await discardUpload(this.#ownedDir, absolute);
      return same;
    }
    const model = this.#models.insert({ ...inspected, sha256: null, id: randomUUID(), addedAt: Date.now() }, fingerprint);
    void this.hashPending();
    const hadActive = this.#settings.activeModelId() !== null;
    this.#changed();
    if (!hadActive) {
      // Loading can take a while; progress and failure arrive as engine status events.
      this.#pendingActivation = this.activate(model.id).then(
        () => undefined,
        () => undefined,
      );
    }
    return model;
  }

  #hashing: Promise<void> | null = null;

  /**
   * Computes, in the background and one at a time, the SHA-256 of models that have none yet: an
   * assistant remembers its preferred model by it. Gigabytes take a while; nothing waits for it.
   */
  hashPending(): Promise<void> {
    this.#hashing ??= (async () => {
      try {
        for (let model = this.#models.unhashed()[0]; model; model = this.#models.unhashed()[0]) {
          try {
            this.#models.setSha256(model.id, await fileSha256(model.path));
          } catch {
            this.#models.setSha256(model.id, ''); // unreadable now: not retried until re-added
          }
          this.#changed();
        }
      } finally {
        this.#hashing = null;
      }
    })();
    return this.#hashing;
  }

  /**
   * Reads what models added before kinds and fingerprints were recorded are for (at start, in the
   * background). A file that is gone stays unclassified.
   */
  async classifyPending(): Promise<void> {
    for (const model of this.#models.unclassified()) {
      try {
        const inspected = await inspectModelFile(model.path);
        this.#models.setClassification(model.id, inspected.kind, await quickFingerprint(model.path, inspected.fileSize));
      } catch {
        // the file is gone or changed: it says so when it is loaded
      }
    }
    this.#changed();
  }

  rename(modelId: string, name: string): ModelLibraryView {
    this.#require(modelId);
    const clean = name.replace(/\s+/g, ' ').trim();
    if (!clean) throw new UserFacingError('model/bad-name', 'A model needs a name.');
    this.#models.rename(modelId, clean.slice(0, 120));
    this.#changed();
    return this.list();
  }

  /** How much memory the model needs with the context it would get, and whether this computer has it. */
  estimate(modelId: string, contextSize?: number): Promise<ModelFit> {
    const model = this.#require(modelId);
    return estimateFit(model.path, contextSize ?? this.#settings.get().contextSize, SEQUENCE_POOL_SIZE).catch((e: unknown) => {
      throw new UserFacingError('model/unreadable', `The memory “${model.name}” needs could not be estimated: ${(e as Error).message}`);
    });
  }

  /** Settles when the activation started by the last add() (if any) has finished or failed. */
  get settled(): Promise<void> {
    return this.#pendingActivation;
  }

  async remove(modelId: string): Promise<ModelLibraryView> {
    const model = this.#require(modelId);
    if (this.#settings.activeModelId() === modelId) {
      if (this.#engine.loadedModelId === modelId) await this.#engine.unload();
      this.#settings.setActiveModelId(null);
    }
    this.#models.remove(modelId);
    await discardUpload(this.#ownedDir, model.path);
    this.#changed();
    return this.list();
  }

  async activate(modelId: string): Promise<EngineStatus> {
    const model = this.#require(modelId);
    if (this.#engine.onServer) throw new UserFacingError('server/in-use', `Answers come from the office server. To use “${model.name}” on this computer, choose “This computer” under Inference in Settings.`);
    // Re-check the file: it may have been moved or replaced since it was added.
    await inspectModelFile(model.path);
    this.#settings.setActiveModelId(modelId);
    this.#changed();
    await this.#engine.load(model, this.#settings.get());
    return this.#engine.status;
  }

  async unload(): Promise<EngineStatus> {
    await this.#engine.unload();
    return this.#engine.status;
  }

  /** Reloads the active model, e.g. after settings that shape the context changed. */
  async reloadActive(): Promise<void> {
    const id = this.#settings.activeModelId();
    if (id && this.#models.get(id)) await this.activate(id);
  }
}
