export interface Toast {
  id: number;
  kind: 'error' | 'info';
  text: string;
  /** What an error was about; a later success of the same topic removes it (see topicOf). */
  topic: string | null;
}

class ToastsManager {
  items = $state<Toast[]>([]);
  #next = 1;

  show(text: string, kind: Toast['kind'] = 'info', ms = 6000, topic: string | null = null): void {
    const id = this.#next++;
    // The same failure again replaces its message rather than stacking a copy.
    if (topic) this.settled(topic);
    this.items.push({ id, kind, text, topic });
    if (ms > 0) setTimeout(() => this.dismiss(id), ms);
  }

  /** An error's message; a failed call's error carries its topic. */
  error(e: unknown, topic: string | null = null): void {
    const own = e && typeof e === 'object' && 'topic' in e && typeof e.topic === 'string' ? e.topic : null;
    this.show(e instanceof Error ? e.message : String(e), 'error', 10000, topic ?? own);
  }

  /** Something succeeded: an earlier error about the same thing is no longer true. */
  settled(topic: string): void {
    if (this.items.some((t) => t.topic === topic)) this.items = this.items.filter((t) => t.topic !== topic);
  }

  dismiss(id: number): void {
    this.items = this.items.filter((t) => t.id !== id);
  }
}

export const toasts = new ToastsManager();
