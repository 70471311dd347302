// Domain assistants: the application service that holds their use-cases (create from a pack,
// edit, duplicate, delete keeping conversations, start a conversation with one, and what a
// conversation's assistant asks of a reply). Knows no transport.
import { UserFacingError } from '../../contract/errors.ts';
import { GENERAL_ASSISTANT_ID, type Assistant, type AssistantTemplateInfo, type Conversation, type Settings } from '../../contract/types.ts';
import type { AssistantFields, AssistantStore } from '../store/assistant-store.ts';
import type { ConversationStore } from '../store/conversation-store.ts';
import type { RetrievalStore } from '../store/retrieval-store.ts';
import type { SettingsStore } from '../store/settings-store.ts';
import type { AssistantPack, AssistantTemplate } from './packs.ts';
import { ASSISTANT_FILE_FORMAT, ASSISTANT_FILE_VERSION, parseAssistantFile, type AssistantFile } from './assistant-file.ts';

/** The adapters of the library, as an assistant file names them. */
export interface AdapterCatalog {
  get(id: string): { name: string; fileName: string; architecture: string; sha256: string } | null;
  bySha256(sha256: string): { id: string } | null;
}

export type AssistantInput = Omit<AssistantFields, 'origin'>;

export class AssistantService {
  readonly #store: AssistantStore;
  readonly #conversations: ConversationStore;
  readonly #retrieval: RetrievalStore;
  readonly #settings: SettingsStore;
  readonly #packs: AssistantPack[];
  readonly #onChange: () => void;
  readonly #adapters: AdapterCatalog;

  constructor(deps: {
    adapters: AdapterCatalog;
    store: AssistantStore;
    conversations: ConversationStore;
    retrieval: RetrievalStore;
    settings: SettingsStore;
    packs: AssistantPack[];
    onChange?: () => void;
  }) {
    this.#store = deps.store;
    this.#conversations = deps.conversations;
    this.#retrieval = deps.retrieval;
    this.#settings = deps.settings;
    this.#packs = deps.packs;
    this.#onChange = deps.onChange ?? (() => {});
    this.#adapters = deps.adapters;
  }

  /** Adds each built-in pack's assistants once; one the user deleted is not brought back. */
  seedBuiltins(): void {
    const seeded = new Set(this.#settings.seededPacks());
    for (const pack of this.#packs) {
      if (seeded.has(pack.id)) continue;
      for (const template of pack.assistants) this.#store.create(this.#fromTemplate(pack, template));
      this.#settings.markPackSeeded(pack.id);
    }
  }

  #fromTemplate(pack: AssistantPack, t: AssistantTemplate): AssistantFields {
    return {
      name: t.name,
      description: t.description,
      color: t.color,
      domain: pack.domain,
      systemPrompt: t.systemPrompt,
      temperature: t.temperature ?? null,
      topP: t.topP ?? null,
      maxTokens: t.maxTokens ?? null,
      answerOnlyFromDocuments: t.answerOnlyFromDocuments,
      collectionIds: [],
      summaryKinds: t.summaryKinds,
      adapters: [],
      preferredModel: null,
      contextSize: null,
      origin: { packId: pack.id, packName: pack.name, key: t.key, modelHint: pack.modelHint },
    };
  }

  list(): Assistant[] {
    return this.#store.list();
  }

  templates(): AssistantTemplateInfo[] {
    return this.#packs.flatMap((p) =>
      p.assistants.map((t) => ({ packId: p.id, packName: p.name, key: t.key, name: t.name, description: t.description, color: t.color, modelHint: p.modelHint })),
    );
  }

  require(id: string): Assistant {
    const a = this.#store.get(id);
    if (!a) throw new UserFacingError('assistant/not-found', 'That assistant no longer exists.');
    return a;
  }

  /** A new assistant from a pack's template, or from the fields given. */
  create(input: { template: { packId: string; key: string } } | { fields: AssistantInput }): Assistant {
    let fields: AssistantFields;
    if ('template' in input) {
      const pack = this.#packs.find((p) => p.id === input.template.packId);
      const template = pack?.assistants.find((t) => t.key === input.template.key);
      if (!pack || !template) throw new UserFacingError('assistant/template-not-found', 'That pack or assistant template is not available.');
      fields = this.#fromTemplate(pack, template);
    } else {
      fields = { ...input.fields, collectionIds: this.#existingCollections(input.fields.collectionIds), origin: null };
    }
    const created = this.#store.create(fields);
    this.#onChange();
    return created;
  }

  update(id: string, fields: AssistantInput): Assistant {
    const current = this.require(id);
    const updated = this.#store.update(id, { ...fields, collectionIds: this.#existingCollections(fields.collectionIds), origin: current.origin });
    this.#onChange();
    return updated;
  }

  duplicate(id: string): Assistant {
    const a = this.require(id);
    const copy = this.#store.create({ ...a, name: `${a.name} (copy)`.slice(0, 80) });
    this.#onChange();
    return copy;
  }

  /** Deletes an assistant; its conversations are kept and move to General. */
  delete(id: string): { deleted: true; movedConversations: number } {
    if (id === GENERAL_ASSISTANT_ID) throw new UserFacingError('assistant/general', 'General is where conversations go when their assistant is deleted; it cannot be deleted.');
    this.require(id);
    const moved = this.#store.delete(id);
    this.#onChange();
    return { deleted: true, movedConversations: moved };
  }

  /** A new conversation with an assistant, answering from its default collections. */
  startConversation(input: { assistantId?: string; title?: string; systemPrompt?: string; hidden?: boolean }): Conversation {
    const assistant = this.require(input.assistantId ?? GENERAL_ASSISTANT_ID);
    const conversation = this.#conversations.createConversation({ title: input.title, systemPrompt: input.systemPrompt, assistantId: assistant.id, hidden: input.hidden });
    if (assistant.collectionIds.length) this.#retrieval.setConversationCollections(conversation.id, this.#existingCollections(assistant.collectionIds));
    return conversation;
  }

  /** The conversation's assistant (General if its own is gone). */
  forConversation(conversationId: string): Assistant {
    const id = this.#store.conversationAssistant(conversationId);
    return (id && this.#store.get(id)) || this.#store.get(GENERAL_ASSISTANT_ID)!;
  }

  /** The app's settings with the assistant's own generation settings over them. */
  generationSettings(assistant: Assistant, settings: Settings): Settings {
    return {
      ...settings,
      temperature: assistant.temperature ?? settings.temperature,
      topP: assistant.topP ?? settings.topP,
      maxTokens: assistant.maxTokens ?? settings.maxTokens,
    };
  }

  /** The assistant as one file: instructions and settings, its adapters by SHA-256. Collections stay here. */
  exportFile(id: string): AssistantFile {
    const a = this.require(id);
    return {
      format: ASSISTANT_FILE_FORMAT,
      version: ASSISTANT_FILE_VERSION,
      exportedAt: new Date().toISOString(),
      assistant: {
        name: a.name, description: a.description, color: a.color, domain: a.domain, systemPrompt: a.systemPrompt, temperature: a.temperature,
        topP: a.topP, maxTokens: a.maxTokens, answerOnlyFromDocuments: a.answerOnlyFromDocuments, summaryKinds: a.summaryKinds, origin: a.origin,
        contextSize: a.contextSize, preferredModel: a.preferredModel,
      },
      adapters: a.adapters.flatMap((use) => {
        const adapter = this.#adapters.get(use.adapterId);
        return adapter ? [{ name: adapter.name, fileName: adapter.fileName, architecture: adapter.architecture, sha256: adapter.sha256, scale: use.scale }] : [];
      }),
    };
  }

  /** The file as text, with a file name made from the assistant's. */
  exportFileText(id: string): { fileName: string; text: string } {
    const file = this.exportFile(id);
    const fileName = `${file.assistant.name.replace(/[^\p{L}\p{N}\- ]+/gu, '_').trim() || 'assistant'}.enclave-assistant.json`;
    return { fileName, text: `${JSON.stringify(file, null, 2)}\n` };
  }

  /**
   * A new assistant from a file. Its adapters are found in the library by SHA-256 only: one that
   * is not there (or whose file differs) is left out, and named in `missing`.
   */
  importFile(text: string): { assistant: Assistant; missing: string[] } {
    const file = parseAssistantFile(text);
    const missing: string[] = [];
    const adapters = file.adapters.flatMap((a) => {
      const found = this.#adapters.bySha256(a.sha256);
      if (!found) missing.push(`“${a.name}” (${a.fileName}, SHA-256 ${a.sha256.slice(0, 12)}…)`);
      return found ? [{ adapterId: found.id, scale: a.scale }] : [];
    });
    const assistant = this.#store.create({ ...file.assistant, collectionIds: [], adapters });
    this.#onChange();
    return { assistant, missing };
  }

  #existingCollections(ids: string[]): string[] {
    return [...new Set(ids)].filter((id) => this.#retrieval.getCollection(id) !== null);
  }
}
