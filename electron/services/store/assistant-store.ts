// Assistants and their default collections. All assistant SQL lives here.
import { randomUUID } from 'node:crypto';
import type { Database } from 'better-sqlite3';
import { GENERAL_ASSISTANT_ID, type Assistant, type SummaryKind } from '../../contract/types.ts';

interface AssistantRow {
  id: string;
  name: string;
  description: string;
  color: string;
  domain: string;
  system_prompt: string;
  temperature: number | null;
  top_p: number | null;
  max_tokens: number | null;
  answer_only_from_documents: number;
  summary_kinds: string;
  origin: string | null;
  preferred_model_sha256: string | null;
  preferred_model_name: string | null;
  context_size: number | null;
  created_at: number;
  updated_at: number;
  conversation_count: number;
}

export type AssistantFields = Omit<Assistant, 'id' | 'conversationCount' | 'createdAt' | 'updatedAt'>;

const SELECT = `SELECT a.*, (SELECT COUNT(*) FROM conversations c WHERE c.assistant_id = a.id) AS conversation_count FROM assistants a`;

export class AssistantStore {
  readonly #db: Database;
  readonly #now: () => number;
  constructor(db: Database, now: () => number = Date.now) {
    this.#db = db;
    this.#now = now;
  }

  #toAssistant(r: AssistantRow): Assistant {
    return {
      id: r.id,
      name: r.name,
      description: r.description,
      color: r.color,
      domain: r.domain,
      systemPrompt: r.system_prompt,
      temperature: r.temperature,
      topP: r.top_p,
      maxTokens: r.max_tokens,
      answerOnlyFromDocuments: r.answer_only_from_documents === 1,
      collectionIds: this.#db.prepare('SELECT collection_id FROM assistant_collections WHERE assistant_id = ? ORDER BY rowid').pluck().all(r.id) as string[],
      summaryKinds: JSON.parse(r.summary_kinds) as SummaryKind[],
      adapters: this.#db.prepare('SELECT adapter_id AS adapterId, scale FROM assistant_adapters WHERE assistant_id = ? ORDER BY position').all(r.id) as { adapterId: string; scale: number }[],
      origin: r.origin ? JSON.parse(r.origin) : null,
      preferredModel: r.preferred_model_sha256 ? { sha256: r.preferred_model_sha256, name: r.preferred_model_name ?? '' } : null,
      contextSize: r.context_size,
      conversationCount: r.conversation_count,
      createdAt: r.created_at,
      updatedAt: r.updated_at,
    };
  }

  list(): Assistant[] {
    // General first, then by name.
    const rows = this.#db.prepare(`${SELECT} ORDER BY a.id <> 'general', a.name COLLATE NOCASE, a.created_at`).all() as AssistantRow[];
    return rows.map((r) => this.#toAssistant(r));
  }

  get(id: string): Assistant | null {
    const row = this.#db.prepare(`${SELECT} WHERE a.id = ?`).get(id) as AssistantRow | undefined;
    return row ? this.#toAssistant(row) : null;
  }

  #writeAdapters(id: string, adapters: { adapterId: string; scale: number }[]): void {
    this.#db.prepare('DELETE FROM assistant_adapters WHERE assistant_id = ?').run(id);
    const insert = this.#db.prepare('INSERT OR IGNORE INTO assistant_adapters (assistant_id, adapter_id, scale, position) SELECT ?, id, ?, ? FROM adapters WHERE id = ?');
    adapters.forEach((a, i) => insert.run(id, a.scale, i, a.adapterId));
  }

  #writeCollections(id: string, collectionIds: string[]): void {
    this.#db.prepare('DELETE FROM assistant_collections WHERE assistant_id = ?').run(id);
    const insert = this.#db.prepare('INSERT OR IGNORE INTO assistant_collections (assistant_id, collection_id) SELECT ?, id FROM collections WHERE id = ?');
    for (const c of collectionIds) insert.run(id, c);
  }

  create(fields: AssistantFields): Assistant {
    const id = randomUUID();
    const now = this.#now();
    this.#db.transaction(() => {
      this.#db
        .prepare(
          `INSERT INTO assistants (id, name, description, color, domain, system_prompt, temperature, top_p, max_tokens, answer_only_from_documents, summary_kinds, origin,
             preferred_model_sha256, preferred_model_name, context_size, created_at, updated_at)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        )
        .run(id, fields.name, fields.description, fields.color, fields.domain, fields.systemPrompt, fields.temperature, fields.topP, fields.maxTokens,
          fields.answerOnlyFromDocuments ? 1 : 0, JSON.stringify(fields.summaryKinds), fields.origin ? JSON.stringify(fields.origin) : null,
          fields.preferredModel?.sha256 ?? null, fields.preferredModel?.name ?? null, fields.contextSize, now, now);
      this.#writeCollections(id, fields.collectionIds);
      this.#writeAdapters(id, fields.adapters);
    })();
    return this.get(id)!;
  }

  update(id: string, fields: AssistantFields): Assistant {
    this.#db.transaction(() => {
      this.#db
        .prepare(
          `UPDATE assistants SET name = ?, description = ?, color = ?, domain = ?, system_prompt = ?, temperature = ?, top_p = ?, max_tokens = ?,
             answer_only_from_documents = ?, summary_kinds = ?, preferred_model_sha256 = ?, preferred_model_name = ?, context_size = ?, updated_at = ? WHERE id = ?`,
        )
        .run(fields.name, fields.description, fields.color, fields.domain, fields.systemPrompt, fields.temperature, fields.topP, fields.maxTokens,
          fields.answerOnlyFromDocuments ? 1 : 0, JSON.stringify(fields.summaryKinds), fields.preferredModel?.sha256 ?? null, fields.preferredModel?.name ?? null,
          fields.contextSize, this.#now(), id);
      this.#writeCollections(id, fields.collectionIds);
      this.#writeAdapters(id, fields.adapters);
    })();
    return this.get(id)!;
  }

  /** Deletes an assistant; its conversations are kept and move to General, in one transaction. */
  delete(id: string): number {
    return this.#db.transaction(() => {
      const moved = this.#db.prepare('UPDATE conversations SET assistant_id = ? WHERE assistant_id = ?').run(GENERAL_ASSISTANT_ID, id).changes;
      this.#db.prepare('DELETE FROM assistants WHERE id = ?').run(id);
      return moved;
    })();
  }

  conversationAssistant(conversationId: string): string | null {
    return (this.#db.prepare('SELECT assistant_id FROM conversations WHERE id = ?').pluck().get(conversationId) as string | undefined) ?? null;
  }

  setConversationAssistant(conversationId: string, assistantId: string): void {
    this.#db.prepare('UPDATE conversations SET assistant_id = ? WHERE id = ?').run(assistantId, conversationId);
  }
}
