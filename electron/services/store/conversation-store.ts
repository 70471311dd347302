// Conversations and messages. All SQL about them lives here; callers get typed rows.
import { randomUUID } from 'node:crypto';
import { GENERAL_ASSISTANT_ID } from '../../contract/types.ts';
import type { Database, Statement } from 'better-sqlite3';
import type {
  Conversation,
  ConversationSummary,
  Message,
  MessageRole,
  MessageStatus,
  SearchHit,
  SnippetPart,
} from '../../contract/types.ts';

interface ConversationRow {
  id: string;
  assistant_id: string;
  title: string;
  system_prompt: string;
  created_at: number;
  updated_at: number;
}

interface MessageRow {
  id: string;
  conversation_id: string;
  position: number;
  role: MessageRole;
  content: string;
  status: MessageStatus;
  created_at: number;
  token_count: number | null;
  tokens_per_second: number | null;
  duration_ms: number | null;
  context_tokens: number | null;
  context_size: number | null;
  model_name: string | null;
  error: string | null;
  cut_off: number;
}

export interface MessageStats {
  tokenCount: number;
  tokensPerSecond: number | null;
  durationMs: number;
  contextTokens: number | null;
  contextSize: number | null;
  modelName: string | null;
  /** The reply stopped at the longest reply allowed, not where the model ended it. */
  cutOff?: boolean;
}

const DEFAULT_TITLE = 'New conversation';
// Private-use characters mark FTS matches in snippets: they never occur in typed text.
const MATCH_START = '\uE000';
const MATCH_END = '\uE001';

function toConversation(r: ConversationRow): Conversation {
  return { id: r.id, assistantId: r.assistant_id, title: r.title, systemPrompt: r.system_prompt, createdAt: r.created_at, updatedAt: r.updated_at };
}

function toMessage(r: MessageRow): Message {
  return {
    id: r.id,
    conversationId: r.conversation_id,
    role: r.role,
    content: r.content,
    status: r.status,
    createdAt: r.created_at,
    tokenCount: r.token_count,
    tokensPerSecond: r.tokens_per_second,
    durationMs: r.duration_ms,
    contextTokens: r.context_tokens,
    contextSize: r.context_size,
    modelName: r.model_name,
    error: r.error,
    cutOff: r.cut_off === 1,
    // Filled in by the retrieval layer for grounded answers.
    sources: [],
    citationFailures: 0,
    grounding: null,
  };
}

/** A title proposed from the first message: its first line, trimmed to a few words. */
export function proposeTitle(text: string): string {
  const firstLine = text.trim().split(/\r?\n/).find((l) => l.trim().length > 0) ?? '';
  const clean = firstLine.replace(/[#*_`>]+/g, '').replace(/\s+/g, ' ').trim();
  if (clean.length === 0) return DEFAULT_TITLE;
  if (clean.length <= 48) return clean;
  const cut = clean.slice(0, 48);
  const lastSpace = cut.lastIndexOf(' ');
  return (lastSpace > 20 ? cut.slice(0, lastSpace) : cut) + '…';
}

/** Turns free text into an FTS5 query of quoted prefix terms, so user input is never FTS syntax. */
export function toFtsQuery(query: string): string | null {
  const terms = query
    .split(/\s+/)
    .map((t) => t.replace(/["\u0000-\u001f]/g, '').trim())
    .filter((t) => t.length > 0)
    .slice(0, 16);
  if (terms.length === 0) return null;
  return terms.map((t) => `"${t}"*`).join(' ');
}

function parseSnippet(snippet: string): SnippetPart[] {
  const parts: SnippetPart[] = [];
  let rest = snippet;
  while (rest.length > 0) {
    const start = rest.indexOf(MATCH_START);
    if (start < 0) {
      parts.push({ text: rest, match: false });
      break;
    }
    if (start > 0) parts.push({ text: rest.slice(0, start), match: false });
    const end = rest.indexOf(MATCH_END, start);
    const stop = end < 0 ? rest.length : end;
    parts.push({ text: rest.slice(start + 1, stop), match: true });
    rest = end < 0 ? '' : rest.slice(end + 1);
  }
  return parts;
}

export class ConversationStore {
  readonly #db: Database;
  readonly #now: () => number;
  readonly #stmts: {
    insertConversation: Statement;
    getConversation: Statement;
    touch: Statement;
    insertMessage: Statement;
    nextPosition: Statement;
    getMessage: Statement;
    listMessages: Statement;
    checkpoint: Statement;
  };

  constructor(db: Database, now: () => number = Date.now) {
    this.#db = db;
    this.#now = now;
    this.#stmts = {
      insertConversation: db.prepare(
        'INSERT INTO conversations (id, assistant_id, title, title_is_custom, system_prompt, created_at, updated_at, hidden) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
      ),
      getConversation: db.prepare('SELECT * FROM conversations WHERE id = ?'),
      touch: db.prepare('UPDATE conversations SET updated_at = ? WHERE id = ?'),
      insertMessage: db.prepare(
        `INSERT INTO messages (id, conversation_id, position, role, content, status, created_at, model_name)
         VALUES (@id, @conversation_id, @position, @role, @content, @status, @created_at, @model_name)`,
      ),
      nextPosition: db.prepare('SELECT COALESCE(MAX(position), -1) + 1 AS next FROM messages WHERE conversation_id = ?'),
      getMessage: db.prepare('SELECT * FROM messages WHERE id = ?'),
      listMessages: db.prepare('SELECT * FROM messages WHERE conversation_id = ? ORDER BY position'),
      checkpoint: db.prepare('UPDATE messages SET content = ? WHERE id = ? AND status = ?'),
    };
  }

  /** A hidden conversation (an evaluation's question) is never listed or searched. */
  createConversation(input: { title?: string; systemPrompt?: string; assistantId?: string; hidden?: boolean } = {}): Conversation {
    const now = this.#now();
    const id = randomUUID();
    const title = input.title?.trim() || DEFAULT_TITLE;
    this.#stmts.insertConversation.run(id, input.assistantId ?? GENERAL_ASSISTANT_ID, title, input.title?.trim() ? 1 : 0, input.systemPrompt ?? '', now, now, input.hidden ? 1 : 0);
    return this.getConversation(id)!;
  }

  getConversation(id: string): Conversation | null {
    const row = this.#stmts.getConversation.get(id) as ConversationRow | undefined;
    return row ? toConversation(row) : null;
  }

  listConversations(): ConversationSummary[] {
    const rows = this.#db
      .prepare(
        `SELECT c.*, (SELECT COUNT(*) FROM messages m WHERE m.conversation_id = c.id) AS message_count,
                (SELECT substr(m.content, 1, 120) FROM messages m WHERE m.conversation_id = c.id
                  ORDER BY m.position DESC LIMIT 1) AS preview
         FROM conversations c WHERE c.hidden = 0 ORDER BY c.updated_at DESC, c.rowid DESC`,
      )
      .all() as (ConversationRow & { message_count: number; preview: string | null })[];
    return rows.map((r) => ({ ...toConversation(r), messageCount: r.message_count, preview: r.preview ?? '' }));
  }

  renameConversation(id: string, title: string): Conversation | null {
    this.#db.prepare('UPDATE conversations SET title = ?, title_is_custom = 1 WHERE id = ?').run(title.trim(), id);
    return this.getConversation(id);
  }

  /** Sets the proposed title unless the user already chose one. */
  proposeTitleIfDefault(id: string, firstMessage: string): void {
    this.#db
      .prepare('UPDATE conversations SET title = ? WHERE id = ? AND title_is_custom = 0 AND title = ?')
      .run(proposeTitle(firstMessage), id, DEFAULT_TITLE);
  }

  setSystemPrompt(id: string, systemPrompt: string): Conversation | null {
    this.#db.prepare('UPDATE conversations SET system_prompt = ? WHERE id = ?').run(systemPrompt, id);
    return this.getConversation(id);
  }

  deleteConversation(id: string): boolean {
    return this.#db.prepare('DELETE FROM conversations WHERE id = ?').run(id).changes > 0;
  }

  listMessages(conversationId: string): Message[] {
    return (this.#stmts.listMessages.all(conversationId) as MessageRow[]).map(toMessage);
  }

  getMessage(id: string): Message | null {
    const row = this.#stmts.getMessage.get(id) as MessageRow | undefined;
    return row ? toMessage(row) : null;
  }

  appendMessage(input: {
    conversationId: string;
    role: MessageRole;
    content: string;
    status: MessageStatus;
    modelName?: string | null;
  }): Message {
    const id = randomUUID();
    const now = this.#now();
    this.#db.transaction(() => {
      const { next } = this.#stmts.nextPosition.get(input.conversationId) as { next: number };
      this.#stmts.insertMessage.run({
        id,
        conversation_id: input.conversationId,
        position: next,
        role: input.role,
        content: input.content,
        status: input.status,
        created_at: now,
        model_name: input.modelName ?? null,
      });
      this.#stmts.touch.run(now, input.conversationId);
    })();
    return this.getMessage(id)!;
  }

  /** Saves the text streamed so far; only while the message is still streaming. */
  checkpoint(messageId: string, content: string): void {
    this.#stmts.checkpoint.run(content, messageId, 'streaming');
  }

  finishMessage(messageId: string, content: string, status: MessageStatus, stats: MessageStats | null, error?: string): Message {
    this.#db
      .prepare(
        `UPDATE messages SET content = ?, status = ?, token_count = ?, tokens_per_second = ?, duration_ms = ?,
           context_tokens = ?, context_size = ?, model_name = COALESCE(?, model_name), error = ?, cut_off = ? WHERE id = ?`,
      )
      .run(
        content,
        status,
        stats?.tokenCount ?? null,
        stats?.tokensPerSecond ?? null,
        stats?.durationMs ?? null,
        stats?.contextTokens ?? null,
        stats?.contextSize ?? null,
        stats?.modelName ?? null,
        error ?? null,
        stats?.cutOff ? 1 : 0,
        messageId,
      );
    return this.getMessage(messageId)!;
  }

  /** Whether a reply was an answer from documents (it has a grounding record or checked sources). */
  hasGrounding(messageId: string): boolean {
    return (
      this.#db.prepare('SELECT 1 FROM message_groundings WHERE message_id = ? UNION ALL SELECT 1 FROM message_sources WHERE message_id = ? LIMIT 1').get(messageId, messageId) !==
      undefined
    );
  }

  /** A finished reply goes back to streaming, to be continued where it was cut off. */
  reopenMessage(messageId: string): Message {
    this.#db.prepare("UPDATE messages SET status = 'streaming', cut_off = 0, error = NULL WHERE id = ?").run(messageId);
    return this.getMessage(messageId)!;
  }

  updateMessageContent(messageId: string, content: string): void {
    this.#db.prepare('UPDATE messages SET content = ? WHERE id = ?').run(content, messageId);
  }

  /** Deletes every message after `position` in the conversation (edit-and-resend, regenerate). */
  deleteMessagesAfter(conversationId: string, position: number): number {
    return this.#db.prepare('DELETE FROM messages WHERE conversation_id = ? AND position > ?').run(conversationId, position)
      .changes;
  }

  positionOf(messageId: string): number | null {
    const row = this.#db.prepare('SELECT position FROM messages WHERE id = ?').get(messageId) as
      | { position: number }
      | undefined;
    return row?.position ?? null;
  }

  /** On start: replies that were streaming when the process died are marked interrupted, text kept. */
  /** Removes hidden conversations (an evaluation's question cut off by a crash): nothing refers to them. */
  deleteHidden(): number {
    return this.#db.prepare('DELETE FROM conversations WHERE hidden = 1').run().changes;
  }

  markStreamingInterrupted(): number {
    return this.#db.prepare("UPDATE messages SET status = 'interrupted' WHERE status = 'streaming'").run().changes;
  }

  search(query: string, limit = 50): SearchHit[] {
    const fts = toFtsQuery(query);
    if (!fts) return [];
    const rows = this.#db
      .prepare(
        `SELECT m.id AS message_id, m.conversation_id, m.role, m.created_at, c.title,
                snippet(messages_fts, 0, ?, ?, '…', 16) AS snippet
         FROM messages_fts JOIN messages m ON m.rowid = messages_fts.rowid
         JOIN conversations c ON c.id = m.conversation_id
         WHERE messages_fts MATCH ? AND c.hidden = 0 ORDER BY bm25(messages_fts), m.created_at DESC LIMIT ?`,
      )
      .all(MATCH_START, MATCH_END, fts, limit) as {
      message_id: string;
      conversation_id: string;
      role: MessageRole;
      created_at: number;
      title: string;
      snippet: string;
    }[];
    return rows.map((r) => ({
      conversationId: r.conversation_id,
      conversationTitle: r.title,
      messageId: r.message_id,
      role: r.role,
      snippet: parseSnippet(r.snippet),
      createdAt: r.created_at,
    }));
  }
}
