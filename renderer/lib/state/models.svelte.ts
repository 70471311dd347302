import type { ModelFit, ModelInfo, ModelLibrary, ModelMeasure } from '../../../electron/contract/types.ts';
import type { Client } from '../api/client.ts';
import { toasts } from './toasts.svelte.ts';

export interface AddingModel {
  fileName: string;
  /** 0..1 while the file is copied in (browser mode); null once it is being checked. */
  progress: number | null;
}

export class ModelsManager {
  library = $state<ModelLibrary>({ models: [], activeModelId: null });
  /** Speeds measured on this computer, by model id (fetched when the library is shown). */
  measured = $state<Record<string, ModelMeasure>>({});
  loaded = $state(false);
  adding = $state<AddingModel | null>(null);
  addError = $state<string | null>(null);
  readonly active = $derived(this.library.models.find((m) => m.id === this.library.activeModelId) ?? null);
  readonly #client: Client;

  constructor(client: Client) {
    this.#client = client;
    client.on('models.changed', (library) => (this.library = library));
    client.onConnection((c) => {
      if (c === 'open') void this.refresh();
    });
  }

  async refreshMeasured(): Promise<void> {
    try {
      this.measured = await this.#client.call('models.measured', {});
    } catch (e) {
      toasts.error(e);
    }
  }

  async refresh(): Promise<void> {
    try {
      this.library = await this.#client.call('models.list', {});
      this.loaded = true;
    } catch (e) {
      toasts.error(e);
    }
  }

  async addFile(file: File): Promise<ModelInfo | null> {
    this.addError = null;
    if (!/\.gguf$/i.test(file.name)) {
      // Still checked by main (the extension can lie either way); this is only a faster hint.
      const head = new Uint8Array(await file.slice(0, 4).arrayBuffer());
      if (String.fromCharCode(...head) !== 'GGUF') {
        this.addError = `“${file.name}” is not a GGUF model. Enclave runs models in the GGUF format (files ending in .gguf).`;
        return null;
      }
    }
    this.adding = { fileName: file.name, progress: 0 };
    try {
      const handle = await this.#client.importFile(file, 'model', (p) => {
        if (this.adding) this.adding.progress = p;
      });
      if (this.adding) this.adding.progress = null;
      const known = new Set(this.library.models.map((m) => m.id));
      const model = await this.#client.call('models.add', { file: handle });
      // The same model (this file or a copy of it) was already in the library: nothing new is kept.
      toasts.show(known.has(model.id) ? `“${model.name}” is already in your library: nothing was added.` : `Added ${model.name}.`);
      return model;
    } catch (e) {
      this.addError = e instanceof Error ? e.message : String(e);
      return null;
    } finally {
      this.adding = null;
    }
  }

  async activate(modelId: string): Promise<void> {
    try {
      await this.#client.call('models.activate', { modelId });
    } catch (e) {
      toasts.error(e);
    }
  }

  async rename(modelId: string, name: string): Promise<boolean> {
    try {
      this.library = await this.#client.call('models.rename', { modelId, name });
      return true;
    } catch (e) {
      toasts.error(e);
      return false;
    }
  }

  /** Memory each model needs with the context it would get, by model id (filled when asked). */
  fits = $state<Record<string, ModelFit | { error: string }>>({});

  async estimate(modelId: string): Promise<ModelFit | null> {
    try {
      const fit = await this.#client.call('models.estimate', { modelId });
      this.fits[modelId] = fit;
      return fit;
    } catch (e) {
      this.fits[modelId] = { error: e instanceof Error ? e.message : String(e) };
      return null;
    }
  }

  async remove(modelId: string): Promise<void> {
    try {
      this.library = await this.#client.call('models.remove', { modelId });
    } catch (e) {
      toasts.error(e);
    }
  }
}
