import type { Collection, IndexStatus, RetentionItem, RetentionPlan, RetentionRule } from '../../../electron/contract/types.ts';
import type { Client } from '../api/client.ts';
import { toasts } from './toasts.svelte.ts';

/** Collections of documents and the state of the search index. */
export class CollectionsManager {
  list = $state<Collection[]>([]);
  /** The collection the Documents view shows (null: all documents). */
  selectedId = $state<string | null>(null);
  index = $state<IndexStatus | null>(null);
  readonly selected = $derived(this.list.find((c) => c.id === this.selectedId) ?? null);
  readonly #client: Client;

  constructor(client: Client) {
    this.#client = client;
    client.on('collections.changed', (list) => (this.list = list));
    client.on('retrieval.status', (s) => (this.index = s));
    client.onConnection((c) => {
      if (c !== 'open') return;
      client.call('collections.list', {}).then((l) => (this.list = l)).catch((e) => toasts.error(e));
      client.call('retrieval.status', {}).then((s) => (this.index = s)).catch(() => {});
    });
  }

  /** Pauses or resumes embedding passages (keyword search covers them meanwhile). */
  async setIndexPaused(paused: boolean): Promise<void> {
    try {
      this.index = await this.#client.call(paused ? 'retrieval.pause' : 'retrieval.resume', {});
    } catch (e) {
      toasts.error(e);
    }
  }

  async create(name: string): Promise<Collection | null> {
    try {
      const c = await this.#client.call('collections.create', { name });
      this.selectedId = c.id;
      return c;
    } catch (e) {
      toasts.error(e);
      return null;
    }
  }

  async rename(collectionId: string, name: string): Promise<void> {
    await this.#client.call('collections.rename', { collectionId, name }).catch((e) => toasts.error(e));
  }

  async remove(collectionId: string): Promise<void> {
    try {
      await this.#client.call('collections.delete', { collectionId });
      if (this.selectedId === collectionId) this.selectedId = null;
    } catch (e) {
      toasts.error(e);
    }
  }

  async setMembership(collectionId: string, documentId: string, member: boolean): Promise<void> {
    await this.#client.call('collections.setMembership', { collectionId, documentId, member }).catch((e) => toasts.error(e));
  }

  /** What saving this rule and hold would delete now; throws with the main process's message. */
  planRetention(collectionId: string, retention: RetentionRule, legalHold: boolean): Promise<RetentionPlan> {
    return this.#client.call('collections.planRetention', { collectionId, retention, legalHold });
  }

  /**
   * Saves a rule and a hold (null: none). A new hold is placed before a stricter rule is saved, and
   * a hold is released only after the rule: the rule never runs against what the user means to hold.
   * Returns what was deleted, or null when it failed (said in a message).
   */
  async saveRetention(collection: Collection, retention: RetentionRule, holdReason: string | null): Promise<RetentionItem[] | null> {
    const deleted: RetentionItem[] = [];
    const id = collection.id;
    try {
      if (holdReason !== null && holdReason !== collection.legalHold?.reason) deleted.push(...(await this.#client.call('collections.setLegalHold', { collectionId: id, reason: holdReason })).deleted);
      deleted.push(...(await this.#client.call('collections.setRetention', { collectionId: id, retention })).deleted);
      if (holdReason === null && collection.legalHold) deleted.push(...(await this.#client.call('collections.setLegalHold', { collectionId: id, reason: null })).deleted);
    } catch (e) {
      toasts.error(e);
      return null;
    }
    const docs = deleted.filter((i) => i.kind === 'document').length;
    const convs = deleted.length - docs;
    const parts = [docs ? `${docs} ${docs === 1 ? 'document' : 'documents'}` : '', convs ? `${convs} ${convs === 1 ? 'conversation' : 'conversations'}` : ''].filter(Boolean);
    toasts.show(parts.length ? `Retention of “${collection.name}” saved. Deleted ${parts.join(' and ')}.` : `Retention of “${collection.name}” saved.`);
    return deleted;
  }

  async useForSearch(modelId: string | null): Promise<void> {
    try {
      this.index = await this.#client.call('models.setEmbedding', { modelId });
      toasts.show(modelId ? 'Documents are being indexed for search with this model.' : 'Search uses keywords only now.');
    } catch (e) {
      toasts.error(e);
    }
  }

  /** A reranking model orders each search's best passages; null stops reranking. */
  async useForReranking(modelId: string | null): Promise<void> {
    try {
      this.index = await this.#client.call('models.setReranker', { modelId });
      toasts.show(modelId ? `Search results are reranked by ${this.index.rerankModelName}.` : 'Search results are no longer reranked.');
    } catch (e) {
      toasts.error(e);
    }
  }
}
