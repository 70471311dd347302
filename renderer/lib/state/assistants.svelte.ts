import type { AssistantFieldsInput } from '../../../electron/contract/methods.ts';
import { GENERAL_ASSISTANT_ID, type Assistant, type AssistantTemplateInfo } from '../../../electron/contract/types.ts';
import type { Client } from '../api/client.ts';
import { saveFile } from '../download.ts';
import { toasts } from './toasts.svelte.ts';

/** Domain assistants, the pack templates they can be made from, and the one new conversations use. */
export class AssistantsManager {
  list = $state<Assistant[]>([]);
  templates = $state<AssistantTemplateInfo[]>([]);
  /** New conversations start with this assistant. */
  selectedId = $state<string>(GENERAL_ASSISTANT_ID);
  readonly selected = $derived(this.list.find((a) => a.id === this.selectedId) ?? this.list[0] ?? null);
  readonly #client: Client;

  constructor(client: Client) {
    this.#client = client;
    client.on('assistants.changed', (list) => this.#set(list));
    // Conversation counts change as conversations are made and deleted.
    client.on('conversations.changed', () => void this.refresh());
    client.onConnection((c) => {
      if (c !== 'open') return;
      void this.refresh();
      client.call('assistants.templates', {}).then((t) => (this.templates = t)).catch((e) => toasts.error(e));
    });
  }

  #set(list: Assistant[]): void {
    this.list = list;
    if (!list.some((a) => a.id === this.selectedId)) this.selectedId = GENERAL_ASSISTANT_ID;
  }

  byId(id: string | null | undefined): Assistant | null {
    return this.list.find((a) => a.id === id) ?? null;
  }

  async refresh(): Promise<void> {
    try {
      this.#set(await this.#client.call('assistants.list', {}));
    } catch (e) {
      toasts.error(e);
    }
  }

  async createFromTemplate(packId: string, key: string): Promise<Assistant | null> {
    try {
      const a = await this.#client.call('assistants.create', { template: { packId, key } });
      await this.refresh();
      return a;
    } catch (e) {
      toasts.error(e);
      return null;
    }
  }

  async createBlank(fields: AssistantFieldsInput): Promise<Assistant | null> {
    try {
      const a = await this.#client.call('assistants.create', { fields });
      await this.refresh();
      return a;
    } catch (e) {
      toasts.error(e);
      return null;
    }
  }

  /** Saves an edit; false (with the reason shown) when it was refused. */
  async update(assistantId: string, fields: AssistantFieldsInput): Promise<boolean> {
    try {
      await this.#client.call('assistants.update', { assistantId, fields });
      await this.refresh();
      return true;
    } catch (e) {
      toasts.error(e);
      return false;
    }
  }

  async duplicate(assistantId: string): Promise<void> {
    await this.#client.call('assistants.duplicate', { assistantId }).catch((e) => toasts.error(e));
    await this.refresh();
  }

  /** Saves the assistant as one file (a download; main writes nothing). */
  async exportFile(assistantId: string): Promise<void> {
    try {
      const { fileName, text } = await this.#client.call('assistants.export', { assistantId });
      saveFile(fileName, text, 'application/json');
    } catch (e) {
      toasts.error(e);
    }
  }

  /** Adds an assistant from a file the user picked; its text is sent, never its path. */
  async importFile(file: File): Promise<Assistant | null> {
    try {
      if (file.size > 1_000_000) throw new Error(`“${file.name}” is too large to be an Enclave assistant.`);
      const { assistant, missing } = await this.#client.call('assistants.import', { text: await file.text() });
      await this.refresh();
      toasts.show(
        missing.length
          ? `Imported “${assistant.name}” without ${missing.join(', ')}: that adapter is not in your library. Add it under Models, then give it to the assistant.`
          : `Imported “${assistant.name}”.`,
        missing.length ? 'error' : 'info',
        missing.length ? 15000 : 6000,
      );
      return assistant;
    } catch (e) {
      toasts.error(e);
      return null;
    }
  }

  async remove(assistantId: string): Promise<void> {
    try {
      const { movedConversations } = await this.#client.call('assistants.delete', { assistantId });
      await this.refresh();
      toasts.show(movedConversations > 0 ? `Deleted. Its ${movedConversations === 1 ? 'conversation is' : `${movedConversations} conversations are`} now under General.` : 'Deleted.');
    } catch (e) {
      toasts.error(e);
    }
  }
}
