// The one contract between renderer and main: every method's input schema and output type.
// Main validates every input against these schemas before a service sees it; the renderer
// imports the types only.
import { z } from 'zod';
import type { MethodNameFromList } from './method-names.ts';
import { SUMMARY_KINDS } from './types.ts';
import type {
  BackendView,
  LocalApiView,
  ServerCheck,
  LockStatus,
  AuditCheck,
  AuditPage,
  AdapterInfo,
  ModelFit,
  ModelMeasure,
  EvalQuestion,
  EvalRun,
  EvalRunDetail,
  AppInfo,
  Assistant,
  AssistantTemplateInfo,
  Collection,
  RetentionOutcome,
  ExportedRecord,
  IdentifierCandidate,
  RetentionPlan,
  Conversation,
  ConversationDetail,
  ConversationSummary,
  DocumentImport,
  DocumentInfo,
  DocumentPage,
  EngineStatus,
  IndexStatus,
  Message,
  ModelInfo,
  ModelLibrary,
  SearchHit,
  SentTurn,
  Settings,
  Summary,
  TaskCell,
  TaskDefinition,
  TaskRun,
  TaskRunDetail,
} from './types.ts';

const id = z.string().min(1).max(64);
/** Days kept: at least one, at most 100 years; null keeps forever. */
const retentionDays = z.number().int().min(1).max(36_500).nullable();
const recordTarget = z.discriminatedUnion('what', [
  z.object({ what: z.literal('conversation'), conversationId: id }).strict(),
  z.object({ what: z.literal('summary'), summaryId: id }).strict(),
  z.object({ what: z.literal('task'), runId: id }).strict(),
]);
const retentionRule = z.object({ documentDays: retentionDays, conversationDays: retentionDays }).strict();
const empty = z.object({}).strict();
const conversationRef = z.object({ conversationId: id }).strict();
const documentRef = z.object({ documentId: id }).strict();
const runRef = z.object({ runId: id }).strict();
export const MAX_MESSAGE_CHARS = 200_000;
/** A file the user chose, as main's one-time handle: never a path. */
const fileHandle = z.string().regex(/^f_[A-Za-z0-9_-]{20,40}$/, 'a file handle (Enclave never takes a file path from the window)');
const evalQuestionFields = z
  .object({
    question: z.string().trim().min(1, 'A question cannot be empty.').max(4000),
    expected: z.string().trim().max(2000),
    pages: z.array(z.number().int().min(1).max(1_000_000)).max(200),
    shouldRefuse: z.boolean(),
  })
  .strict();
const messageText = z.string().trim().min(1, 'A message cannot be empty.').max(MAX_MESSAGE_CHARS);

export const settingsPatchSchema = z
  .object({
    threads: z.number().int().min(0).max(256),
    contextSize: z.number().int().min(512).max(262_144),
    temperature: z.number().min(0).max(2),
    topP: z.number().gt(0).max(1),
    maxTokens: z.number().int().min(16).max(65_536),
    gpu: z.enum(['auto', 'off']),
    allowGeneralAnswers: z.boolean(),
  })
  .partial()
  .strict();

export const MAX_ASSISTANT_PROMPT_CHARS = 20_000;

export const assistantFieldsSchema = z
  .object({
    name: z.string().trim().min(1, 'An assistant needs a name.').max(80),
    description: z.string().max(400),
    color: z.string().regex(/^#[0-9a-fA-F]{6}$/, 'a colour like #2f7d6d'),
    domain: z.string().trim().min(1).max(40),
    systemPrompt: z.string().max(MAX_ASSISTANT_PROMPT_CHARS, `The instructions are too long: at most ${MAX_ASSISTANT_PROMPT_CHARS.toLocaleString('en')} characters.`),
    temperature: z.number().min(0).max(2).nullable(),
    topP: z.number().gt(0).max(1).nullable(),
    maxTokens: z.number().int().min(16).max(65_536).nullable(),
    answerOnlyFromDocuments: z.boolean(),
    collectionIds: z.array(id).max(50),
    summaryKinds: z.array(z.enum(SUMMARY_KINDS)).max(SUMMARY_KINDS.length),
    adapters: z.array(z.object({ adapterId: id, scale: z.number().min(0).max(4) }).strict()).max(8).default([]),
    preferredModel: z.object({ sha256: z.string().regex(/^[0-9a-f]{64}$/), name: z.string().max(200) }).strict().nullable().default(null),
    contextSize: z.number().int().min(512).max(262_144).nullable().default(null),
  })
  .strict();

export type AssistantFieldsInput = z.input<typeof assistantFieldsSchema>;

/** The fields of an assistant a user edits (what assistants.update takes). */
export function editableFields(a: Assistant): AssistantFieldsInput {
  const { name, description, color, domain, systemPrompt, temperature, topP, maxTokens, answerOnlyFromDocuments, collectionIds, summaryKinds, adapters, preferredModel, contextSize } = a;
  return { name, description, color, domain, systemPrompt, temperature, topP, maxTokens, answerOnlyFromDocuments, collectionIds, summaryKinds, adapters, preferredModel, contextSize };
}

/** Declares a method: its input schema now, its output type as a phantom. */
function method<Output>() {
  return <Input extends z.ZodType>(input: Input) => ({ input, output: undefined as unknown as Output });
}

export const methods = {
  'app.info': method<AppInfo>()(empty),

  'settings.get': method<Settings>()(empty),
  'settings.update': method<Settings>()(settingsPatchSchema),

  'models.list': method<ModelLibrary>()(empty),
  'models.add': method<ModelInfo>()(z.object({ file: fileHandle }).strict()),
  'models.remove': method<ModelLibrary>()(z.object({ modelId: id }).strict()),
  'models.activate': method<EngineStatus>()(z.object({ modelId: id }).strict()),
  /** Each model's speed as measured here, by model id. */
  'models.rename': method<ModelLibrary>()(z.object({ modelId: id, name: z.string().min(1).max(200) }).strict()),
  /** Memory the model needs with the context it would get (the settings' context size, or `contextSize`). */
  'models.estimate': method<ModelFit>()(z.object({ modelId: id, contextSize: z.number().int().min(256).max(1_048_576).optional() }).strict()),
  'models.measured': method<Record<string, ModelMeasure>>()(empty),
  'models.unload': method<EngineStatus>()(empty),

  'engine.status': method<EngineStatus>()(empty),

  'conversations.list': method<ConversationSummary[]>()(empty),
  'conversations.create': method<Conversation>()(
    z.object({ title: z.string().max(200).optional(), systemPrompt: z.string().max(20_000).optional(), assistantId: id.optional() }).strict(),
  ),
  'conversations.get': method<ConversationDetail>()(conversationRef),
  'conversations.rename': method<Conversation>()(
    z.object({ conversationId: id, title: z.string().trim().min(1).max(200) }).strict(),
  ),
  'conversations.setSystemPrompt': method<Conversation>()(
    z.object({ conversationId: id, systemPrompt: z.string().max(20_000) }).strict(),
  ),
  'conversations.delete': method<{ deleted: true }>()(conversationRef),
  'conversations.attachDocument': method<DocumentInfo[]>()(z.object({ conversationId: id, documentId: id }).strict()),
  'conversations.detachDocument': method<DocumentInfo[]>()(z.object({ conversationId: id, documentId: id }).strict()),
  'conversations.search': method<SearchHit[]>()(
    z.object({ query: z.string().max(500), limit: z.number().int().min(1).max(200).optional() }).strict(),
  ),

  'documents.list': method<DocumentInfo[]>()(empty),
  'documents.import': method<DocumentImport>()(z.object({ file: fileHandle }).strict()),
  'documents.get': method<DocumentInfo>()(documentRef),
  'documents.page': method<DocumentPage>()(
    z.object({ documentId: id, pageNumber: z.number().int().min(1).max(1_000_000) }).strict(),
  ),
  'documents.unlock': method<DocumentInfo>()(z.object({ documentId: id, password: z.string().min(1).max(1024) }).strict()),
  'documents.cancel': method<{ cancelled: boolean }>()(documentRef),
  'documents.delete': method<{ deleted: true }>()(documentRef),

  'summaries.start': method<Summary>()(z.object({ documentId: id, kind: z.enum(SUMMARY_KINDS) }).strict()),
  'summaries.list': method<Summary[]>()(documentRef),
  'summaries.cancel': method<{ cancelled: boolean }>()(z.object({ summaryId: id }).strict()),
  'summaries.delete': method<{ deleted: true }>()(z.object({ summaryId: id }).strict()),

  'collections.list': method<Collection[]>()(empty),
  'collections.create': method<Collection>()(z.object({ name: z.string().trim().min(1).max(120) }).strict()),
  'collections.rename': method<Collection>()(z.object({ collectionId: id, name: z.string().trim().min(1).max(120) }).strict()),
  'collections.delete': method<{ deleted: true }>()(z.object({ collectionId: id }).strict()),
  'collections.setMembership': method<Collection>()(z.object({ collectionId: id, documentId: id, member: z.boolean() }).strict()),
  /** What saving this rule, or this hold, would delete now (nothing is changed). */
  'collections.planRetention': method<RetentionPlan>()(z.object({ collectionId: id, retention: retentionRule.optional(), legalHold: z.boolean().optional() }).strict()),
  'collections.setRetention': method<RetentionOutcome>()(z.object({ collectionId: id, retention: retentionRule }).strict()),
  /** A reason places a hold (or changes its reason); null releases it. */
  'collections.setLegalHold': method<RetentionOutcome>()(z.object({ collectionId: id, reason: z.string().trim().min(1).max(300).nullable() }).strict()),
  'conversations.setCollections': method<string[]>()(z.object({ conversationId: id, collectionIds: z.array(id).max(50) }).strict()),
  'retrieval.status': method<IndexStatus>()(empty),
  /** Pauses embedding passages (keyword search still covers them all); resume goes on where it stopped. */
  'retrieval.pause': method<IndexStatus>()(empty),
  'retrieval.resume': method<IndexStatus>()(empty),
  'models.setEmbedding': method<IndexStatus>()(z.object({ modelId: id.nullable() }).strict()),
  /** A reranking model orders each search's best candidates; null stops reranking. */
  'models.setReranker': method<IndexStatus>()(z.object({ modelId: id.nullable() }).strict()),

  'assistants.list': method<Assistant[]>()(empty),
  'assistants.templates': method<AssistantTemplateInfo[]>()(empty),
  'assistants.create': method<Assistant>()(
    z.union([
      z.object({ template: z.object({ packId: z.string().min(1).max(64), key: z.string().min(1).max(64) }).strict() }).strict(),
      z.object({ fields: assistantFieldsSchema }).strict(),
    ]),
  ),
  'assistants.update': method<Assistant>()(z.object({ assistantId: id, fields: assistantFieldsSchema }).strict()),
  'assistants.duplicate': method<Assistant>()(z.object({ assistantId: id }).strict()),
  'assistants.delete': method<{ deleted: true; movedConversations: number }>()(z.object({ assistantId: id }).strict()),
  /** The file's text (JSON), for the renderer to save; nothing is written by main. */
  'assistants.export': method<{ fileName: string; text: string }>()(z.object({ assistantId: id }).strict()),
  /** The file's text as read by the renderer: never a path. */
  'assistants.import': method<{ assistant: Assistant; missing: string[] }>()(z.object({ text: z.string().min(1).max(1_000_000) }).strict()),

  'adapters.list': method<AdapterInfo[]>()(empty),
  'adapters.add': method<AdapterInfo>()(z.object({ file: fileHandle }).strict()),
  'adapters.remove': method<{ removed: true }>()(z.object({ adapterId: id }).strict()),

  'tasks.definitions': method<TaskDefinition[]>()(empty),
  'tasks.start': method<TaskRun>()(
    z
      .object({
        packId: z.string().min(1).max(64),
        key: z.string().min(1).max(64),
        scope: z.union([
          z.object({ documentIds: z.array(id).min(1, 'Choose at least one document.').max(2000) }).strict(),
          z.object({ collectionId: id }).strict(),
          z.object({ conversationId: id }).strict(),
        ]),
      })
      .strict(),
  ),
  'tasks.runs': method<TaskRun[]>()(empty),
  'tasks.get': method<TaskRunDetail>()(runRef),
  'tasks.cancel': method<{ cancelled: boolean }>()(runRef),
  'tasks.resume': method<TaskRun>()(runRef),
  'tasks.delete': method<{ deleted: true }>()(runRef),
  /** A person's correction of a cell; an empty value takes it back. */
  'tasks.editCell': method<TaskCell>()(z.object({ cellId: id, value: z.string().max(2000) }).strict()),
  /** The table as a file's bytes (base64), for the renderer to save; main writes nothing. */
  'tasks.export': method<{ fileName: string; mimeType: string; base64: string }>()(z.object({ runId: id, format: z.enum(['csv', 'xlsx']) }).strict()),

  'evals.questions': method<EvalQuestion[]>()(z.object({ assistantId: id }).strict()),
  'evals.addQuestion': method<EvalQuestion>()(z.object({ assistantId: id, fields: evalQuestionFields }).strict()),
  'evals.updateQuestion': method<EvalQuestion>()(z.object({ questionId: id, fields: evalQuestionFields }).strict()),
  'evals.deleteQuestion': method<{ deleted: true }>()(z.object({ questionId: id }).strict()),
  /** Questions from a CSV file's text (columns: question, expected, pages, should_refuse), added to the set. */
  'evals.importCsv': method<{ added: number; questions: EvalQuestion[] }>()(z.object({ assistantId: id, text: z.string().min(1).max(5_000_000) }).strict()),
  'evals.template': method<{ fileName: string; text: string }>()(empty),
  'evals.start': method<EvalRun>()(
    z
      .object({
        assistantId: id,
        modelIds: z.array(id).min(1, 'Choose at least one model.').max(6, 'Compare at most six models at a time.'),
        withAdapters: z.boolean(),
      })
      .strict(),
  ),
  /** Runs a corrected task table's task again with each model on its documents, scored cell by cell. */
  'evals.startTask': method<EvalRun>()(
    z.object({ assistantId: id, referenceRunId: id, modelIds: z.array(id).min(1, 'Choose at least one model.').max(6, 'Compare at most six models at a time.') }).strict(),
  ),
  'evals.runs': method<EvalRun[]>()(z.object({ assistantId: id }).strict()),
  'evals.get': method<EvalRunDetail>()(runRef),
  'evals.cancel': method<{ cancelled: boolean }>()(runRef),
  'evals.resume': method<EvalRun>()(runRef),
  'evals.delete': method<{ deleted: true }>()(runRef),
  /** The scoreboard and answers as a file's bytes (base64): a CSV of every answer, or a Markdown report. */
  'evals.export': method<{ fileName: string; mimeType: string; base64: string }>()(z.object({ runId: id, format: z.enum(['csv', 'markdown']) }).strict()),

  'chat.send': method<SentTurn>()(z.object({ conversationId: id, text: messageText }).strict()),
  'chat.edit': method<SentTurn>()(z.object({ messageId: id, text: messageText }).strict()),
  'chat.regenerate': method<Message>()(conversationRef),
  /** Goes on with the last reply where it stopped at the length limit. */
  'chat.continue': method<Message>()(conversationRef),
  'chat.stop': method<{ stopped: boolean }>()(conversationRef),

  /** Where answers are computed: this computer or an office server (its key is never returned). */
  'backend.get': method<BackendView>()(empty),
  'backend.check': method<ServerCheck>()(z.object({ baseUrl: z.string().min(1).max(2048), apiKey: z.string().max(4096).nullable() }).strict()),
  'backend.set': method<BackendView>()(
    z.discriminatedUnion('kind', [
      z.object({ kind: z.literal('local') }).strict(),
      z
        .object({
          kind: z.literal('server'),
          baseUrl: z.string().min(1).max(2048),
          apiKey: z.string().max(4096).nullable(),
          model: z.string().min(1).max(512),
          embeddingModel: z.string().min(1).max(512).nullable(),
        })
        .strict(),
    ]),
  ),
  /** Enclave's own OpenAI-compatible API for other programs of this computer (or the office). */
  'api.get': method<LocalApiView>()(empty),
  'api.set': method<LocalApiView>()(z.object({ enabled: z.boolean(), host: z.enum(['127.0.0.1', '0.0.0.0']), port: z.number().int().min(1024).max(65535) }).strict()),
  'api.newToken': method<LocalApiView>()(empty),

  /** The app lock (lock passphrase, idle minutes). While locked, only these answer. */
  'lock.status': method<LockStatus>()(empty),
  'lock.configure': method<LockStatus>()(
    z.object({ passphrase: z.string().min(1).max(1024), idleMinutes: z.number().int().min(0).max(1440), current: z.string().max(1024).optional() }).strict(),
  ),
  'lock.disable': method<LockStatus>()(z.object({ current: z.string().max(1024) }).strict()),
  'lock.lock': method<LockStatus>()(z.object({ reason: z.enum(['idle', 'asked']) }).strict()),
  'lock.unlock': method<LockStatus>()(z.object({ passphrase: z.string().max(1024) }).strict()),

  /** The audit trail, newest first; `action` is an action or a group ("document"). */
  'audit.list': method<AuditPage>()(
    z
      .object({
        action: z.string().regex(/^[a-z]+(\.[a-z-]+)?$/).max(40).optional(),
        text: z.string().max(200).optional(),
        beforeSeq: z.number().int().positive().optional(),
        limit: z.number().int().min(1).max(500).optional(),
      })
      .strict(),
  ),
  /** Checks every entry's seal, in order, and the last against the seal kept beside the database. */
  'audit.verify': method<AuditCheck>()(empty),
  /** The whole trail as JSON Lines (base64), with each entry's seal. */
  'audit.export': method<{ fileName: string; mimeType: string; base64: string }>()(empty),
  /** Personal identifiers found in a record by patterns, for review before a redacted export. */
  'records.identifiers': method<IdentifierCandidate[]>()(z.object({ target: recordTarget }).strict()),
  /** A conversation, summary or task table as a record (Markdown, Word or PDF), with the approved terms redacted. */
  'records.export': method<ExportedRecord>()(
    z.object({ target: recordTarget, format: z.enum(['markdown', 'docx', 'pdf']), redact: z.array(z.string().trim().min(2).max(200)).max(500) }).strict(),
  ),
} as const;

export type Methods = typeof methods;
export type MethodName = keyof Methods;
export type MethodInput<M extends MethodName> = z.input<Methods[M]['input']>;
export type ParsedInput<M extends MethodName> = z.output<Methods[M]['input']>;
export type MethodOutput<M extends MethodName> = Methods[M]['output'];
export const methodNames = Object.keys(methods) as MethodName[];

// Compile-time proof that method-names.ts lists exactly the contract's methods.
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const namesMatch: Same<MethodName, MethodNameFromList> = true;
void namesMatch;
