import type { ConversationSummary, SearchHit } from '../../../electron/contract/types.ts';
import type { Client } from '../api/client.ts';
import { toasts } from './toasts.svelte.ts';

export class ConversationsManager {
  list = $state<ConversationSummary[]>([]);
  activeId = $state<string | null>(null);
  query = $state('');
  results = $state<SearchHit[]>([]);
  searching = $state(false);
  readonly #client: Client;
  #searchSeq = 0;

  constructor(client: Client) {
    this.#client = client;
    client.on('conversations.changed', () => void this.refresh());
    client.onConnection((c) => {
      if (c === 'open') void this.refresh();
    });
  }

  async refresh(): Promise<void> {
    try {
      this.list = await this.#client.call('conversations.list', {});
      if (this.activeId && !this.list.some((c) => c.id === this.activeId)) this.activeId = null;
      if (this.query.trim()) await this.search(this.query);
    } catch (e) {
      toasts.error(e);
    }
  }

  async create(assistantId?: string): Promise<string | null> {
    try {
      const c = await this.#client.call('conversations.create', assistantId ? { assistantId } : {});
      await this.refresh();
      this.activeId = c.id;
      return c.id;
    } catch (e) {
      toasts.error(e);
      return null;
    }
  }

  async rename(conversationId: string, title: string): Promise<void> {
    if (!title.trim()) return;
    try {
      await this.#client.call('conversations.rename', { conversationId, title });
      await this.refresh();
    } catch (e) {
      toasts.error(e);
    }
  }

  async remove(conversationId: string): Promise<void> {
    try {
      await this.#client.call('conversations.delete', { conversationId });
      if (this.activeId === conversationId) this.activeId = null;
      await this.refresh();
    } catch (e) {
      toasts.error(e);
    }
  }

  async search(query: string): Promise<void> {
    this.query = query;
    const seq = ++this.#searchSeq;
    if (!query.trim()) {
      this.results = [];
      return;
    }
    this.searching = true;
    try {
      const hits = await this.#client.call('conversations.search', { query });
      if (seq === this.#searchSeq) this.results = hits;
    } catch (e) {
      toasts.error(e);
    } finally {
      if (seq === this.#searchSeq) this.searching = false;
    }
  }
}
