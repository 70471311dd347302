import { SUMMARY_KINDS as KINDS, SUMMARY_KIND_LABELS, type Summary, type SummaryKind, type SummaryProgress } from '../../../electron/contract/types.ts';
import type { Client } from '../api/client.ts';
import { toasts } from './toasts.svelte.ts';

export const SUMMARY_KINDS: { kind: SummaryKind; label: string }[] = KINDS.map((kind) => ({ kind, label: SUMMARY_KIND_LABELS[kind] }));

/** Summaries of the document open in the reader, and the one being written. */
export class SummariesManager {
  documentId = $state<string | null>(null);
  list = $state<Summary[]>([]);
  running = $state<{ id: string; progress: SummaryProgress | null; text: string } | null>(null);
  readonly #client: Client;
  /** Progress and text that arrived before the call that started their summary returned. */
  readonly #early = new Map<string, { progress: SummaryProgress | null; text: string }>();
  /** Summaries whose end arrived before the call that started them returned. */
  readonly #finished = new Set<string>();

  constructor(client: Client) {
    this.#client = client;
    client.on('summaries.progress', (p) => {
      if (this.running?.id === p.summaryId) this.running.progress = p;
      else this.#earlyFor(p.summaryId).progress = p;
    });
    client.on('summaries.delta', (d) => {
      if (this.running?.id === d.summaryId) this.running.text += d.text;
      else this.#earlyFor(d.summaryId).text += d.text;
    });
    client.on('summaries.done', (s) => {
      this.#early.delete(s.id);
      if (this.#finished.size > 16) this.#finished.clear();
      this.#finished.add(s.id);
      if (this.running?.id === s.id) this.running = null;
      if (s.documentId === this.documentId) void this.load(s.documentId);
      // A summary that later succeeds for the same document makes the earlier failure out of date.
      const topic = `summary documentId=${s.documentId}`;
      if (s.status === 'failed') toasts.show(s.error ?? 'The summary failed.', 'error', 10000, topic);
      else if (s.status === 'complete') toasts.settled(topic);
    });
  }

  async load(documentId: string): Promise<void> {
    this.documentId = documentId;
    try {
      const list = await this.#client.call('summaries.list', { documentId });
      if (this.documentId === documentId) this.list = list;
    } catch (e) {
      toasts.error(e);
    }
  }

  async start(kind: SummaryKind): Promise<void> {
    if (!this.documentId) return;
    try {
      const s = await this.#client.call('summaries.start', { documentId: this.documentId, kind });
      const early = this.#early.get(s.id);
      this.#early.delete(s.id);
      // It may already have ended (a short document, a fast model): then it is in the list, done.
      if (s.status === 'running' && !this.#finished.has(s.id)) {
        this.running = { id: s.id, progress: early?.progress ?? null, text: early?.text ?? '' };
        this.list = [s, ...this.list.filter((x) => x.id !== s.id)];
      }
    } catch (e) {
      toasts.error(e);
    }
  }

  #earlyFor(summaryId: string): { progress: SummaryProgress | null; text: string } {
    let entry = this.#early.get(summaryId);
    if (!entry) {
      // Only a few can be pending at once; an unknown old one is dropped.
      if (this.#early.size > 16) this.#early.clear();
      entry = { progress: null, text: '' };
      this.#early.set(summaryId, entry);
    }
    return entry;
  }

  async cancel(): Promise<void> {
    if (!this.running) return;
    await this.#client.call('summaries.cancel', { summaryId: this.running.id }).catch((e) => toasts.error(e));
  }

  async remove(summaryId: string): Promise<void> {
    try {
      await this.#client.call('summaries.delete', { summaryId });
      this.list = this.list.filter((s) => s.id !== summaryId);
    } catch (e) {
      toasts.error(e);
    }
  }
}
