import type { Conversation, DocumentInfo, Message, ReplyStage } from '../../../electron/contract/types.ts';
import type { Client } from '../api/client.ts';
import { toasts } from './toasts.svelte.ts';

/**
 * The open conversation: a view of the store, refreshed from it, plus the text of the reply that
 * is streaming now. Streamed text is applied once per frame, however fast tokens arrive.
 */
function announce(m: Message): string {
  const who = m.modelName ?? 'The model';
  if (m.status === 'error') return `${who} failed: ${m.error ?? ''}`;
  if (m.status === 'stopped') return `${who}'s reply stopped.`;
  const start = m.content.replace(/\s+/g, ' ').trim().slice(0, 200);
  return `${who} replied${m.cutOff ? ' (stopped at the length limit)' : ''}: ${start}${m.content.length > 200 ? '…' : ''}`;
}

export class ChatManager {
  conversation = $state<Conversation | null>(null);
  messages = $state<Message[]>([]);
  /** Documents shared with the open conversation. */
  documents = $state<DocumentInfo[]>([]);
  /** Collections grounded answers come from (empty: plain chat). */
  collectionIds = $state<string[]>([]);
  loading = $state(false);
  /** A message to scroll to and highlight (from a search hit). */
  focusMessageId = $state<string | null>(null);
  /** What a reply from documents is doing before its first words, by message id (gone at its first words). */
  stages = $state<Record<string, ReplyStage>>({});
  /** What a screen reader is told when a reply ends (the streamed text itself is not read out token by token). */
  announcement = $state('');
  readonly streamingId = $derived(this.messages.find((m) => m.status === 'streaming')?.id ?? null);
  readonly lastReply = $derived([...this.messages].reverse().find((m) => m.role === 'assistant' && m.contextTokens !== null) ?? null);
  readonly #client: Client;
  #pending = new Map<string, string>();
  /** Replies that finished before the call that created them returned (no model, or very fast). */
  #finishedEarly = new Map<string, Message>();
  #frame: number | null = null;
  #loadSeq = 0;
  /**
   * Changes made to the open conversation while it is shown (a message sent, a reply finished).
   * A snapshot read before one of them is stale: applying it would undo that change on screen
   * (a reply that already finished would look like it streams forever).
   */
  #changes = 0;

  constructor(client: Client) {
    this.#client = client;
    client.on('chat.stage', (e) => {
      if (e.conversationId !== this.conversation?.id) return;
      this.stages[e.messageId] = e.stage;
    });
    client.on('chat.delta', (e) => {
      if (e.conversationId !== this.conversation?.id) return;
      if (e.messageId in this.stages) delete this.stages[e.messageId];
      this.#pending.set(e.messageId, (this.#pending.get(e.messageId) ?? '') + e.text);
      this.#frame ??= requestAnimationFrame(() => this.#flush());
    });
    client.on('chat.done', (e) => {
      if (e.conversationId !== this.conversation?.id) return;
      if (e.message.id in this.stages) delete this.stages[e.message.id];
      this.#changes++;
      this.#flush();
      this.#replace(e.message);
      if (e.message.role === 'assistant') this.announcement = announce(e.message);
    });
    client.onConnection((c) => {
      // After a reconnect (or a restart of main) the store is the truth: reload from it.
      if (c === 'open' && this.conversation) void this.open(this.conversation.id, this.focusMessageId);
    });
  }

  #flush(): void {
    if (this.#frame !== null) cancelAnimationFrame(this.#frame);
    this.#frame = null;
    for (const [id, text] of this.#pending) {
      const m = this.messages.find((x) => x.id === id);
      if (m && m.status === 'streaming') m.content += text;
    }
    this.#pending.clear();
  }

  #replace(message: Message): void {
    const i = this.messages.findIndex((m) => m.id === message.id);
    if (i >= 0) this.messages[i] = message;
    else this.#finishedEarly.set(message.id, message);
  }

  /** A message as the call returned it, or its final form if that already arrived. */
  #latest(message: Message): Message {
    const early = this.#finishedEarly.get(message.id);
    this.#finishedEarly.delete(message.id);
    return early ?? message;
  }

  /** The conversation being opened: what is typed meanwhile goes to it, not to the one shown before. */
  #opening: Promise<void> | null = null;

  open(conversationId: string, focusMessageId: string | null = null): Promise<void> {
    return this.willOpen(this.#open(conversationId, focusMessageId));
  }

  /**
   * A conversation is about to open (being created, then read): until it is, what is typed waits
   * for it instead of going to the conversation shown before.
   */
  willOpen(opening: Promise<void>): Promise<void> {
    this.#opening = opening;
    void opening.finally(() => {
      if (this.#opening === opening) this.#opening = null;
    });
    return opening;
  }

  async #open(conversationId: string, focusMessageId: string | null): Promise<void> {
    const seq = ++this.#loadSeq;
    this.loading = true;
    try {
      let detail;
      // Read again when the conversation changed while it was being read (up to a few times).
      for (let tries = 0; ; tries++) {
        const changes = this.#changes;
        detail = await this.#client.call('conversations.get', { conversationId });
        if (seq !== this.#loadSeq) return;
        if (changes === this.#changes || tries >= 3) break;
      }
      this.#pending.clear();
      this.conversation = detail.conversation;
      this.messages = detail.messages;
      this.documents = detail.documents;
      this.collectionIds = detail.collectionIds;
      this.focusMessageId = focusMessageId;
    } catch (e) {
      toasts.error(e);
      this.close();
    } finally {
      if (seq === this.#loadSeq) this.loading = false;
    }
  }

  close(): void {
    this.#loadSeq++;
    this.conversation = null;
    this.messages = [];
    this.documents = [];
    this.collectionIds = [];
  }

  async setCollections(collectionIds: string[]): Promise<void> {
    if (!this.conversation) return;
    try {
      this.collectionIds = await this.#client.call('conversations.setCollections', { conversationId: this.conversation.id, collectionIds });
    } catch (e) {
      toasts.error(e);
    }
  }

  async attach(documentId: string): Promise<void> {
    if (!this.conversation) return;
    try {
      this.documents = await this.#client.call('conversations.attachDocument', { conversationId: this.conversation.id, documentId });
    } catch (e) {
      toasts.error(e);
    }
  }

  async detach(documentId: string): Promise<void> {
    if (!this.conversation) return;
    try {
      this.documents = await this.#client.call('conversations.detachDocument', { conversationId: this.conversation.id, documentId });
    } catch (e) {
      toasts.error(e);
    }
  }

  async send(text: string): Promise<boolean> {
    await this.#opening;
    if (!this.conversation || !text.trim()) return false;
    this.#changes++;
    try {
      const turn = await this.#client.call('chat.send', { conversationId: this.conversation.id, text });
      // A fresh read of the conversation may already hold them.
      for (const m of [turn.userMessage, this.#latest(turn.assistantMessage)]) {
        if (!this.messages.some((x) => x.id === m.id)) this.messages.push(m);
      }
      return true;
    } catch (e) {
      toasts.error(e);
      return false;
    }
  }

  async stop(): Promise<void> {
    if (!this.conversation) return;
    await this.#client.call('chat.stop', { conversationId: this.conversation.id }).catch((e) => toasts.error(e));
  }

  async regenerate(): Promise<void> {
    if (!this.conversation) return;
    this.#changes++;
    try {
      const reply = await this.#client.call('chat.regenerate', { conversationId: this.conversation.id });
      const last = this.messages[this.messages.length - 1];
      if (last?.role === 'assistant') this.messages.pop();
      this.messages.push(this.#latest(reply));
    } catch (e) {
      toasts.error(e);
    }
  }

  /** The last reply goes on where it stopped at the length limit; its new words stream into it. */
  async continueReply(): Promise<void> {
    if (!this.conversation) return;
    this.#changes++;
    try {
      const reply = await this.#client.call('chat.continue', { conversationId: this.conversation.id });
      const latest = this.#latest(reply);
      const i = this.messages.findIndex((m) => m.id === latest.id);
      if (i >= 0) this.messages[i] = latest;
    } catch (e) {
      toasts.error(e);
    }
  }

  async edit(messageId: string, text: string): Promise<boolean> {
    this.#changes++;
    try {
      const turn = await this.#client.call('chat.edit', { messageId, text });
      const i = this.messages.findIndex((m) => m.id === messageId);
      this.messages = [...this.messages.slice(0, i), turn.userMessage, this.#latest(turn.assistantMessage)];
      return true;
    } catch (e) {
      toasts.error(e);
      return false;
    }
  }

  async setSystemPrompt(systemPrompt: string): Promise<void> {
    if (!this.conversation) return;
    try {
      this.conversation = await this.#client.call('conversations.setSystemPrompt', { conversationId: this.conversation.id, systemPrompt });
      toasts.show('System prompt saved for this conversation.');
    } catch (e) {
      toasts.error(e);
    }
  }
}
