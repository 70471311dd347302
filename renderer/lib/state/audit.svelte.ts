// The audit trail as the window shows it: newest first, filtered, a page at a time; the chain
// checked on demand; the whole trail saved as JSON Lines.
import type { AuditCheck, AuditEntry } from '../../../electron/contract/types.ts';
import type { Client } from '../api/client.ts';
import { saveFile } from '../download.ts';
import { toasts } from './toasts.svelte.ts';

export const AUDIT_GROUPS = [
  { value: '', label: 'Everything' },
  { value: 'question', label: 'Questions asked' },
  { value: 'passages', label: 'Passages retrieved' },
  { value: 'answer', label: 'Answers' },
  { value: 'summary', label: 'Summaries' },
  { value: 'task', label: 'Task runs' },
  { value: 'document', label: 'Documents' },
  { value: 'model', label: 'Models' },
  { value: 'export', label: 'Exports' },
  { value: 'settings', label: 'Settings' },
  { value: 'retention', label: 'Retention and legal holds' },
  { value: 'app', label: 'Lock and unlock' },
  { value: 'backend', label: 'Office server' },
  { value: 'api', label: 'Local API' },
] as const;

export class AuditManager {
  entries = $state<AuditEntry[]>([]);
  total = $state(0);
  group = $state('');
  text = $state('');
  loading = $state(false);
  check = $state<AuditCheck | null>(null);
  checking = $state(false);
  #nextBeforeSeq: number | null = null;
  #seq = 0;
  readonly #client: Client;

  constructor(client: Client) {
    this.#client = client;
  }

  get hasMore(): boolean {
    return this.#nextBeforeSeq !== null;
  }

  /** Reads the newest entries for the current filter (again). */
  async load(): Promise<void> {
    const seq = ++this.#seq;
    this.loading = true;
    try {
      const page = await this.#client.call('audit.list', { ...this.#filter(), limit: 100 });
      if (seq !== this.#seq) return;
      this.entries = page.entries;
      this.total = page.total;
      this.#nextBeforeSeq = page.nextBeforeSeq;
    } catch (e) {
      toasts.error(e);
    } finally {
      if (seq === this.#seq) this.loading = false;
    }
  }

  async more(): Promise<void> {
    if (this.#nextBeforeSeq === null) return;
    const seq = ++this.#seq;
    try {
      const page = await this.#client.call('audit.list', { ...this.#filter(), beforeSeq: this.#nextBeforeSeq, limit: 100 });
      if (seq !== this.#seq) return;
      this.entries = [...this.entries, ...page.entries];
      this.#nextBeforeSeq = page.nextBeforeSeq;
    } catch (e) {
      toasts.error(e);
    }
  }

  #filter(): { action?: string; text?: string } {
    return { ...(this.group ? { action: this.group } : {}), ...(this.text.trim() ? { text: this.text.trim() } : {}) };
  }

  async verify(): Promise<void> {
    this.checking = true;
    try {
      this.check = await this.#client.call('audit.verify', {});
    } catch (e) {
      toasts.error(e);
    } finally {
      this.checking = false;
    }
  }

  async exportAll(): Promise<void> {
    try {
      const { fileName, mimeType, base64 } = await this.#client.call('audit.export', {});
      saveFile(fileName, Uint8Array.from(atob(base64), (c) => c.charCodeAt(0)), mimeType);
      // The export is itself an entry.
      await this.load();
    } catch (e) {
      toasts.error(e);
    }
  }
}
