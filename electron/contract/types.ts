// Shapes that cross the boundary (outputs and events). Inputs are declared as schemas in methods.ts.
import type { AppError } from './errors.ts';

export type GpuMode = 'auto' | 'off';

export interface Settings {
  /** CPU threads for inference; 0 means "physical cores". */
  threads: number;
  contextSize: number;
  temperature: number;
  topP: number;
  maxTokens: number;
  gpu: GpuMode;
  /** When the documents do not answer: false says so; true answers generally, marked as such. */
  allowGeneralAnswers: boolean;
}

/** Where answers are computed, as the window sees it (never the API key itself). */
export interface BackendView {
  kind: 'local' | 'server';
  baseUrl: string | null;
  model: string | null;
  /** The server's model used for search by meaning; null: this computer's (or none). */
  embeddingModel: string | null;
  hasApiKey: boolean;
  /** The server's host as the title bar names it. */
  label: string | null;
}

export type BackendChoice =
  | { kind: 'local' }
  /** apiKey null or empty keeps the key saved for the same address. */
  | { kind: 'server'; baseUrl: string; apiKey: string | null; model: string; embeddingModel: string | null };

/** What "Check connection" found. */
export interface ServerCheck {
  label: string;
  baseUrl: string;
  models: { id: string }[];
  contextSize: number | null;
  slots: number | null;
  /** The server counts tokens itself (/tokenize). */
  tokenizer: boolean;
}

/** Enclave's own OpenAI-compatible API on this computer (opt-in). */
export interface LocalApiView {
  enabled: boolean;
  /** 127.0.0.1 by default; 0.0.0.0 lets other computers of the network use it. */
  host: string;
  port: number;
  /** The bearer token its callers must send. */
  token: string;
  /** Where it listens while on; null while off or when it could not start. */
  url: string | null;
  error: string | null;
}

export interface AppInfo {
  version: string;
  mode: 'electron' | 'web';
  dataDir: string;
  physicalCores: number;
  /** What the user must know from the start (a bundled model refused by its checksum). */
  notices: string[];
}

export interface ModelInfo {
  id: string;
  path: string;
  fileName: string;
  name: string;
  architecture: string;
  parameterCount: number;
  quantization: string;
  contextLength: number | null;
  fileSize: number;
  /** The file's SHA-256, once computed (in the background after it is added); null until then. */
  sha256: string | null;
  /** What it is for, from its GGUF: a chat model, or an embedding model (search by meaning). Null until read. */
  kind: ModelKind | null;
  addedAt: number;
}

export type ModelKind = 'chat' | 'embedding' | 'reranker';

/** Whether a model fits in this computer's memory with the context it would get, estimated before loading. */
export interface ModelFit {
  contextSize: number;
  /** Weights. */
  modelBytes: number;
  /** KV cache and compute buffers of the context. */
  contextBytes: number;
  totalBytes: number;
  /** Memory the system can give now. */
  availableBytes: number;
  /** fits: comfortably; tight: it runs, slowly if other programs need memory; too-large: it will not run well. */
  verdict: 'fits' | 'tight' | 'too-large';
}

/** A model's speed as measured on this computer: its replies, and its evaluation answers. */
export interface ModelMeasure {
  /** Median over its recent replies (chat and evaluations). */
  tokensPerSecond: number | null;
  replies: number;
  /** Median time to the first words of its evaluation answers (retrieval included). */
  firstTokenMs: number | null;
  evaluated: number;
}

export interface ModelLibrary {
  models: ModelInfo[];
  activeModelId: string | null;
}

export type EngineState = 'no-model' | 'loading' | 'ready' | 'generating' | 'error';

export interface EngineStatus {
  state: EngineState;
  modelId: string | null;
  /** 0..1 while loading. */
  loadProgress: number;
  contextSize: number | null;
  threads: number | null;
  busyConversationId: string | null;
  /** The generation in progress is background work (a task): a person's message may still be sent; it goes next. */
  background: boolean;
  error: AppError | null;
  /** Answers come from an office server (its host and model) instead of this computer; null on this computer. */
  server: { label: string; model: string } | null;
}

/** The assistant every conversation falls back to; it cannot be deleted. */
export const GENERAL_ASSISTANT_ID = 'general';

/**
 * A domain assistant: how a conversation is answered. Generation settings left null follow the
 * app's settings.
 */
export interface Assistant {
  id: string;
  name: string;
  description: string;
  /** '#rrggbb' */
  color: string;
  domain: string;
  systemPrompt: string;
  temperature: number | null;
  topP: number | null;
  maxTokens: number | null;
  /** Never answers from the model's general knowledge: without documents, it says so. */
  answerOnlyFromDocuments: boolean;
  /** Collections new conversations with it answer from (its matter or patient library). */
  collectionIds: string[];
  /** The summary kinds it offers first. */
  summaryKinds: SummaryKind[];
  /** The model it was set up with, by the file's SHA-256 and name; the active model is used when it is missing. */
  preferredModel: { sha256: string; name: string } | null;
  /** Its own context size (tokens), or null for the app's setting. */
  contextSize: number | null;
  /** LoRA adapters applied to the model for its conversations, in order, each with its scale. */
  adapters: { adapterId: string; scale: number }[];
  /** The pack and template it was made from, if any, and what model that pack was written for. */
  origin: { packId: string; packName: string; key: string; modelHint: { parameters: string; kind: string; note?: string } } | null;
  conversationCount: number;
  createdAt: number;
  updatedAt: number;
}

/** A GGUF LoRA adapter in the library. */
export interface AdapterInfo {
  id: string;
  name: string;
  fileName: string;
  architecture: string;
  fileSize: number;
  sha256: string;
  addedAt: number;
}

/** A pack's assistant, offered as a starting point for a new one. */
export interface AssistantTemplateInfo {
  packId: string;
  packName: string;
  key: string;
  name: string;
  description: string;
  color: string;
  modelHint: { parameters: string; kind: string; note?: string };
}

export interface Conversation {
  id: string;
  assistantId: string;
  title: string;
  systemPrompt: string;
  createdAt: number;
  updatedAt: number;
}

/** The engine's state before any model is loaded (also the renderer's first view of it). */
export const NO_MODEL_STATUS: EngineStatus = {
  state: 'no-model',
  modelId: null,
  loadProgress: 0,
  contextSize: null,
  threads: null,
  busyConversationId: null,
  background: false,
  error: null,
  server: null,
};

export interface ConversationSummary extends Conversation {
  messageCount: number;
  preview: string;
}

export type MessageRole = 'user' | 'assistant';
/** streaming: being written now. interrupted: the app stopped while it streamed (crash, quit). */
export type MessageStatus = 'complete' | 'streaming' | 'stopped' | 'interrupted' | 'error';

export interface Message {
  id: string;
  conversationId: string;
  role: MessageRole;
  content: string;
  status: MessageStatus;
  createdAt: number;
  tokenCount: number | null;
  tokensPerSecond: number | null;
  durationMs: number | null;
  /** Tokens in the model's context after this reply, out of contextSize. */
  contextTokens: number | null;
  contextSize: number | null;
  modelName: string | null;
  error: string | null;
  /** The reply stopped at the longest reply allowed (Settings), not where the model ended it: it can be continued. */
  cutOff: boolean;
  /** Checked sources of a grounded answer, by citation number. */
  sources: MessageSource[];
  /** Citations that failed the check: not shown as sources (recorded). */
  citationFailures: number;
  /** For an answer from documents: what supports each sentence. Null for plain chat. */
  grounding: AnswerGrounding | null;
}

/**
 * verified: linked to a source whose words support it. unsupported: nothing in the documents
 * given to the model supports it (shown marked). refusal: says the documents do not answer.
 */
/**
 * verified: its words are in a passage that supports it; unsupported: not (marked); refusal: it
 * says the documents do not answer; question: it asks something and asserts nothing, so it is
 * neither checked nor marked.
 */
export type SentenceSupport = 'verified' | 'unsupported' | 'refusal' | 'question';

export interface AnswerSentence {
  /** Characters of the message content. */
  start: number;
  end: number;
  support: SentenceSupport;
  /** The source (MessageSource.number) that supports it, when verified. */
  source: number | null;
}

export interface AnswerGrounding {
  sentences: AnswerSentence[];
  /** Sources offered as what the documents say, when the answer is not wholly supported. */
  evidence: number[];
  /**
   * Share of the question's words found in the best of those passages (0–1): below one half they
   * are the closest passages, not necessarily an answer, and are presented as such.
   */
  evidenceCoverage: number;
  /**
   * The best of them holds the question's key terms: they answer it, and lead the reply when no
   * sentence of the model's is verified. False: they are only the closest, and said to be.
   * Absent on answers from before this was kept (evidenceCoverage decides there).
   */
  evidenceAnswers?: boolean;
  /** Citations the model wrote in the requested format (checked or not). */
  modelCitations: number;
  /** How the passages given to the model were found; null for answers from before this was kept. */
  search?: AnswerSearch | null;
}

/** What a reply from documents is doing before its first words: shown in its place meanwhile. */
export type ReplyStage =
  | { kind: 'searching' }
  | { kind: 'reranking'; model: string; passages: number }
  | { kind: 'reading'; passages: number };

/** How one answer's passages were found, as it happened (not the settings of today). */
export interface AnswerSearch {
  /** hybrid: words and meaning (embedding model); keyword: words only. */
  mode: 'hybrid' | 'keyword';
  /** The reranking model that ordered the passages; null when they were not reranked. */
  rerankedBy: string | null;
  /** A reranking model was in use but failed on this search: the passages are in the fused order. */
  rerankFailed: boolean;
}

export interface MessageSource {
  number: number;
  documentId: string;
  documentTitle: string;
  pageNumber: number;
  charStart: number;
  charEnd: number;
  /** The passage the model was given. */
  passage: string;
  /** The words that support the answer (checked to be in the passage); charStart–charEnd are theirs on the page. */
  quote: string | null;
}

export interface Collection {
  id: string;
  name: string;
  createdAt: number;
  documentIds: string[];
  retention: RetentionRule;
  /** While set, nothing the collection holds is deleted, by the rule or by hand. */
  legalHold: LegalHold | null;
}

/** How long a collection keeps what it holds; null: forever. */
export interface RetentionRule {
  /** Documents are deleted this many days after they were added. */
  documentDays: number | null;
  /** Conversations that answer from the collection are deleted this many days after their last message. */
  conversationDays: number | null;
}

export interface LegalHold {
  reason: string;
  /** Milliseconds since the epoch. */
  since: number;
}

/** A document or conversation a retention rule deletes (or would, but for a legal hold). */
export interface RetentionItem {
  kind: 'document' | 'conversation';
  id: string;
  title: string;
  /** When the document was added, or the conversation last had a message. */
  since: number;
  /** The days it is kept: the longest rule among its collections. */
  days: number;
  /** The collections whose rules apply to it. */
  collections: string[];
  /** The collections whose legal hold keeps it (empty: it is deleted). */
  heldBy: string[];
}

/** What a retention rule or hold change would do now: what is deleted, and what a hold keeps. */
export interface RetentionPlan {
  due: RetentionItem[];
  held: RetentionItem[];
}

export interface RetentionOutcome {
  collection: Collection;
  /** What was deleted at once because of the change. */
  deleted: RetentionItem[];
}

export interface IndexStatus {
  state: 'idle' | 'chunking' | 'embedding' | 'loading-model';
  chunks: number;
  embedded: number;
  embeddingModelId: string | null;
  embeddingModelName: string | null;
  dimensions: number | null;
  /** Passages the embedding model could not take: found by keywords only. */
  skipped: number;
  skippedReason: string | null;
  error: string | null;
  /** The user paused embedding (keyword search still covers every passage). */
  paused: boolean;
  /** Time left to embed the rest, from the pace so far (while embedding). */
  etaMs: number | null;
  /** The reranking model that orders the best candidates of each search; null: none. */
  rerankModelId: string | null;
  rerankModelName: string | null;
  /** The check of an 8-bit copy of the embedding model for questions; null: none was made. */
  questionCopy: QuestionCopyCheck | null;
}

/** An 8-bit copy of a 16- or 32-bit embedding model, checked before it embeds questions. */
export interface QuestionCopyCheck {
  quantization: 'Q8_0';
  /** Worst cosine between its question vectors and the model's own, over the probes. */
  agreement: number;
  /** Milliseconds to embed a 48-token question: the model's way and the copy's. */
  modelMs: number;
  copyMs: number;
  /** Whether questions are embedded by it (it agrees, and it is faster here). */
  used: boolean;
}

export interface ConversationDetail {
  conversation: Conversation;
  messages: Message[];
  /** Documents shared with this conversation. */
  documents: DocumentInfo[];
  /** Collections its answers come from (grounded answers); empty for plain chat. */
  collectionIds: string[];
}

export interface SnippetPart {
  text: string;
  match: boolean;
}

export interface SearchHit {
  conversationId: string;
  conversationTitle: string;
  messageId: string;
  role: MessageRole;
  snippet: SnippetPart[];
  createdAt: number;
}

export interface SentTurn {
  userMessage: Message;
  assistantMessage: Message;
}

export type DocumentKind = 'pdf' | 'docx' | 'text' | 'markdown' | 'html' | 'xlsx' | 'odt' | 'rtf' | 'email' | 'image' | 'xml';
/** reading: being read (or to be resumed after a crash); needs-password: an encrypted PDF. */
export type DocumentStatus = 'reading' | 'needs-password' | 'ready' | 'failed';

export interface DocumentInfo {
  id: string;
  title: string;
  fileName: string;
  kind: DocumentKind;
  sizeBytes: number;
  /** True when page numbers are the document's own (PDF, Word); false for text split into parts. */
  paginated: boolean;
  pageCount: number;
  /** Pages whose text was read by OCR (scans). */
  ocrPages: number;
  status: DocumentStatus;
  error: string | null;
  /** Something the user should know that is not an error (e.g. the extension did not match). */
  notice: string | null;
  /** What reading could not take in, and where (pictures, pages past the cap, undecodable text…). */
  notices: string[];
  /** The document this one came with (an e-mail it was attached to), and its title. */
  parentId: string | null;
  parentTitle: string | null;
  createdAt: number;
  updatedAt: number;
}

export interface DocumentPage {
  documentId: string;
  pageNumber: number;
  pageCount: number;
  text: string;
  ocr: boolean;
  /** How sure OCR was of this page's text (0–100), when it was read by OCR. */
  ocrConfidence: number | null;
}

/** Below this OCR confidence a page is flagged in the reader: its words may be misread. */
export const LOW_OCR_CONFIDENCE = 70;

export interface DocumentImport {
  document: DocumentInfo;
  /** The same content was already in the library: nothing new was stored. */
  duplicate: boolean;
}

export interface DocumentProgress {
  documentId: string;
  pagesRead: number;
  pageCount: number | null;
}

export const SUMMARY_KINDS = ['brief', 'detailed', 'key-points', 'clinical', 'legal'] as const;
export type SummaryKind = (typeof SUMMARY_KINDS)[number];
export const SUMMARY_KIND_LABELS: Record<SummaryKind, string> = {
  brief: 'Brief',
  detailed: 'Detailed',
  'key-points': 'Key points',
  clinical: 'Clinical: history, findings, medications, plan',
  legal: 'Legal: parties, dates, obligations, risks',
};
export type SummaryStatus = 'running' | 'complete' | 'stopped' | 'failed' | 'interrupted';

export interface SummarySection {
  firstPage: number;
  lastPage: number;
  text: string;
}

export interface Summary {
  id: string;
  documentId: string;
  kind: SummaryKind;
  status: SummaryStatus;
  /** Markdown; every point ends with the pages it came from, e.g. [p. 12–13]. */
  content: string;
  sections: SummarySection[];
  modelName: string | null;
  error: string | null;
  durationMs: number | null;
  /** Of durationMs, the time spent inside the model. */
  modelMs: number | null;
  createdAt: number;
}

export interface SummaryProgress {
  summaryId: string;
  documentId: string;
  stage: 'sections' | 'combining';
  step: number;
  steps: number;
  /** The whole summary as one count of model passes (sections, then every combining level), estimated ahead. */
  overallStep: number;
  overallSteps: number;
  /** Time left, from the passes done so far; null until one is done. */
  etaMs: number | null;
}

/** One field of a task's output: a column of its table. */
export interface TaskField {
  key: string;
  label: string;
  /** What the field holds, as the prompt and the table header explain it. */
  description: string;
  /** Words and phrases the passage that states it usually contains (to find the pages to read). */
  hints: string[];
  /** What a verified value must look like: a date names a day, month or year; a number (a period, a dose) has a number. */
  kind: 'text' | 'date' | 'number';
}

/**
 * A task of an assistant pack. 'record': one value per field per document (a clause table);
 * 'list': any number of items per document, each with its fields (a medication list);
 * 'prose': cited points written by the model, each checked against the page it came from.
 */
export interface TaskDefinition {
  packId: string;
  packName: string;
  domain: string;
  key: string;
  name: string;
  description: string;
  output: 'record' | 'list' | 'prose';
  /** Instructions a careful practitioner would give (the model's system prompt for the task). */
  instructions: string;
  fields: TaskField[];
  /** For lists: words the passages listing items usually contain. */
  itemHints: string[];
}

export type TaskScope = { documentIds: string[] } | { collectionId: string } | { conversationId: string };
export type TaskRunStatus = 'running' | 'complete' | 'cancelled' | 'interrupted' | 'failed';

export interface TaskRun {
  id: string;
  packId: string;
  taskKey: string;
  taskName: string;
  output: TaskDefinition['output'];
  /** The fields as they were when the run started (the table's columns). */
  fields: TaskField[];
  /** What it ran on, in words ("3 documents", "Collection “Leases”"). */
  scopeLabel: string;
  status: TaskRunStatus;
  /** Documents in the run, finished (done or failed), and failed. */
  total: number;
  finished: number;
  failed: number;
  /** Estimated time left, from the documents done so far (running runs only). */
  etaMs: number | null;
  /** The document being read now. */
  currentDocument: string | null;
  modelName: string | null;
  error: string | null;
  createdAt: number;
  finishedAt: number | null;
}

export type TaskRowStatus = 'pending' | 'running' | 'done' | 'failed';

/**
 * 'verified': the quoted words are on the cited page and the value is in them.
 * 'unverified': the model gave a value that could not be checked (see reason).
 * 'not-stated': no sentence of the document has the field's words (checked by search, not by the model).
 * 'not-found': the model gave no usable answer (output cut off or not valid), or found none in
 *   sentences that have the field's words (the likeliest is quoted, unchecked, for a person to judge).
 */
export type TaskCellStatus = 'verified' | 'unverified' | 'not-stated' | 'not-found';

export interface TaskCell {
  id: string;
  /** Item number within the row (0 for a record task). */
  item: number;
  fieldKey: string;
  value: string | null;
  status: TaskCellStatus;
  /** Why it is unverified, not stated or not found. */
  reason: string | null;
  quote: string | null;
  page: number | null;
  /** The quoted words on the page: character offsets in the page's text. */
  charStart: number | null;
  charEnd: number | null;
  /** Pages the model read for this field. */
  pagesRead: number[];
  /** A person's correction, kept beside what the model wrote. */
  edited: { value: string; by: string; at: number } | null;
}

export interface TaskRow {
  id: string;
  documentId: string;
  documentTitle: string;
  position: number;
  status: TaskRowStatus;
  error: string | null;
  /** Items found (list tasks); 1 for a record. */
  items: number;
  pagesRead: number[];
  durationMs: number | null;
  cells: TaskCell[];
}

export interface TaskRunDetail {
  run: TaskRun;
  rows: TaskRow[];
}

// Evaluations: an assistant's questions asked of several models through its real answer path.

/** A question of an assistant's evaluation set, with what a right answer holds. */
export interface EvalQuestion {
  id: string;
  assistantId: string;
  position: number;
  question: string;
  /** Words a right answer contains (all, any case; separated by ";"), or a /pattern/. Empty: not checked. */
  expected: string;
  /** Pages that hold the answer, in any of the assistant's documents. Empty: not checked. */
  pages: number[];
  /** The documents do not say: the right answer is to say so. */
  shouldRefuse: boolean;
}

export interface EvalQuestionFields {
  question: string;
  expected: string;
  pages: number[];
  shouldRefuse: boolean;
}

/** A model as a run compared it: kept by name and SHA-256 (the result outlives the file). */
export interface EvalModelRef {
  modelId: string;
  name: string;
  sha256: string | null;
}

export type EvalRunStatus = 'running' | 'complete' | 'cancelled' | 'interrupted' | 'failed';

export interface EvalRun {
  id: string;
  /** 'questions': the assistant's set; 'task': a task run again by each model, scored against a corrected table. */
  kind: 'questions' | 'task';
  /** For a task evaluation: the task and the corrected run it is scored against. */
  taskName: string | null;
  referenceTaskRunId: string | null;
  assistantId: string;
  assistantName: string;
  models: EvalModelRef[];
  withAdapters: boolean;
  status: EvalRunStatus;
  /** Answers to give (questions × models, or one table per model), and given (including failed ones). */
  total: number;
  answered: number;
  /** Estimated time left, from the answers so far (running runs only). */
  etaMs: number | null;
  /** What is being asked now: "Model · question 3 of 12". */
  current: string | null;
  error: string | null;
  createdAt: number;
  finishedAt: number | null;
}

/** How one answer fared. Null: not checked (the question gives nothing to check it by). */
export interface EvalVerdict {
  /** It holds the expected words (or pattern). */
  expected: boolean | null;
  /** It cites at least one source, and every citation passed the check. */
  citationsVerified: boolean;
  /** A verified source is on one of the expected pages. */
  onExpectedPage: boolean | null;
  /** It says the documents do not answer (or Enclave did, finding nothing). */
  refused: boolean;
  /** For a should-refuse question: it refused. */
  correctRefusal: boolean | null;
  /** It fails the expected words, does not refuse, and marks nothing as unsupported. */
  confidentWrong: boolean;
}

export interface EvalAnswer {
  modelIndex: number;
  questionId: string;
  status: 'answered' | 'failed';
  answer: string;
  sources: MessageSource[];
  grounding: AnswerGrounding | null;
  citationFailures: number;
  firstTokenMs: number | null;
  tokensPerSecond: number | null;
  tokenCount: number | null;
  durationMs: number | null;
  error: string | null;
  verdict: EvalVerdict;
}

/** One model's column of the scoreboard: counts out of what could be checked. */
export interface EvalScore {
  modelIndex: number;
  model: EvalModelRef;
  answered: number;
  failed: number;
  expected: { met: number; of: number };
  citationsVerified: { met: number; of: number };
  onExpectedPage: { met: number; of: number };
  correctRefusals: { met: number; of: number };
  /** Answers that refused although the question has an answer in the documents. */
  wrongRefusals: number;
  confidentWrong: number;
  /** Medians over its answers. */
  tokensPerSecond: number | null;
  firstTokenMs: number | null;
  /** The app's peak resident memory while this model answered. */
  peakMemoryBytes: number | null;
}

/** A model's table for a task, cell by cell against the table a person corrected. */
export interface EvalTaskScore {
  modelIndex: number;
  model: EvalModelRef;
  /** The task run the model made (open it in Tasks), and how it ended. */
  taskRunId: string | null;
  status: TaskRunStatus | null;
  /** Cells whose value matches the corrected table's (both "not stated" counts as a match). */
  accuracy: { met: number; of: number };
  fields: { key: string; label: string; met: number; of: number }[];
  /** Its cells marked "source checked". */
  verified: number;
  /** Median time per document. */
  msPerDocument: number | null;
}

export interface EvalRunDetail {
  run: EvalRun;
  /** The questions as they were when the run started. */
  questions: EvalQuestion[];
  scores: EvalScore[];
  answers: EvalAnswer[];
  /** For a task evaluation: each model's table scored against the corrected one. */
  taskScores: EvalTaskScore[] | null;
  /** The generation settings the answers were written with. */
  settings: { temperature: number | null; topP: number | null; maxTokens: number | null; contextSize: number | null };
}

export interface LockStatus {
  /** A lock passphrase is set. */
  enabled: boolean;
  locked: boolean;
  /** Minutes without use before the window locks (0: only when asked). */
  idleMinutes: number;
  /** While too many wrong passphrases wait out their pause: when the next try is accepted. */
  retryAt: number | null;
}

export interface EventMap {
  'lock.changed': LockStatus;
  'engine.status': EngineStatus;
  'chat.delta': { conversationId: string; messageId: string; text: string };
  'chat.stage': { conversationId: string; messageId: string; stage: ReplyStage };
  'chat.done': { conversationId: string; message: Message };
  'conversations.changed': { conversationId: string | null };
  'models.changed': ModelLibrary;
  'documents.progress': DocumentProgress;
  'documents.changed': { documentId: string | null };
  'summaries.progress': SummaryProgress;
  'summaries.delta': { summaryId: string; documentId: string; text: string };
  'summaries.done': Summary;
  'retrieval.status': IndexStatus;
  'collections.changed': Collection[];
  'assistants.changed': Assistant[];
  'adapters.changed': AdapterInfo[];
  'tasks.changed': TaskRun;
  'evals.changed': EvalRun;
}

export type EventName = keyof EventMap;

/** What an audit entry records (the first word is its group: model, document, question…). */
/** What can be exported as a record. */
export type RecordTarget = { what: 'conversation'; conversationId: string } | { what: 'summary'; summaryId: string } | { what: 'task'; runId: string };
export type RecordFormat = 'markdown' | 'docx' | 'pdf';
export type IdentifierKind = 'name' | 'date-of-birth' | 'id-number' | 'record-number' | 'phone' | 'email' | 'address';

/** A personal identifier found in a record by its patterns, for a person to review before export. */
export interface IdentifierCandidate {
  text: string;
  kind: IdentifierKind;
  /** Occurrences in the record. */
  count: number;
  /** The words around where it was found. */
  context: string;
}

export interface ExportedRecord {
  fileName: string;
  mimeType: string;
  base64: string;
  /** SHA-256 of the file (also in the audit trail, so the record can be checked later). */
  sha256: string;
  /** Occurrences replaced with [REDACTED]. */
  redactions: number;
}

export type AuditAction =
  | 'model.added'
  | 'model.removed'
  | 'model.loaded'
  | 'document.added'
  | 'document.deleted'
  | 'document.unlocked'
  | 'question.asked'
  | 'passages.retrieved'
  | 'answer.produced'
  | 'summary.produced'
  | 'task.finished'
  | 'export'
  | 'settings.changed'
  | 'app.locked'
  | 'app.unlocked'
  | 'app.unlock-failed'
  | 'app.lock-changed'
  | 'retention.changed'
  | 'retention.deleted'
  | 'retention.hold-placed'
  | 'retention.hold-released'
  | 'backend.changed'
  | 'api.changed'
  | 'api.chat'
  | 'api.embeddings';

export interface AuditEntry {
  seq: number;
  /** Milliseconds since the epoch. */
  at: number;
  /** Who: the computer's user account, and how Enclave was used (desktop or browser). */
  actor: string;
  action: AuditAction;
  /** One line for people ("Asked: What is the notice period?"). */
  summary: string;
  details: Record<string, unknown>;
  /** SHA-256 over this entry and the previous entry's hash. */
  hash: string;
}

export interface AuditPage {
  entries: AuditEntry[];
  /** Entries that match the filter, in all. */
  total: number;
  /** Pass as `beforeSeq` for the next (older) page; null at the first entry. */
  nextBeforeSeq: number | null;
}

export interface AuditCheck {
  intact: boolean;
  /** Entries whose seal was checked. */
  checked: number;
  /** What is wrong, said for people; null when intact. */
  problem: string | null;
  /** The entry where the chain breaks. */
  badSeq: number | null;
  /** The last entry's number and hash: written down elsewhere, they prove later that nothing was rewritten. */
  headSeq: number;
  headHash: string | null;
}
