// Conversations as the user sees them: with their assistant, their messages and checked sources,
// the documents shared with them and the collections they answer from. The use-cases that span
// stores (delete while a reply streams, share a document, choose collections) live here.
import { UserFacingError } from '../../contract/errors.ts';
import type { Conversation, ConversationDetail, DocumentInfo, Message } from '../../contract/types.ts';
import type { AssistantService } from '../assistants/assistant-service.ts';
import type { ChatService } from '../chat/chat-service.ts';
import type { DocumentLibrary } from '../documents/document-library.ts';
import type { Engine } from '../engine/engine.ts';
import type { ConversationStore } from '../store/conversation-store.ts';
import type { DocumentStore } from '../store/document-store.ts';
import type { RetrievalStore } from '../store/retrieval-store.ts';

export class ConversationService {
  readonly #store: ConversationStore;
  readonly #retrieval: RetrievalStore;
  readonly #documentStore: DocumentStore;
  readonly #documents: DocumentLibrary;
  readonly #assistants: AssistantService;
  readonly #chat: () => ChatService;
  readonly #engine: Engine;
  readonly #changed: (conversationId: string | null) => void;

  constructor(deps: {
    store: ConversationStore;
    retrieval: RetrievalStore;
    documentStore: DocumentStore;
    documents: DocumentLibrary;
    assistants: AssistantService;
    /** The chat service (built after this one: it shapes its messages with `withSources`). */
    chat: () => ChatService;
    engine: Engine;
    onChanged: (conversationId: string | null) => void;
  }) {
    this.#store = deps.store;
    this.#retrieval = deps.retrieval;
    this.#documentStore = deps.documentStore;
    this.#documents = deps.documents;
    this.#assistants = deps.assistants;
    this.#chat = deps.chat;
    this.#engine = deps.engine;
    this.#changed = deps.onChanged;
  }

  #require(conversationId: string): Conversation {
    const c = this.#store.getConversation(conversationId);
    if (!c) throw new UserFacingError('conversation/not-found', 'That conversation no longer exists.');
    return c;
  }

  #requireCollection(id: string): void {
    if (!this.#retrieval.getCollection(id)) throw new UserFacingError('collection/not-found', 'That collection no longer exists.');
  }

  /** Answers carry their checked sources and attribution; failed citations are only counted. */
  withSources(messages: Message[]): Message[] {
    const ids = messages.map((m) => m.id);
    const all = this.#retrieval.sourcesOf(ids);
    const groundings = this.#retrieval.groundingsOf(ids);
    return messages.map((m) => {
      const sources = all.get(m.id) ?? [];
      const shown = sources.filter((x) => x.verified);
      return {
        ...m,
        sources: shown.map(({ chunkId: _chunk, verified: _verified, failure: _failure, ...source }) => source),
        citationFailures: sources.length - shown.length,
        grounding: groundings.get(m.id) ?? null,
      };
    });
  }

  create(input: { assistantId?: string; title?: string; systemPrompt?: string }): Conversation {
    const created = this.#assistants.startConversation(input);
    this.#changed(created.id);
    return created;
  }

  get(conversationId: string): ConversationDetail {
    const conversation = this.#require(conversationId);
    return {
      conversation,
      messages: this.withSources(this.#store.listMessages(conversationId)),
      documents: this.#documents.attachedTo(conversationId),
      collectionIds: this.#retrieval.conversationCollections(conversationId),
    };
  }

  rename(conversationId: string, title: string): Conversation {
    this.#require(conversationId);
    const renamed = this.#store.renameConversation(conversationId, title)!;
    this.#changed(conversationId);
    return renamed;
  }

  setSystemPrompt(conversationId: string, systemPrompt: string): Conversation {
    this.#require(conversationId);
    const updated = this.#store.setSystemPrompt(conversationId, systemPrompt)!;
    this.#engine.forgetConversation(conversationId);
    return updated;
  }

  /** Deletes a conversation, stopping its reply first if one is streaming. */
  async delete(conversationId: string): Promise<{ deleted: true }> {
    this.#require(conversationId);
    const chat = this.#chat();
    if (chat.stop(conversationId).stopped) await chat.idle;
    this.#store.deleteConversation(conversationId);
    this.#engine.forgetConversation(conversationId);
    this.#changed(null);
    return { deleted: true };
  }

  attachDocument(conversationId: string, documentId: string): DocumentInfo[] {
    this.#require(conversationId);
    this.#documents.get(documentId); // must exist
    this.#documentStore.attach(conversationId, documentId);
    return this.#documents.attachedTo(conversationId);
  }

  detachDocument(conversationId: string, documentId: string): DocumentInfo[] {
    this.#require(conversationId);
    this.#documentStore.detach(conversationId, documentId);
    return this.#documents.attachedTo(conversationId);
  }

  setCollections(conversationId: string, collectionIds: string[]): string[] {
    this.#require(conversationId);
    for (const id of collectionIds) this.#requireCollection(id);
    this.#retrieval.setConversationCollections(conversationId, [...new Set(collectionIds)]);
    return this.#retrieval.conversationCollections(conversationId);
  }
}
