export interface Toast {
  id: number;
  kind: 'error' | 'info';
  text: string;
}

class ToastsManager {
  items = $state<Toast[]>([]);
  #next = 1;

  show(text: string, kind: Toast['kind'] = 'info', ms = 6000): void {
    const id = this.#next++;
    this.items.push({ id, kind, text });
    if (ms > 0) setTimeout(() => this.dismiss(id), ms);
  }

  error(e: unknown): void {
    this.show(e instanceof Error ? e.message : String(e), 'error', 10000);
  }

  dismiss(id: number): void {
    this.items = this.items.filter((t) => t.id !== id);
  }
}

export const toasts = new ToastsManager();
