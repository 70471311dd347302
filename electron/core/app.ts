// The composition root: builds every service once, wires them to the event bus, and exposes the
// router that both transports serve.
import { userInfo } from 'node:os';
import { join } from 'node:path';
import { UserFacingError } from '../contract/errors.ts';
import type { AppInfo, EventMap, Settings } from '../contract/types.ts';
import { AssistantService } from '../services/assistants/assistant-service.ts';
import { builtinPacksDir, loadPacks } from '../services/assistants/packs.ts';
import { replyProfiles } from '../services/assistants/reply-profile.ts';
import { ChatService } from '../services/chat/chat-service.ts';
import { CollectionService } from '../services/collections/collection-service.ts';
import { ConversationService } from '../services/conversations/conversation-service.ts';
import { ModelUseService } from '../services/models/model-use-service.ts';
import { BackendService } from '../services/models/backend-service.ts';
import { LocalApi } from '../services/api/api-server.ts';
import { AssistantStore } from '../services/store/assistant-store.ts';
import { AdapterStore } from '../services/store/adapter-store.ts';
import { AdapterLibrary } from '../services/engine/adapter-library.ts';
import { DocumentLibrary } from '../services/documents/document-library.ts';
import { Summarizer } from '../services/documents/summarizer.ts';
import { Embedder } from '../services/retrieval/embedder.ts';
import { Reranker } from '../services/retrieval/reranker.ts';
import { createGrounder } from '../services/retrieval/grounder.ts';
import { Indexer } from '../services/retrieval/indexer.ts';
import { Retriever } from '../services/retrieval/retriever.ts';
import type { SpawnReader } from '../services/documents/reader-process.ts';
import { AuditLog } from '../services/store/audit-log.ts';
import { auditedCalls } from '../services/audit/audited-calls.ts';
import { chatAudit } from '../services/audit/chat-audit.ts';
import { workAudit } from '../services/audit/work-audit.ts';
import { RetentionService } from '../services/retention/retention-service.ts';
import { RetentionStore } from '../services/store/retention-store.ts';
import { RecordService } from '../services/records/record-service.ts';
import { AppLock } from '../services/lock/app-lock.ts';
import { LockStore } from '../services/store/lock-store.ts';
import { mainThreadReader, RetrievalReader } from '../services/retrieval/retrieval-reader.ts';
import { RetrievalStore } from '../services/store/retrieval-store.ts';
import { physicalCoreCount } from '../services/engine/cpu.ts';
import { Engine } from '../services/engine/engine.ts';
import { ModelLibrary } from '../services/engine/model-library.ts';
import { ConversationStore } from '../services/store/conversation-store.ts';
import { openDatabase, type Database } from '../services/store/db.ts';
import { encryptDatabase, needsEncryption } from '../services/store/encrypt-store.ts';
import { DocumentStore } from '../services/store/document-store.ts';
import { ModelStore } from '../services/store/model-store.ts';
import { SettingsStore } from '../services/store/settings-store.ts';
import { SummaryStore } from '../services/store/summary-store.ts';
import { FileGrants } from '../services/files/file-grants.ts';
import { TaskService } from '../services/tasks/task-service.ts';
import { TaskStore } from '../services/store/task-store.ts';
import { EvalService } from '../services/evals/eval-service.ts';
import { questionsTemplate } from '../services/evals/questions-csv.ts';
import { evalCsv, evalMarkdown } from '../services/evals/report.ts';
import { EvalStore } from '../services/store/eval-store.ts';
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
  /** How a document reader process is started (a forked Node process by default). */
  spawnReader?: SpawnReader;
  /**
   * The library's encryption key (store-key.ts): the database and the documents copied into the
   * data folder are encrypted with it. Without one (tests) they are plain files.
   */
  key?: Buffer | null;
  /** Said to the window when it connects (app.info): what happened at start that the user must know. */
  notices?: string[];
}

export interface Enclave {
  router: Router;
  events: EventBus;
  /** One-time handles for files the user chose: the only way a file reaches a method. */
  files: FileGrants;
  db: Database;
  engine: Engine;
  models: ModelLibrary;
  chat: ChatService;
  documents: DocumentLibrary;
  summaries: Summarizer;
  indexer: Indexer;
  retriever: Retriever;
  /** The thread searches run on (tests). */
  searchReader: RetrievalReader;
  /** The embedding model's runtime (benchmarks embed questions with it). */
  embedder: Embedder;
  /** The reranking model's runtime, when one is chosen. */
  reranker: Reranker;
  retrieval: RetrievalStore;
  conversations: ConversationStore;
  assistants: AssistantService;
  tasks: TaskService;
  evals: EvalService;
  settings: SettingsStore;
  /** Retention rules and legal holds; sweeps at start and every hour. */
  retention: RetentionService;
  /** Where answers are computed: this computer or an office server. */
  backend: BackendService;
  /** Enclave's own OpenAI-compatible API (off unless turned on). */
  localApi: LocalApi;
  /** Loads the model that was active when the app last closed (in the background). */
  restoreActiveModel(): Promise<void>;
  /** Whether the app lock is closed (the window may then do nothing but unlock). */
  locked(): boolean;
  shutdown(): Promise<void>;
}

export function modelsDir(dataDir: string): string {
  return join(dataDir, 'models');
}

/** Where browser mode keeps copies of uploaded documents (the desktop app reads them in place). */
export function documentsDir(dataDir: string): string {
  return join(dataDir, 'documents');
}

/** What the window may ask while the app is locked. */
const WHILE_LOCKED = new Set<string>(['app.info', 'lock.status', 'lock.unlock', 'lock.lock']);

/** Who the audit trail says acted: the computer's account running Enclave, and how it was used. */
function actorName(mode: AppInfo['mode']): string {
  let account = 'unknown account';
  try {
    account = userInfo().username;
  } catch {
    // No account name on this system (some containers): said as such.
  }
  return `${account} (${mode === 'electron' ? 'desktop app' : 'browser'})`;
}

export function createEnclave(options: EnclaveOptions): Enclave {
  const databaseFile = join(options.dataDir, 'enclave.db');
  const key = options.key ?? null;
  // A plain library from before encryption (its caller may already have done this with progress).
  if (key && needsEncryption(databaseFile)) encryptDatabase(databaseFile, key);
  const db = openDatabase(databaseFile, { key });
  const files = new FileGrants();
  const events = new EventBus();
  // Made further down; the engine tells it of its state.
  let tasks: TaskService | null = null;
  let evals: EvalService | null = null;
  const conversations = new ConversationStore(db);
  const settings = new SettingsStore(db);
  const modelStore = new ModelStore(db);
  const audit = new AuditLog(db, { sealFile: join(options.dataDir, 'audit-seal.json'), actor: actorName(options.mode) });
  const lock = new AppLock({ store: new LockStore(db), audit, onChange: (status) => events.emit('lock.changed', status) });
  // While locked, the window hears only the lock's own event.
  events.setWindowFilter((name) => !lock.locked || name === 'lock.changed');
  const work = workAudit(audit);
  if (options.settingsOverride && Object.keys(options.settingsOverride).length > 0) settings.update(options.settingsOverride);

  // An evaluation's question asked when Enclave last stopped left its hidden conversation behind.
  conversations.deleteHidden();
  const interrupted = conversations.markStreamingInterrupted();
  if (interrupted > 0) console.warn(`[store] ${interrupted} reply(ies) were cut off when Enclave last stopped; marked interrupted.`);

  const engine = new Engine({
    onStatus: (s) => {
      events.emit('engine.status', s);
      work.engineStatus(s, (id) => modelStore.get(id));
      // A task run cut off by a crash goes on once a model is ready.
      tasks?.engineChanged(s.state);
    },
  });
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
  // Questions are embedded by an 8-bit copy of a 16- or 32-bit embedding model where it agrees and is faster (kept here).
  const embedder = new Embedder({ copyDir: join(options.dataDir, 'cache', 'question-model') });
  const reranker = new Reranker();
  const indexer = new Indexer({
    reranker,
    store: retrievalStore,
    documents: documentStore,
    embedder,
    onStatus: (status) => events.emit('retrieval.status', status),
    space: { get: () => settings.embeddingSpace(), set: (space) => settings.setEmbeddingSpace(space) },
  });
  // Searches run on a thread of their own with a read connection to the same file.
  const searchReader = new RetrievalReader(databaseFile, mainThreadReader(retrievalStore), key);
  const retriever = new Retriever({ store: retrievalStore, embedder, vectorsReady: () => indexer.vectorsReady(), reader: searchReader, reranker });
  const adapters = new AdapterLibrary({
    store: new AdapterStore(db),
    activeModel: () => (engine.loadedModelId ? modelStore.get(engine.loadedModelId) : null),
    ownedDir: modelsDir(options.dataDir),
    onChange: (list) => {
      events.emit('adapters.changed', list);
      // Removing an adapter removes it from the assistants that applied it.
      events.emit('assistants.changed', assistants.list());
    },
  });
  const packs = loadPacks(options.packsDir ?? builtinPacksDir());
  const assistants = new AssistantService({
    adapters: {
      get: (id) => adapters.list().find((a) => a.id === id) ?? null,
      bySha256: (sha256) => adapters.bySha256(sha256),
    },
    store: new AssistantStore(db),
    conversations,
    retrieval: retrievalStore,
    settings,
    packs,
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
    profile: replyProfiles({ assistants, models, modelStore, adapters, engine, settings }),
    hold: () => evals?.holdsModel ?? null,
    audit: chatAudit(audit),
    checkpointIntervalMs: options.checkpointIntervalMs,
    events: {
      delta: (e) => events.emit('chat.delta', e),
      stage: (e) => events.emit('chat.stage', e),
      done: (e) => events.emit('chat.done', { ...e, message: conversationService.withSources([e.message])[0] }),
      conversationsChanged: (conversationId) => events.emit('conversations.changed', { conversationId }),
    },
  });

  const documents = new DocumentLibrary({
    store: documentStore,
    spawnReader: options.spawnReader,
    key,
    ownedDir: documentsDir(options.dataDir),
    events: {
      progress: (p) => events.emit('documents.progress', p),
      changed: (documentId) => {
        events.emit('documents.changed', { documentId });
        // A document became ready (or went away): bring the search index up to date.
        void indexer.kick();
        // A deleted document leaves the collections it was in: their counts change.
        if (documentId === null) collections.announce();
      },
    },
  });
  // Models added before their kind (chat or embedding) was recorded are read in the background.
  void models.classifyPending();
  const resumed = documents.resumeInterrupted();
  if (resumed > 0) console.warn(`[documents] ${resumed} document(s) were being read when Enclave last stopped; reading them again.`);

  const summaries = new Summarizer({
    hold: () => evals?.holdsModel ?? null,
    summaries: summaryStore,
    documents: documentStore,
    engine,
    events: {
      progress: (p) => events.emit('summaries.progress', p),
      delta: (d) => events.emit('summaries.delta', d),
      done: (summary) => events.emit('summaries.done', summary),
    },
  });

  // Summaries and task runs are answers too: what was made from which document, by which model.
  events.subscribe((name, payload) => {
    if (name === 'summaries.done') {
      const summary = payload as EventMap['summaries.done'];
      work.summaryDone(summary, documentStore.get(summary.documentId));
    } else if (name === 'tasks.changed') work.taskChanged(payload as EventMap['tasks.changed']);
  });

  const conversationService = new ConversationService({
    store: conversations,
    retrieval: retrievalStore,
    documentStore,
    documents,
    assistants,
    chat: () => chat,
    engine,
    onChanged: (conversationId) => events.emit('conversations.changed', { conversationId }),
  });
  const collections = new CollectionService({ store: retrievalStore, documents, onChanged: (list) => events.emit('collections.changed', list) });
  const retention = new RetentionService({
    store: new RetentionStore(db),
    collections: retrievalStore,
    deleteDocument: (id) => documents.delete(id),
    deleteConversation: (id) => conversationService.delete(id),
    documentSha256: (id) => documentStore.get(id)?.sha256 ?? null,
    audit,
    announce: () => collections.announce(),
  });
  retention.start();
  const records = new RecordService({
    conversation: (id) => conversationService.get(id),
    assistantName: (id) => assistants.list().find((a) => a.id === id)?.name ?? null,
    summary: (id) => summaryStore.get(id),
    task: (id) => tasks!.get(id),
    document: (id) => documentStore.get(id),
    models: () => modelStore.list(),
    actor: audit.actor,
    version: options.version,
  });
  const documentTitle = (id: string) => documentStore.get(id)?.title ?? 'This document';
  const conversationTitle = (id: string) => conversations.getConversation(id)?.title ?? 'this conversation';
  /** A conversation under a legal hold keeps its messages: editing or regenerating would delete some. */
  const keepsMessages = (conversationId: string | undefined) => {
    if (conversationId) retention.assertConversationUnchanged(conversationId, conversationTitle(conversationId));
  };
  tasks = new TaskService({
    store: new TaskStore(db),
    documents: documentStore,
    retrieval: retrievalStore,
    engine,
    packs,
    onChange: (run) => events.emit('tasks.changed', run),
    blocked: () => evals?.holdsModel ?? null,
  });
  evals = new EvalService({
    store: new EvalStore(db),
    assistant: (id) => assistants.list().find((a) => a.id === id) ?? null,
    models: {
      get: (id) => modelStore.get(id),
      activate: (id) => models.activate(id),
      loadedModelId: () => engine.loadedModelId,
    },
    conversations: {
      start: (assistantId) => assistants.startConversation({ assistantId, hidden: true, title: 'Evaluation question' }),
      messages: (conversationId) => conversationService.withSources(conversations.listMessages(conversationId)),
      remove: (conversationId) => conversationService.delete(conversationId),
    },
    chat: {
      send: (conversationId, text, override) => chat.send(conversationId, text, override),
      stop: (conversationId) => chat.stop(conversationId),
      idle: () => chat.idle,
    },
    tasks: {
      get: (runId) => tasks!.get(runId),
      run: (runId) => tasks!.run(runId),
      start: (input) => tasks!.start(input, true),
      resume: (runId) => tasks!.resume(runId, true),
      cancel: (runId) => tasks!.cancel(runId),
      finished: (runId) =>
        new Promise((resolve) => {
          const off = events.subscribe((name, payload) => {
            const run = payload as EventMap['tasks.changed'];
            if (name === 'tasks.changed' && run.id === runId && run.status !== 'running') {
              off();
              resolve(run);
            }
          });
          const now = tasks!.run(runId);
          if (now.status !== 'running') {
            off();
            resolve(now);
          }
        }),
    },
    onFirstWords: (conversationId, callback) =>
      events.subscribe((name, payload) => {
        if (name === 'chat.delta' && (payload as EventMap['chat.delta']).conversationId === conversationId) callback();
      }),
    blocked: () => (tasks?.running ? 'A task is running. Wait for it, or cancel it first: an evaluation needs the model to itself.' : null),
    settings: (assistantId) => {
      const assistant = assistants.list().find((a) => a.id === assistantId);
      const app = settings.get();
      return assistant ? { ...assistants.generationSettings(assistant, app), contextSize: assistant.contextSize ?? app.contextSize } : app;
    },
    onChange: (run) => events.emit('evals.changed', run),
  });
  const modelUse = new ModelUseService({ settings, models, modelStore, engine, indexer, reranker, threads });
  const backend = new BackendService({ settings, engine, models, modelStore, indexer, audit, threads });
  const localApi = new LocalApi({
    settings,
    engine,
    embedder,
    audit,
    modelName: () => engine.status.server?.model ?? (engine.loadedModelId ? (modelStore.get(engine.loadedModelId)?.name ?? null) : null),
    generation: () => settings.get(),
    collections: () => collections.list(),
    askGrounded: async (collectionId, question) => {
      const conversation = assistants.startConversation({ hidden: true, title: 'Local API question' });
      try {
        conversationService.setCollections(conversation.id, [collectionId]);
        chat.send(conversation.id, question);
        await chat.idle;
        return conversationService.withSources(conversations.listMessages(conversation.id)).at(-1)!;
      } finally {
        await conversationService.delete(conversation.id);
      }
    },
  });

  const router = createRouter({
    'app.info': () => ({ version: options.version, mode: options.mode, dataDir: options.dataDir, physicalCores: physicalCoreCount(), notices: options.notices ?? [] }),
    'settings.get': () => settings.get(),
    'settings.update': (patch) => modelUse.updateSettings(patch),
    'backend.get': () => backend.get(),
    'backend.check': ({ baseUrl, apiKey }) => backend.check(baseUrl, apiKey),
    'backend.set': (choice) => backend.set(choice),
    'api.get': () => localApi.view(),
    'api.set': ({ enabled, host, port }) => localApi.set(enabled, host, port),
    'api.newToken': () => localApi.newToken(),
    'models.list': () => models.list(),
    'models.add': ({ file }) => models.add(files.take(file)),
    'models.remove': ({ modelId }) => modelUse.removeModel(modelId),
    'models.activate': ({ modelId }) => models.activate(modelId),
    'models.rename': ({ modelId, name }) => models.rename(modelId, name),
    'models.estimate': ({ modelId, contextSize }) => models.estimate(modelId, contextSize),
    'models.measured': () => evals!.measured(models.list().models),
    'models.unload': () => models.unload(),
    'models.setEmbedding': ({ modelId }) => {
      if (backend.embeddingsOnServer()) {
        throw new UserFacingError('server/in-use', 'Search by meaning uses the office server’s model. To use a model of this computer for it, choose “On this computer” under Search by meaning in Settings → Inference.');
      }
      return modelUse.setEmbeddingModel(modelId);
    },
    'models.setReranker': ({ modelId }) => modelUse.setRerankModel(modelId),
    'engine.status': () => engine.status,
    'conversations.list': () => conversations.listConversations(),
    'conversations.create': (input) => conversationService.create(input),
    'conversations.get': ({ conversationId }) => conversationService.get(conversationId),
    'conversations.attachDocument': ({ conversationId, documentId }) => conversationService.attachDocument(conversationId, documentId),
    'conversations.detachDocument': ({ conversationId, documentId }) => conversationService.detachDocument(conversationId, documentId),
    'conversations.rename': ({ conversationId, title }) => conversationService.rename(conversationId, title),
    'conversations.setSystemPrompt': ({ conversationId, systemPrompt }) => conversationService.setSystemPrompt(conversationId, systemPrompt),
    'conversations.delete': ({ conversationId }) => {
      retention.assertConversationDeletable(conversationId, conversationTitle(conversationId));
      return conversationService.delete(conversationId);
    },
    'conversations.setCollections': ({ conversationId, collectionIds }) => {
      const dropped = retrievalStore.conversationCollections(conversationId).filter((c) => !collectionIds.includes(c));
      retention.assertStaysInHeld(dropped, `The conversation “${conversationTitle(conversationId)}”`);
      retention.assertNotDueOnJoin('conversation', conversationId, collectionIds);
      return conversationService.setCollections(conversationId, collectionIds);
    },
    'conversations.search': ({ query, limit }) => conversations.search(query, limit),
    'documents.list': () => documents.list(),
    'documents.import': ({ file }) => documents.import(files.take(file)),
    'documents.get': ({ documentId }) => documents.get(documentId),
    'documents.page': ({ documentId, pageNumber }) => documents.page(documentId, pageNumber),
    'documents.unlock': ({ documentId, password }) => documents.unlock(documentId, password),
    'documents.cancel': ({ documentId }) => {
      retention.assertDocumentDeletable(documentId, documentTitle(documentId));
      return documents.cancel(documentId);
    },
    'documents.delete': ({ documentId }) => {
      retention.assertDocumentDeletable(documentId, documentTitle(documentId));
      return documents.delete(documentId);
    },
    'summaries.start': ({ documentId, kind }) => summaries.start(documentId, kind),
    'summaries.list': ({ documentId }) => summaries.list(documentId),
    'summaries.cancel': ({ summaryId }) => summaries.cancel(summaryId),
    'summaries.delete': ({ summaryId }) => summaries.delete(summaryId),
    'collections.list': () => collections.list(),
    'collections.create': ({ name }) => collections.create(name),
    'collections.rename': ({ collectionId, name }) => collections.rename(collectionId, name),
    'collections.delete': ({ collectionId }) => {
      retention.assertCollectionDeletable(collectionId);
      return collections.delete(collectionId);
    },
    'collections.setMembership': ({ collectionId, documentId, member }) => {
      if (!member) retention.assertStaysInHeld([collectionId], `“${documentTitle(documentId)}”`);
      else retention.assertNotDueOnJoin('document', documentId, [...retention.collectionsOf('document', documentId), collectionId]);
      return collections.setMembership(collectionId, documentId, member);
    },
    'collections.planRetention': ({ collectionId, retention: rule, legalHold }) => retention.plan(collectionId, { retention: rule, legalHold }),
    'collections.setRetention': ({ collectionId, retention: rule }) => retention.setRetention(collectionId, rule),
    'collections.setLegalHold': ({ collectionId, reason }) => retention.setLegalHold(collectionId, reason),
    'retrieval.status': () => indexer.status(),
    'retrieval.pause': () => indexer.pause(),
    'retrieval.resume': () => indexer.resume(),
    'assistants.list': () => assistants.list(),
    'assistants.templates': () => assistants.templates(),
    'assistants.create': (input) => assistants.create(input),
    'assistants.update': ({ assistantId, fields }) => assistants.update(assistantId, fields),
    'assistants.duplicate': ({ assistantId }) => assistants.duplicate(assistantId),
    'assistants.delete': ({ assistantId }) => assistants.delete(assistantId),
    'assistants.export': ({ assistantId }) => assistants.exportFileText(assistantId),
    'assistants.import': ({ text }) => assistants.importFile(text),
    'adapters.list': () => adapters.list(),
    'adapters.add': ({ file }) => adapters.add(files.take(file)),
    'adapters.remove': ({ adapterId }) => adapters.remove(adapterId),
    'tasks.definitions': () => tasks.definitions(),
    'tasks.start': (input) => tasks.start(input),
    'tasks.runs': () => tasks.runs(),
    'tasks.get': ({ runId }) => tasks.get(runId),
    'tasks.cancel': ({ runId }) => tasks.cancel(runId),
    'tasks.resume': ({ runId }) => tasks.resume(runId),
    'tasks.delete': ({ runId }) => tasks.delete(runId),
    'tasks.editCell': ({ cellId, value }) => tasks.editCell(cellId, value),
    'tasks.export': ({ runId, format }) => tasks.export(runId, format),
    'evals.questions': ({ assistantId }) => evals!.questions(assistantId),
    'evals.addQuestion': ({ assistantId, fields }) => evals!.add(assistantId, fields),
    'evals.updateQuestion': ({ questionId, fields }) => evals!.update(questionId, fields),
    'evals.deleteQuestion': ({ questionId }) => evals!.remove(questionId),
    'evals.importCsv': ({ assistantId, text }) => evals!.importCsv(assistantId, text),
    'evals.template': () => questionsTemplate(),
    'evals.start': (input) => evals!.start(input),
    'evals.startTask': (input) => evals!.startTask(input),
    'evals.runs': ({ assistantId }) => evals!.runs(assistantId),
    'evals.get': ({ runId }) => evals!.get(runId),
    'evals.cancel': ({ runId }) => evals!.cancel(runId),
    'evals.resume': ({ runId }) => evals!.resume(runId),
    'evals.delete': ({ runId }) => evals!.delete(runId),
    'evals.export': ({ runId, format }) => (format === 'csv' ? evalCsv(evals!.get(runId), evals!.taskCells(runId)) : evalMarkdown(evals!.get(runId))),
    'chat.send': ({ conversationId, text }) => chat.send(conversationId, text),
    'chat.edit': ({ messageId, text }) => {
      keepsMessages(conversations.getMessage(messageId)?.conversationId);
      return chat.edit(messageId, text);
    },
    'chat.regenerate': ({ conversationId }) => {
      keepsMessages(conversationId);
      return chat.regenerate(conversationId);
    },
    'chat.continue': ({ conversationId }) => chat.continue(conversationId),
    'chat.stop': ({ conversationId }) => chat.stop(conversationId),
    'lock.status': () => lock.status(),
    'lock.configure': (input) => lock.configure(input),
    'lock.disable': ({ current }) => lock.disable(current),
    'lock.lock': ({ reason }) => lock.lock(reason),
    'lock.unlock': ({ passphrase }) => lock.unlock(passphrase),
    'audit.list': (filter) => audit.list(filter),
    'audit.verify': () => audit.verify(),
    'audit.export': () => ({
      fileName: `enclave-audit-trail-${new Date().toISOString().slice(0, 10)}.jsonl`,
      mimeType: 'application/x-ndjson',
      base64: Buffer.from(audit.exportJsonl(), 'utf8').toString('base64'),
    }),
    'records.identifiers': ({ target }) => records.identifiers(target),
    'records.export': ({ target, format, redact }) => records.export(target, format, redact),
  }, console.error, auditedCalls(audit, {
    model: (id) => modelStore.get(id),
    document: (id) => documentStore.get(id),
    settings: () => settings.get(),
    conversationTitle: (id) => conversations.getConversation(id)?.title ?? null,
    summary: (id) => {
      const s = summaryStore.get(id);
      return s ? { documentTitle: documentStore.get(s.documentId)?.title ?? s.documentId, kind: s.kind } : null;
    },
    taskRun: (id) => {
      const run = tasks!.run(id);
      return `${run.taskName} · ${run.scopeLabel}`;
    },
    evalRun: (id) => {
      const { run } = evals!.get(id);
      return `${run.taskName ?? 'Questions'} · ${run.assistantName}`;
    },
    assistantName: (id) => assistants.list().find((a) => a.id === id)?.name ?? null,
  }), (method) =>
    lock.locked && !WHILE_LOCKED.has(method) ? { code: 'app/locked', message: 'Enclave is locked. Enter the lock passphrase to go on.' } : null,
  );

  // Deletions cut off by a crash or quit are finished (the documents left every search when they started).
  void documents.finishDeletions().catch((e) => console.error('[documents] an unfinished deletion could not be finished:', e));

  return {
    router,
    events,
    files,
    db,
    engine,
    models,
    chat,
    documents,
    summaries,
    indexer,
    retriever,
    searchReader,
    embedder,
    reranker,
    retrieval: retrievalStore,
    conversations,
    assistants,
    tasks,
    evals: evals!,
    settings,
    restoreActiveModel: async () => {
      const onServer = backend.restore();
      await localApi.restore();
      await modelUse.restore({ onServer, embeddingsOnServer: backend.embeddingsOnServer() });
    },
    backend,
    localApi,
    retention,
    locked: () => lock.locked,
    async shutdown() {
      await localApi.stop();
      await retention.stop();
      await documents.shutdown();
      await summaries.shutdown();
      // An evaluation first: it stops its own task run as cancelled (resumable with the evaluation).
      await evals!.shutdown();
      await tasks.shutdown();
      await chat.shutdown();
      await indexer.shutdown();
      await reranker.dispose();
      await searchReader.close();
      await engine.dispose();
      db.close();
    },
  };
}
