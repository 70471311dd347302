// Chat turns: writes what the user typed, streams the model's reply into the store while it
// streams (checkpoints), and records how the reply ended. Knows no transport.
import { UserFacingError } from '../../contract/errors.ts';
import type { Message, ReplyStage, SentTurn, Settings } from '../../contract/types.ts';
import type { AdapterUse, ChatTurn, Engine } from '../engine/engine.ts';
import type { ConversationStore } from '../store/conversation-store.ts';
import type { Grounder, PassageBudget } from '../retrieval/grounder.ts';
import { GROUNDING_INSTRUCTIONS, type GroundedAnswer } from '../retrieval/grounding.ts';
import type { ChatAudit } from '../audit/chat-audit.ts';

/** What an evaluation asks of a reply instead of the assistant's choice: this model, with or without its adapters. */
export interface ReplyOverride {
  modelId: string;
  withAdapters: boolean;
}

/** How a conversation's assistant shapes a reply. */
export interface ReplyProfile {
  /** The assistant's instructions, first in the system prompt (stable turn to turn). */
  instructions: string;
  /** Generation settings: the app's, with the assistant's over them. */
  settings: Settings;
  /** The assistant's name when it answers only from documents (null: it may answer from the model). */
  onlyFromDocuments: string | null;
  /** LoRA adapters its replies are written with (checked against the loaded model). */
  adapters: AdapterUse[];
  /** The context size its replies use. */
  contextSize?: number;
}

export interface ChatEvents {
  delta(e: { conversationId: string; messageId: string; text: string }): void;
  /** What a reply from documents is doing before its first words (searching, reranking, reading). */
  stage?(e: { conversationId: string; messageId: string; stage: ReplyStage }): void;
  done(e: { conversationId: string; message: Message }): void;
  conversationsChanged(conversationId: string): void;
}

interface ActiveReply {
  conversationId: string;
  controller: AbortController;
  finished: Promise<void>;
}

/** How often streamed text is written to disk: a crash loses at most this much of a reply. */
export const CHECKPOINT_INTERVAL_MS = 500;
/**
 * Streamed text is sent to the renderer at most once per frame: a small model on a fast CPU makes
 * over a thousand tokens a second, and one IPC or socket message per token costs throughput.
 */
export const DELTA_INTERVAL_MS = 16;

export class ChatService {
  readonly #store: ConversationStore;
  readonly #engine: Engine;
  readonly #settings: () => Settings;
  readonly #events: ChatEvents;
  readonly #checkpointMs: number;
  readonly #grounder: Grounder | null;
  readonly #profile: (conversationId: string, override?: ReplyOverride) => Promise<ReplyProfile>;
  readonly #hold: () => string | null;
  readonly #audit: ChatAudit | null;
  #active: ActiveReply | null = null;

  constructor(deps: {
    store: ConversationStore;
    engine: Engine;
    settings: () => Settings;
    events: ChatEvents;
    checkpointIntervalMs?: number;
    /** Grounds answers in the conversation's collections and shared documents, when it has any. */
    grounder?: Grounder;
    /** What the conversation's assistant asks of a reply (its instructions and settings). */
    profile?: (conversationId: string, override?: ReplyOverride) => Promise<ReplyProfile>;
    /** Why replies must wait (an evaluation holds the model), or null. Its own replies pass. */
    hold?: () => string | null;
    /** Records each question, the passages given to the model, and the answer. */
    audit?: ChatAudit;
  }) {
    this.#hold = deps.hold ?? (() => null);
    this.#audit = deps.audit ?? null;
    this.#store = deps.store;
    this.#engine = deps.engine;
    this.#settings = deps.settings;
    this.#events = deps.events;
    this.#checkpointMs = deps.checkpointIntervalMs ?? CHECKPOINT_INTERVAL_MS;
    this.#grounder = deps.grounder ?? null;
    this.#profile = deps.profile ?? (async () => ({ instructions: '', settings: this.#settings(), onlyFromDocuments: null, adapters: [] }));
  }

  /** Resolves when the reply in progress (if any) has finished and been saved. */
  get idle(): Promise<void> {
    return this.#active?.finished ?? Promise.resolve();
  }

  #requireConversation(conversationId: string) {
    const conversation = this.#store.getConversation(conversationId);
    if (!conversation) throw new UserFacingError('conversation/not-found', 'That conversation no longer exists.');
    return conversation;
  }

  /** Checks, before anything is written, that a reply can start now. */
  #assertCanReply(override?: ReplyOverride): void {
    const held = override ? null : this.#hold();
    if (held) throw new UserFacingError('chat/busy', held);
    if (this.#active) {
      throw new UserFacingError('chat/busy', 'The model is still answering. Wait for it, or stop it first.');
    }
    const state = this.#engine.status.state;
    // A task's batch gives way: the reply waits for its current field and goes next.
    if (state === 'generating' && !this.#engine.backgroundBusy) throw new UserFacingError('chat/busy', 'The model is busy (answering elsewhere or writing a summary). Try again when it has finished.');
    if (state === 'loading') throw new UserFacingError('model/not-loaded', 'The model is still loading. Try again in a moment.');
    if (state !== 'ready' && state !== 'generating') throw new UserFacingError('model/not-loaded', 'No model is loaded. Add or choose a model first.');
  }

  send(conversationId: string, text: string, override?: ReplyOverride): SentTurn {
    this.#requireConversation(conversationId);
    this.#assertCanReply(override);
    const isFirst = this.#store.listMessages(conversationId).length === 0;
    const userMessage = this.#store.appendMessage({ conversationId, role: 'user', content: text, status: 'complete' });
    if (isFirst) this.#store.proposeTitleIfDefault(conversationId, text);
    const assistantMessage = this.#startReply(conversationId, override);
    return { userMessage, assistantMessage };
  }

  /** Replaces a sent user message and everything after it, then answers again. */
  edit(messageId: string, text: string): SentTurn {
    const message = this.#store.getMessage(messageId);
    if (!message) throw new UserFacingError('message/not-found', 'That message no longer exists.');
    if (message.role !== 'user') throw new UserFacingError('message/not-editable', 'Only your own messages can be edited.');
    this.#assertCanReply();
    const position = this.#store.positionOf(messageId)!;
    this.#store.updateMessageContent(messageId, text);
    this.#store.deleteMessagesAfter(message.conversationId, position);
    if (position === 0) this.#store.proposeTitleIfDefault(message.conversationId, text);
    this.#engine.forgetConversation(message.conversationId);
    const assistantMessage = this.#startReply(message.conversationId);
    return { userMessage: this.#store.getMessage(messageId)!, assistantMessage };
  }

  /** Replaces the last reply with a new one (or answers a last user message that has none). */
  regenerate(conversationId: string): Message {
    this.#requireConversation(conversationId);
    this.#assertCanReply();
    const messages = this.#store.listMessages(conversationId);
    const last = messages[messages.length - 1];
    if (!last) throw new UserFacingError('chat/nothing-to-regenerate', 'There is no reply to regenerate yet.');
    if (last.role === 'assistant') {
      if (messages.length < 2) throw new UserFacingError('chat/nothing-to-regenerate', 'There is no reply to regenerate yet.');
      this.#store.deleteMessagesAfter(conversationId, this.#store.positionOf(messages[messages.length - 2].id)!);
    }
    return this.#startReply(conversationId);
  }

  /**
   * Goes on with the last reply where it was cut off at the longest reply allowed: the model
   * continues its own text, and what it writes is added to the same reply. Answers from documents
   * are not continued (their every sentence was checked as a whole); they are regenerated.
   */
  continue(conversationId: string): Message {
    this.#requireConversation(conversationId);
    this.#assertCanReply();
    const last = this.#store.listMessages(conversationId).at(-1);
    if (!last || last.role !== 'assistant' || !last.cutOff || last.status !== 'complete') {
      throw new UserFacingError('chat/nothing-to-continue', 'Only a reply that stopped at the length limit can be continued.');
    }
    if (this.#store.hasGrounding(last.id)) {
      throw new UserFacingError('chat/nothing-to-continue', 'An answer from your documents cannot be continued: regenerate it, or raise “Max reply tokens” in Settings first.');
    }
    const reopened = this.#store.reopenMessage(last.id);
    const controller = new AbortController();
    const active: ActiveReply = { conversationId, controller, finished: Promise.resolve() };
    this.#active = active;
    const settle = () => {
      if (this.#active === active) this.#active = null;
    };
    active.finished = this.#run(conversationId, reopened, controller.signal, settle, undefined, last).finally(settle);
    this.#events.conversationsChanged(conversationId);
    return reopened;
  }

  stop(conversationId: string): { stopped: boolean } {
    if (!this.#active || this.#active.conversationId !== conversationId) return { stopped: false };
    this.#active.controller.abort();
    return { stopped: true };
  }

  /** Stops any reply and waits until what it wrote is saved (app quit). */
  async shutdown(): Promise<void> {
    this.#active?.controller.abort();
    await this.idle;
  }

  #startReply(conversationId: string, override?: ReplyOverride): Message {
    const assistant = this.#store.appendMessage({ conversationId, role: 'assistant', content: '', status: 'streaming' });
    const controller = new AbortController();
    const active: ActiveReply = { conversationId, controller, finished: Promise.resolve() };
    this.#active = active;
    // The reply is settled (a new one may start) before its "done" is announced, so a client that
    // sends the next message the moment it sees the answer is never told the model is busy.
    const settle = () => {
      if (this.#active === active) this.#active = null;
    };
    active.finished = this.#run(conversationId, assistant, controller.signal, settle, override).finally(settle);
    this.#events.conversationsChanged(conversationId);
    return assistant;
  }

  #turnsBefore(conversationId: string, assistantId: string): ChatTurn[] {
    const turns: ChatTurn[] = [];
    for (const m of this.#store.listMessages(conversationId)) {
      if (m.id === assistantId) break;
      // A failed reply with no text is not part of what the model said.
      if (m.role === 'assistant' && m.content.trim() === '') continue;
      turns.push({ role: m.role, text: m.content });
    }
    return turns;
  }

  /**
   * Tokens the sources may take: the context less the reply's room, the system prompt with the
   * grounding instructions, the question, and a share kept for the conversation so far.
   */
  #passageBudget(systemPrompt: string, question: string, settings: Settings): PassageBudget {
    const contextSize = this.#engine.contextSize ?? 2048;
    const count = (text: string) => this.#engine.countTokens(text);
    const reply = Math.min(settings.maxTokens, Math.floor(contextSize / 4));
    const fixed = count(`${systemPrompt}\n\n${GROUNDING_INSTRUCTIONS}`) + count(question) + 48;
    return { tokens: Math.max(0, Math.floor((contextSize - reply - fixed) * 0.75)), count };
  }

  async #run(conversationId: string, assistant: Message, signal: AbortSignal, settle: () => void, override?: ReplyOverride, continuing?: Message): Promise<void> {
    const conversation = this.#store.getConversation(conversationId)!;
    // A continued reply starts from what it said before; only the new words stream.
    const before = continuing?.content ?? '';
    let text = before;
    let unsent = '';
    let deltaTimer: ReturnType<typeof setTimeout> | null = null;
    const flushDelta = () => {
      if (deltaTimer) clearTimeout(deltaTimer);
      deltaTimer = null;
      if (!unsent) return;
      this.#events.delta({ conversationId, messageId: assistant.id, text: unsent });
      unsent = '';
    };
    let lastCheckpoint = performance.now();
    let final: Message;
    let grounded: GroundedAnswer | null = null;
    let fromDocuments = false;
    let refused = false;
    try {
      const turns = this.#turnsBefore(conversationId, assistant.id);
      const question = turns.at(-1)?.role === 'user' ? turns.at(-1)!.text : '';
      this.#audit?.asked({
        conversationId,
        conversationTitle: conversation.title,
        assistantId: conversation.assistantId,
        messageId: assistant.id,
        question,
        evaluation: override !== undefined,
        continued: continuing !== undefined,
      });
      const profile = await this.#profile(conversationId, override);
      const settings = profile.settings;
      const ownPrompt = [profile.instructions.trim(), conversation.systemPrompt.trim()].filter(Boolean).join('\n\n');
      const budget = () => this.#passageBudget(ownPrompt, question, settings);
      const stage = (s: ReplyStage) => this.#events.stage?.({ conversationId, messageId: assistant.id, stage: s });
      const grounding = this.#grounder && !continuing ? await this.#grounder.prepare(conversationId, question, budget, signal, stage) : null;
      const refusal =
        grounding?.refusal ??
 (!grounding && !continuing && profile.onlyFromDocuments
          ? `“${profile.onlyFromDocuments}” answers only from documents, and this conversation has none. Choose a collection under “Answer from”, or share a document with this conversation.`
          : null);
      if (grounding) {
        fromDocuments = true;
        this.#audit?.retrieved({ conversationId, messageId: assistant.id, passages: grounding.passages, search: grounding.search });
      }
      if (refusal) {
        // Nothing to answer from: said plainly, without asking the model to improvise.
        refused = true;
        final = this.#store.finishMessage(assistant.id, refusal, 'complete', null);
        // A refusal from documents keeps the closest passages it looked at, shown as not answering.
        const closest = grounding?.finish(assistant.id, refusal) ?? null;
        this.#audit?.answered({ conversationId, message: final, grounded: closest, fromDocuments, refused });
        this.#events.delta({ conversationId, messageId: assistant.id, text: refusal });
        settle();
        this.#events.done({ conversationId, message: final });
        this.#events.conversationsChanged(conversationId);
        return;
      }
      // Sources go in this question's turn only; earlier turns stay as they were asked, and the
      // system prompt stays the same, so the model's cached tokens for them are reused.
      // The model reads the passages before its first word (long on a CPU): said meanwhile.
      if (grounding && grounding.passages.length > 0) stage({ kind: 'reading', passages: grounding.passages.length });
      const systemPrompt = [ownPrompt, grounding?.instructions].filter(Boolean).join('\n\n');
      if (grounding) turns[turns.length - 1] = { role: 'user', text: grounding.userTurn };
      const result = await this.#engine.generate({
        conversationId,
        systemPrompt,
        turns,
        settings,
        signal,
        adapters: profile.adapters,
        contextSize: profile.contextSize,
        // An answer from documents that starts repeating itself is cut there (small models loop).
        stopOnLoop: grounding !== null,
        continueFrom: continuing ? before : undefined,
        onText: (chunk) => {
          text += chunk;
          unsent += chunk;
          // The first words go out at once (time to first token); the rest once per frame.
          if (text.length === before.length + chunk.length) flushDelta();
          else deltaTimer ??= setTimeout(flushDelta, DELTA_INTERVAL_MS);
          const now = performance.now();
          if (now - lastCheckpoint >= this.#checkpointMs) {
            lastCheckpoint = now;
            this.#store.checkpoint(assistant.id, text);
          }
        },
      });
      grounded = grounding?.finish(assistant.id, result.text) ?? null;
      const shown = grounded?.content ?? before + result.text;
      final = this.#store.finishMessage(assistant.id, shown, result.stopReason === 'aborted' ? 'stopped' : 'complete', {
        tokenCount: result.tokenCount + (continuing?.tokenCount ?? 0),
        tokensPerSecond: result.tokensPerSecond,
        durationMs: result.durationMs + (continuing?.durationMs ?? 0),
        contextTokens: result.contextTokens,
        contextSize: result.contextSize,
        modelName: result.modelName,
        cutOff: result.stopReason === 'max-tokens',
      });
    } catch (e) {
      const message = e instanceof UserFacingError ? e.message : `The model failed while answering: ${(e as Error).message}`;
      if (!(e instanceof UserFacingError)) console.error('[chat] generation failed', e);
      final = this.#store.finishMessage(assistant.id, text, 'error', null, message);
    }
    this.#audit?.answered({ conversationId, message: final, grounded, fromDocuments, refused });
    flushDelta();
    settle();
    this.#events.done({ conversationId, message: final });
    this.#events.conversationsChanged(conversationId);
  }
}
