// One place that creates the client and every manager; components receive this object.
import { createClient, type Client } from '../api/client.ts';
import { AdaptersManager } from './adapters.svelte.ts';
import { AssistantsManager } from './assistants.svelte.ts';
import { ChatManager } from './chat.svelte.ts';
import { CollectionsManager } from './collections.svelte.ts';
import { ConversationsManager } from './conversations.svelte.ts';
import { DocumentsManager } from './documents.svelte.ts';
import { EngineManager } from './engine.svelte.ts';
import { ModelsManager } from './models.svelte.ts';
import { SettingsManager } from './settings.svelte.ts';
import { SummariesManager } from './summaries.svelte.ts';
import { TasksManager } from './tasks.svelte.ts';
import { EvalsManager } from './evals.svelte.ts';
import { AuditManager } from './audit.svelte.ts';
import { LockManager } from './lock.svelte.ts';
import { toasts } from './toasts.svelte.ts';

export type View = 'chat' | 'documents' | 'models' | 'settings' | 'assistants' | 'tasks' | 'evaluate' | 'audit';

import { BackendManager } from './backend.svelte.ts';

export class AppState {
  readonly client: Client;
  readonly engine: EngineManager;
  readonly models: ModelsManager;
  readonly conversations: ConversationsManager;
  readonly chat: ChatManager;
  readonly settings: SettingsManager;
  readonly documents: DocumentsManager;
  readonly summaries: SummariesManager;
  readonly collections: CollectionsManager;
  readonly assistants: AssistantsManager;
  readonly adapters: AdaptersManager;
  readonly tasks: TasksManager;
  readonly evals: EvalsManager;
  readonly audit: AuditManager;
  readonly lock: LockManager;
  readonly backend: BackendManager;
  view = $state<View>('chat');
  /** The person chose to connect to an office server from the welcome screen (it gives way to Settings). */
  officeSetup = $state(false);

  constructor(client: Client = createClient()) {
    this.client = client;
    // An error about something that has since succeeded is out of date: it leaves the screen.
    client.onSucceeded((topic) => toasts.settled(topic));
    this.engine = new EngineManager(client);
    this.models = new ModelsManager(client);
    this.conversations = new ConversationsManager(client);
    this.chat = new ChatManager(client);
    this.settings = new SettingsManager(client);
    this.documents = new DocumentsManager(client);
    this.summaries = new SummariesManager(client);
    this.collections = new CollectionsManager(client);
    this.assistants = new AssistantsManager(client);
    this.adapters = new AdaptersManager(client);
    this.tasks = new TasksManager(client);
    this.evals = new EvalsManager(client);
    this.audit = new AuditManager(client);
    this.lock = new LockManager(client);
    this.backend = new BackendManager(client);
  }

  async openConversation(id: string, focusMessageId: string | null = null): Promise<void> {
    this.view = 'chat';
    this.conversations.activeId = id;
    await this.chat.open(id, focusMessageId);
  }

  #creating: Promise<void> | null = null;

  /** A new conversation with the selected assistant (or the one given). */
  newConversation(assistantId: string = this.assistants.selectedId): Promise<void> {
    // Pressed again while one is being made: that one is the new conversation.
    if (!this.#creating) {
      this.#creating = this.#newConversation(assistantId).finally(() => (this.#creating = null));
      // What is typed meanwhile goes to the new conversation, not to the one shown before.
      void this.chat.willOpen(this.#creating);
    }
    return this.#creating;
  }

  async #newConversation(assistantId: string): Promise<void> {
    // The open conversation is still empty and with this assistant: it is the new one (no pile of empty ones).
    const open = this.chat.conversation;
    if (this.view === 'chat' && open && !this.chat.loading && this.chat.messages.length === 0 && open.assistantId === assistantId) {
      document.getElementById('composer')?.focus();
      return;
    }
    const id = await this.conversations.create(assistantId);
    if (id) await this.openConversation(id);
  }

  /** Opens a document at a page, with a passage highlighted (a cited source). */
  async openSource(documentId: string, pageNumber: number, highlight: { start: number; end: number } | null): Promise<void> {
    this.view = 'documents';
    await this.documents.refresh();
    await this.documents.openDocument(documentId, pageNumber, highlight);
  }

  /** Opens Evaluate with a question (from a conversation) ready to add to the assistant's set. */
  evaluateQuestion(assistantId: string, question: string, pages: number[]): void {
    this.evals.draft = { assistantId, question, pages };
    this.view = 'evaluate';
  }

  /** Opens Tasks with these documents chosen for a new run. */
  runTaskOn(documentIds: string[]): void {
    this.tasks.preselected = documentIds;
    this.view = 'tasks';
  }

  async deleteConversation(id: string): Promise<void> {
    await this.conversations.remove(id);
    if (this.chat.conversation?.id === id) this.chat.close();
  }
}
