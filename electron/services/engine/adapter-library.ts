// The LoRA adapters the user added: checked when added (a whole GGUF LoRA adapter, and made for
// the model in use when there is one), removed from every assistant when deleted.
import { randomUUID } from 'node:crypto';
import { resolve } from 'node:path';
import { UserFacingError } from '../../contract/errors.ts';
import type { AdapterInfo, ModelInfo } from '../../contract/types.ts';
import type { AdapterStore, StoredAdapter } from '../store/adapter-store.ts';
import { discardUpload, fileSha256 } from './file-hash.ts';
import { checkAdapterFits, inspectAdapterFile } from './gguf-inspector.ts';

const publicInfo = ({ path: _path, ...info }: StoredAdapter): AdapterInfo => info;

export class AdapterLibrary {
  readonly #store: AdapterStore;
  readonly #activeModel: () => ModelInfo | null;
  readonly #ownedDir: string | null;
  readonly #onChange: (list: AdapterInfo[]) => void;
  /** Fit checks already passed, by adapter and model file: a conversation's turns do not re-read headers. */
  readonly #fits = new Set<string>();

  constructor(deps: { store: AdapterStore; activeModel: () => ModelInfo | null; ownedDir?: string; onChange?: (list: AdapterInfo[]) => void }) {
    this.#store = deps.store;
    this.#activeModel = deps.activeModel;
    this.#ownedDir = deps.ownedDir ? resolve(deps.ownedDir) : null;
    this.#onChange = deps.onChange ?? (() => {});
  }

  list(): AdapterInfo[] {
    return this.#store.list().map(publicInfo);
  }

  require(id: string): StoredAdapter {
    const a = this.#store.get(id);
    if (!a) throw new UserFacingError('adapter/not-found', 'That adapter is no longer in the library.');
    return a;
  }

  async add(path: string): Promise<AdapterInfo> {
    const absolute = resolve(path);
    const existing = this.#store.byPath(absolute);
    if (existing) return publicInfo(existing);
    try {
      const inspected = await inspectAdapterFile(absolute);
      const model = this.#activeModel();
      if (model) await checkAdapterFits({ path: absolute, name: inspected.name }, model);
      const sha256 = await fileSha256(absolute);
      // The same file under another name or place is the same adapter.
      const same = this.#store.bySha256(sha256);
      if (same) {
        await this.#discardUpload(absolute);
        return publicInfo(same);
      }
      const adapter: StoredAdapter = { ...inspected, path: absolute, sha256, id: randomUUID(), addedAt: Date.now() };
      this.#store.insert(adapter);
      this.#onChange(this.list());
      return publicInfo(adapter);
    } catch (e) {
      // A refused upload does not stay in the data folder.
      await this.#discardUpload(absolute);
      throw e;
    }
  }

  #discardUpload(path: string): Promise<void> {
    return discardUpload(this.#ownedDir, path);
  }

  async remove(id: string): Promise<{ removed: true }> {
    const adapter = this.require(id);
    this.#store.delete(id);
    await this.#discardUpload(adapter.path);
    this.#onChange(this.list());
    return { removed: true };
  }

  bySha256(sha256: string): AdapterInfo | null {
    const a = this.#store.bySha256(sha256);
    return a ? publicInfo(a) : null;
  }

  /** The files and scales an assistant's adapters come to, each checked against the model in use. */
  async resolve(adapters: { adapterId: string; scale: number }[], model: ModelInfo): Promise<{ path: string; scale: number }[]> {
    const out: { path: string; scale: number }[] = [];
    for (const a of adapters) {
      const stored = this.#store.get(a.adapterId);
      if (!stored) continue; // removed from the library: nothing to apply
      if (a.scale === 0) continue;
      const key = `${stored.path}\n${model.path}`;
      if (!this.#fits.has(key)) {
        await checkAdapterFits(stored, model);
        this.#fits.add(key);
      }
      out.push({ path: stored.path, scale: a.scale });
    }
    return out;
  }
}

