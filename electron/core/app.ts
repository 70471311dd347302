// The composition root: builds every service once, wires them to the event bus, and exposes the
// router that both transports serve.
import { join } from 'node:path';
import { UserFacingError } from '../contract/errors.ts';
import type { AppInfo, Message, Settings } from '../contract/types.ts';
import { AssistantService } from '../services/assistants/assistant-service.ts';
import { builtinPacksDir, loadPacks } from '../services/assistants/packs.ts';
import { ChatService } from '../services/chat/chat-service.ts';
import { AssistantStore } from '../services/store/assistant-store.ts';
import { AdapterStore } from '../services/store/adapter-store.ts';
import { AdapterLibrary } from '../services/engine/adapter-library.ts';
import { DocumentLibrary } from '../services/documents/document-library.ts';
import { Summarizer } from '../services/documents/summarizer.ts';
import { Embedder } from '../services/retrieval/embedder.ts';
import { createGrounder } from '../services/retrieval/grounder.ts';
import { Indexer } from '../services/retrieval/indexer.ts';
import { Retriever } from '../services/retrieval/retriever.ts';
import { RetrievalStore } from '../services/store/retrieval-store.ts';
import { physicalCoreCount } from '../services/engine/cpu.ts';
import { Engine } from '../services/engine/engine.ts';
import { ModelLibrary } from '../services/engine/model-library.ts';
import { ConversationStore } from '../services/store/conversation-store.ts';
import { openDatabase, type Database } from '../services/store/db.ts';
import { DocumentStore } from '../services/store/document-store.ts';
import { ModelStore } from '../services/store/model-store.ts';
import { SettingsStore } from '../services/store/settings-store.ts';
import { SummaryStore } from '../services/store/summary-store.ts';
import { EventBus } from './events.ts';
import { createRouter, type Router } from './router.ts';

export interface EnclaveOptions {
  dataDir: string;
  mode: AppInfo['mode'];
  version: string;
  /** Settings applied at start (command-line flags); they are persisted like a user's choice. */
  settingsOverride?: Partial<Settings>;
  checkpointIntervalMs?: number;
  /** Where the built-in assistant packs are (resources/assistants by default). */
  packsDir?: string;
}

export interface Enclave {
  router: Router;
  events: EventBus;
  db: Database;
  engine: Engine;
  models: ModelLibrary;
  chat: ChatService;
  documents: DocumentLibrary;
  summaries: Summarizer;
  indexer: Indexer;
  retriever: Retriever;
  retrieval: RetrievalStore;
  conversations: ConversationStore;
  assistants: AssistantService;
  settings: SettingsStore;
  /** Loads the model that was active when the app last closed (in the background). */
  restoreActiveModel(): Promise<void>;
  shutdown(): Promise<void>;
}

export function modelsDir(dataDir: string): string {
  return join(dataDir, 'models');
}

/** Where browser mode keeps copies of uploaded documents (the desktop app reads them in place). */
export function documentsDir(dataDir: string): string {
  return join(dataDir, 'documents');
}

export function createEnclave(options: EnclaveOptions): Enclave {
  const db = openDatabase(join(options.dataDir, 'enclave.db'));
  const events = new EventBus();
  const conversations = new ConversationStore(db);
  const settings = new SettingsStore(db);
  const modelStore = new ModelStore(db);
  if (options.settingsOverride && Object.keys(options.settingsOverride).length > 0) settings.update(options.settingsOverride);

  const interrupted = conversations.markStreamingInterrupted();
  if (interrupted > 0) console.warn(`[store] ${interrupted} reply(ies) were cut off when Enclave last stopped; marked interrupted.`);

  const engine = new Engine({ onStatus: (s) => events.emit('engine.status', s) });
  const models = new ModelLibrary({
    models: modelStore,
    settings,
    engine,
    ownedDir: modelsDir(options.dataDir),
    onChange: (library) => events.emit('models.changed', library),
  });
  const documentStore = new DocumentStore(db);
  const summaryStore = new SummaryStore(db);
  const retrievalStore = new RetrievalStore(db);
  const embedder = new Embedder();
  const indexer = new Indexer({
    store: retrievalStore,
    documents: documentStore,
    embedder,
    onStatus: (status) => events.emit('retrieval.status', status),
    space: { get: () => settings.embeddingSpace(), set: (space) => settings.setEmbeddingSpace(space) },
  });
  const retriever = new Retriever({ store: retrievalStore, embedder, vectorsReady: () => indexer.vectorsReady() });
  const adapters = new AdapterLibrary({
    store: new AdapterStore(db),
    activeModel: () => (engine.loadedModelId ? modelStore.get(engine.loadedModelId) : null),
    ownedDir: modelsDir(options.dataDir),
    onChange: (list) => events.emit('adapters.changed', list),
  });
  const assistants = new AssistantService({
    adapters: {
      get: (id) => adapters.list().find((a) => a.id === id) ?? null,
      bySha256: (sha256) => adapters.bySha256(sha256),
    },
    store: new AssistantStore(db),
    conversations,
    retrieval: retrievalStore,
    settings,
    packs: loadPacks(options.packsDir ?? builtinPacksDir()),
    onChange: () => {
      events.emit('assistants.changed', assistants.list());
      events.emit('conversations.changed', { conversationId: null });
    },
  });
  assistants.seedBuiltins();
  const threads = () => (settings.get().threads > 0 ? settings.get().threads : physicalCoreCount());
  const chat = new ChatService({
    grounder: createGrounder({
      store: retrievalStore,
      retriever,
      allowGeneralAnswers: (conversationId) => settings.get().allowGeneralAnswers && !assistants.forConversation(conversationId).answerOnlyFromDocuments,
      sharedDocuments: (conversationId) => documentStore.attachedTo(conversationId),
      ensureChunked: (documentIds) => indexer.ensureChunked(documentIds),
    }),
    store: conversations,
    engine,
    settings: () => settings.get(),
    profile: async (conversationId) => {
      const assistant = assistants.forConversation(conversationId);
      // Its preferred model, when it is in the library and another is loaded; otherwise the active one.
      const preferred = assistant.preferredModel ? modelStore.bySha256(assistant.preferredModel.sha256) : null;
      if (preferred && engine.loadedModelId !== preferred.id) await models.activate(preferred.id);
      const model = engine.loadedModelId ? modelStore.get(engine.loadedModelId) : null;
      return {
        instructions: assistant.systemPrompt,
        settings: assistants.generationSettings(assistant, settings.get()),
        onlyFromDocuments: assistant.answerOnlyFromDocuments ? assistant.name : null,
        adapters: model ? await adapters.resolve(assistant.adapters, model) : [],
        contextSize: assistant.contextSize ?? settings.get().contextSize,
      };
    },
    checkpointIntervalMs: options.checkpointIntervalMs,
    events: {
      delta: (e) => events.emit('chat.delta', e),
      done: (e) => events.emit('chat.done', { ...e, message: withSources([e.message])[0] }),
      conversationsChanged: (conversationId) => events.emit('conversations.changed', { conversationId }),
    },
  });

  const documents = new DocumentLibrary({
    store: documentStore,
    ownedDir: documentsDir(options.dataDir),
    events: {
      progress: (p) => events.emit('documents.progress', p),
      changed: (documentId) => {
        events.emit('documents.changed', { documentId });
        // A document became ready (or went away): bring the search index up to date.
        void indexer.kick();
      },
    },
  });
  const resumed = documents.resumeInterrupted();
  if (resumed > 0) console.warn(`[documents] ${resumed} document(s) were being read when Enclave last stopped; reading them again.`);

  const summaries = new Summarizer({
    summaries: summaryStore,
    documents: documentStore,
    engine,
    events: {
      progress: (p) => events.emit('summaries.progress', p),
      delta: (d) => events.emit('summaries.delta', d),
      done: (summary) => events.emit('summaries.done', summary),
    },
  });

  /** Grounded answers carry their checked sources and attribution; failed citations are only counted. */
  function withSources(messages: Message[]): Message[] {
    const ids = messages.map((m) => m.id);
    const all = retrievalStore.sourcesOf(ids);
    const groundings = retrievalStore.groundingsOf(ids);
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
  const requireCollection = (id: string) => {
    const c = retrievalStore.getCollection(id);
    if (!c) throw new UserFacingError('collection/not-found', 'That collection no longer exists.');
    return c;
  };
  const collectionsChanged = () => events.emit('collections.changed', retrievalStore.listCollections());

  const requireConversation = <T>(value: T | null): T => {
    if (value === null) throw new UserFacingError('conversation/not-found', 'That conversation no longer exists.');
    return value;
  };

  const router = createRouter({
    'app.info': () => ({ version: options.version, mode: options.mode, dataDir: options.dataDir, physicalCores: physicalCoreCount() }),
    'settings.get': () => settings.get(),
    'settings.update': async (patch) => {
      const before = settings.get();
      const next = settings.update(patch);
      const reshapesContext = next.contextSize !== before.contextSize || next.threads !== before.threads || next.gpu !== before.gpu;
      if (reshapesContext && engine.loadedModelId) await models.reloadActive();
      return next;
    },
    'models.list': () => models.list(),
    'models.add': ({ path }) => models.add(path),
    'models.remove': async ({ modelId }) => {
      if (settings.embeddingModelId() === modelId) {
        await indexer.setEmbeddingModel(null, threads());
        settings.setEmbeddingModelId(null);
      }
      return models.remove(modelId);
    },
    'models.activate': ({ modelId }) => models.activate(modelId),
    'models.unload': () => models.unload(),
    'engine.status': () => engine.status,
    'conversations.list': () => conversations.listConversations(),
    'conversations.create': (input) => {
      const created = assistants.startConversation(input);
      events.emit('conversations.changed', { conversationId: created.id });
      return created;
    },
    'conversations.get': ({ conversationId }) => {
      const conversation = requireConversation(conversations.getConversation(conversationId));
      return {
        conversation,
        messages: withSources(conversations.listMessages(conversationId)),
        documents: documents.attachedTo(conversationId),
        collectionIds: retrievalStore.conversationCollections(conversationId),
      };
    },
    'conversations.attachDocument': ({ conversationId, documentId }) => {
      requireConversation(conversations.getConversation(conversationId));
      documents.get(documentId); // must exist
      documentStore.attach(conversationId, documentId);
      engine.forgetConversation(conversationId);
      return documents.attachedTo(conversationId);
    },
    'conversations.detachDocument': ({ conversationId, documentId }) => {
      requireConversation(conversations.getConversation(conversationId));
      documentStore.detach(conversationId, documentId);
      engine.forgetConversation(conversationId);
      return documents.attachedTo(conversationId);
    },
    'conversations.rename': ({ conversationId, title }) => {
      const renamed = requireConversation(conversations.renameConversation(conversationId, title));
      events.emit('conversations.changed', { conversationId });
      return renamed;
    },
    'conversations.setSystemPrompt': ({ conversationId, systemPrompt }) => {
      const updated = requireConversation(conversations.setSystemPrompt(conversationId, systemPrompt));
      engine.forgetConversation(conversationId);
      return updated;
    },
    'conversations.delete': async ({ conversationId }) => {
      requireConversation(conversations.getConversation(conversationId));
      if (chat.stop(conversationId).stopped) await chat.idle;
      conversations.deleteConversation(conversationId);
      engine.forgetConversation(conversationId);
      events.emit('conversations.changed', { conversationId: null });
      return { deleted: true as const };
    },
    'conversations.search': ({ query, limit }) => conversations.search(query, limit),
    'documents.list': () => documents.list(),
    'documents.import': ({ path }) => documents.import(path),
    'documents.get': ({ documentId }) => documents.get(documentId),
    'documents.page': ({ documentId, pageNumber }) => documents.page(documentId, pageNumber),
    'documents.unlock': ({ documentId, password }) => documents.unlock(documentId, password),
    'documents.cancel': ({ documentId }) => documents.cancel(documentId),
    'documents.delete': ({ documentId }) => documents.delete(documentId),
    'summaries.start': ({ documentId, kind }) => summaries.start(documentId, kind),
    'summaries.list': ({ documentId }) => summaries.list(documentId),
    'summaries.cancel': ({ summaryId }) => summaries.cancel(summaryId),
    'summaries.delete': ({ summaryId }) => summaries.delete(summaryId),
    'collections.list': () => retrievalStore.listCollections(),
    'collections.create': ({ name }) => {
      const created = retrievalStore.createCollection(name);
      collectionsChanged();
      return created;
    },
    'collections.rename': ({ collectionId, name }) => {
      requireCollection(collectionId);
      retrievalStore.renameCollection(collectionId, name);
      collectionsChanged();
      return requireCollection(collectionId);
    },
    'collections.delete': ({ collectionId }) => {
      requireCollection(collectionId);
      retrievalStore.deleteCollection(collectionId);
      collectionsChanged();
      return { deleted: true as const };
    },
    'collections.setMembership': ({ collectionId, documentId, member }) => {
      requireCollection(collectionId);
      documents.get(documentId);
      retrievalStore.setMembership(collectionId, documentId, member);
      collectionsChanged();
      return requireCollection(collectionId);
    },
    'conversations.setCollections': ({ conversationId, collectionIds }) => {
      requireConversation(conversations.getConversation(conversationId));
      for (const id of collectionIds) requireCollection(id);
      retrievalStore.setConversationCollections(conversationId, [...new Set(collectionIds)]);
      engine.forgetConversation(conversationId);
      return retrievalStore.conversationCollections(conversationId);
    },
    'retrieval.status': () => indexer.status(),
    'models.setEmbedding': async ({ modelId }) => {
      const info = modelId ? modelStore.get(modelId) : null;
      if (modelId && !info) throw new UserFacingError('model/not-found', 'That model is no longer in the library.');
      const status = await indexer.setEmbeddingModel(info, threads());
      settings.setEmbeddingModelId(modelId);
      return status;
    },
    'assistants.list': () => assistants.list(),
    'assistants.templates': () => assistants.templates(),
    'assistants.create': (input) => assistants.create(input),
    'assistants.update': ({ assistantId, fields }) => assistants.update(assistantId, fields),
    'assistants.duplicate': ({ assistantId }) => assistants.duplicate(assistantId),
    'assistants.delete': ({ assistantId }) => assistants.delete(assistantId),
    'assistants.export': ({ assistantId }) => {
      const file = assistants.exportFile(assistantId);
      const fileName = `${file.assistant.name.replace(/[^\p{L}\p{N}\- ]+/gu, '_').trim() || 'assistant'}.enclave-assistant.json`;
      return { fileName, text: `${JSON.stringify(file, null, 2)}\n` };
    },
    'assistants.import': ({ text }) => assistants.importFile(text),
    'adapters.list': () => adapters.list(),
    'adapters.add': ({ path }) => adapters.add(path),
    'adapters.remove': async ({ adapterId }) => {
      const removed = await adapters.remove(adapterId);
      events.emit('assistants.changed', assistants.list());
      return removed;
    },
    'chat.send': ({ conversationId, text }) => chat.send(conversationId, text),
    'chat.edit': ({ messageId, text }) => chat.edit(messageId, text),
    'chat.regenerate': ({ conversationId }) => chat.regenerate(conversationId),
    'chat.stop': ({ conversationId }) => chat.stop(conversationId),
  });

  return {
    router,
    events,
    db,
    engine,
    models,
    chat,
    documents,
    summaries,
    indexer,
    retriever,
    retrieval: retrievalStore,
    conversations,
    assistants,
    settings,
    async restoreActiveModel() {
      // The search index catches up in the background (documents read or embedded while closed).
      const embeddingId = settings.embeddingModelId();
      const embeddingModel = embeddingId ? modelStore.get(embeddingId) : null;
      void models.hashPending();
      if (embeddingModel) indexer.setEmbeddingModel(embeddingModel, threads()).catch((e) => console.warn(`[search] ${(e as Error).message}`));
      else void indexer.kick();
      const id = settings.activeModelId();
      if (!id || !modelStore.get(id)) return;
      try {
        await models.activate(id);
      } catch (e) {
        console.warn(`[models] the last active model could not be loaded: ${(e as Error).message}`);
      }
    },
    async shutdown() {
      await documents.shutdown();
      await summaries.shutdown();
      await chat.shutdown();
      await indexer.shutdown();
      await engine.dispose();
      db.close();
    },
  };
}
