import type { DocumentInfo, DocumentPage, DocumentProgress } from '../../../electron/contract/types.ts';
import type { Client } from '../api/client.ts';
import { toasts } from './toasts.svelte.ts';

export interface Upload {
  key: number;
  fileName: string;
  /** 0..1 while the file is copied in (browser mode). */
  progress: number;
  error: string | null;
}

/** What the file picker offers (the library decides by content, whatever the name says). */
export const ACCEPTED_DOCUMENTS =
  '.pdf,.docx,.docm,.odt,.rtf,.xlsx,.xlsm,.eml,.png,.jpg,.jpeg,.tif,.tiff,.bmp,.gif,.webp,.txt,.text,.md,.markdown,.html,.htm,.xhtml,.xml,.csv,.log';

export class DocumentsManager {
  list = $state<DocumentInfo[]>([]);
  progress = $state<Record<string, DocumentProgress>>({});
  uploads = $state<Upload[]>([]);
  /** The document open in the reader, and the page shown. */
  open = $state<DocumentInfo | null>(null);
  page = $state<DocumentPage | null>(null);
  /** Character range of the open page to highlight (a cited passage). */
  highlight = $state<{ start: number; end: number } | null>(null);
  pageError = $state<string | null>(null);
  /** True once the library's list has been read (until then, no document is taken for deleted). */
  loaded = $state(false);
  readonly #client: Client;
  #uploadKey = 1;

  constructor(client: Client) {
    this.#client = client;
    client.on('documents.progress', (p) => (this.progress[p.documentId] = p));
    client.on('documents.changed', () => void this.refresh());
    client.onConnection((c) => {
      if (c === 'open') void this.refresh();
    });
  }

  async refresh(): Promise<void> {
    try {
      this.list = await this.#client.call('documents.list', {});
      this.loaded = true;
      if (this.open) this.open = this.list.find((d) => d.id === this.open!.id) ?? null;
    } catch (e) {
      toasts.error(e);
    }
  }

  /** Adds files one after another; each shows its own progress and its own error. */
  async addFiles(files: File[]): Promise<{ added: DocumentInfo[]; failed: number }> {
    const added: DocumentInfo[] = [];
    let failed = 0;
    for (const file of files) {
      const upload: Upload = { key: this.#uploadKey++, fileName: file.name, progress: 0, error: null };
      this.uploads.push(upload);
      const live = this.uploads.find((u) => u.key === upload.key)!;
      try {
        const handle = await this.#client.importFile(file, 'document', (p) => (live.progress = p));
        const result = await this.#client.call('documents.import', { file: handle });
        if (result.duplicate) toasts.show(`“${file.name}” is already in your documents, as “${result.document.title}”.`);
        added.push(result.document);
        this.uploads = this.uploads.filter((u) => u.key !== upload.key);
        await this.refresh();
      } catch (e) {
        live.error = e instanceof Error ? e.message : String(e);
        failed++;
      }
    }
    return { added, failed };
  }

  dismissUpload(key: number): void {
    this.uploads = this.uploads.filter((u) => u.key !== key);
  }

  async cancel(documentId: string): Promise<void> {
    try {
      await this.#client.call('documents.cancel', { documentId });
      await this.refresh();
    } catch (e) {
      toasts.error(e);
    }
  }

  async remove(documentId: string): Promise<void> {
    try {
      await this.#client.call('documents.delete', { documentId });
      if (this.open?.id === documentId) this.close();
      await this.refresh();
    } catch (e) {
      toasts.error(e);
    }
  }

  async unlock(documentId: string, password: string): Promise<string | null> {
    try {
      await this.#client.call('documents.unlock', { documentId, password });
      await this.refresh();
      return null;
    } catch (e) {
      await this.refresh();
      return e instanceof Error ? e.message : String(e);
    }
  }

  async openDocument(documentId: string, pageNumber = 1, highlight: { start: number; end: number } | null = null): Promise<void> {
    const doc = this.list.find((d) => d.id === documentId) ?? null;
    this.open = doc;
    await this.showPage(pageNumber, highlight);
  }

  async showPage(pageNumber: number, highlight: { start: number; end: number } | null = null): Promise<void> {
    if (!this.open) return;
    this.highlight = highlight;
    const n = Math.min(Math.max(1, Math.round(pageNumber)), Math.max(1, this.open.pageCount));
    try {
      this.page = await this.#client.call('documents.page', { documentId: this.open.id, pageNumber: n });
      this.pageError = null;
    } catch (e) {
      this.page = null;
      this.pageError = e instanceof Error ? e.message : String(e);
    }
  }

  close(): void {
    this.open = null;
    this.page = null;
  }
}
