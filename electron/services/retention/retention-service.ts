// Retention and legal holds per collection: rules saved with a preview of what they delete, a
// sweep that deletes what is past its time (at start, every hour, and at once after a change), and
// the hold's guard on every way a user deletes by hand. Each deletion goes into the audit trail,
// and deletion is real: rows, search entries, vectors and Enclave's copies of the files.
import { UserFacingError } from '../../contract/errors.ts';
import type { Collection, RetentionItem, RetentionOutcome, RetentionPlan, RetentionRule } from '../../contract/types.ts';
import type { AuditLog } from '../store/audit-log.ts';
import type { RetentionStore } from '../store/retention-store.ts';
import type { RetrievalStore } from '../store/retrieval-store.ts';
import { DAY_MS, holdsAmong, planRetention } from './retention-policy.ts';

const SWEEP_EVERY_MS = 60 * 60 * 1000;

export interface RetentionDeps {
  store: RetentionStore;
  collections: RetrievalStore;
  /** Deletes a document the way the user's Delete does (with the documents that came with it). */
  deleteDocument(documentId: string): Promise<unknown>;
  deleteConversation(conversationId: string): Promise<unknown>;
  /** A document's SHA-256, for the audit trail; null once it is gone. */
  documentSha256(documentId: string): string | null;
  audit: AuditLog;
  /** The collections changed (their rules, holds or documents). */
  announce(): void;
  now?: () => number;
}

const ruleText = (days: number | null) => (days === null ? 'forever' : `${days} ${days === 1 ? 'day' : 'days'}`);

export class RetentionService {
  readonly #deps: RetentionDeps;
  readonly #now: () => number;
  #sweeping: Promise<RetentionItem[]> = Promise.resolve([]);
  #timer: NodeJS.Timeout | null = null;

  constructor(deps: RetentionDeps) {
    this.#deps = deps;
    this.#now = deps.now ?? Date.now;
  }

  #require(collectionId: string): Collection {
    const c = this.#deps.collections.getCollection(collectionId);
    if (!c) throw new UserFacingError('collection/not-found', 'That collection no longer exists.');
    return c;
  }

  /** What saving this change would delete now, and what a hold would keep; nothing is changed. */
  plan(collectionId: string, change: { retention?: RetentionRule; legalHold?: boolean }): RetentionPlan {
    const current = this.#require(collectionId);
    const all = this.#deps.collections.listCollections().map((c) =>
      c.id !== current.id
        ? c
        : {
            ...c,
            retention: change.retention ?? c.retention,
            legalHold: change.legalHold === undefined ? c.legalHold : change.legalHold ? (c.legalHold ?? { reason: '', since: this.#now() }) : null,
          },
    );
    return planRetention(this.#deps.store.snapshot(), all, this.#now());
  }

  async setRetention(collectionId: string, retention: RetentionRule): Promise<RetentionOutcome> {
    const before = this.#require(collectionId);
    this.#deps.collections.setRetention(collectionId, retention);
    const { documentDays: d0, conversationDays: c0 } = before.retention;
    if (d0 !== retention.documentDays || c0 !== retention.conversationDays) {
      this.#deps.audit.record(
        'retention.changed',
        `Retention of “${before.name}”: documents ${ruleText(retention.documentDays)}, conversations ${ruleText(retention.conversationDays)}`,
        { collectionId, collection: before.name, from: before.retention, to: retention },
      );
    }
    this.#deps.announce();
    const deleted = await this.sweep();
    return { collection: this.#require(collectionId), deleted };
  }

  async setLegalHold(collectionId: string, reason: string | null): Promise<RetentionOutcome> {
    const before = this.#require(collectionId);
    this.#deps.collections.setLegalHold(collectionId, reason, this.#now());
    if (reason !== null && before.legalHold?.reason !== reason) {
      this.#deps.audit.record('retention.hold-placed', `Legal hold on “${before.name}”: ${reason}`, { collectionId, collection: before.name, reason, previousReason: before.legalHold?.reason ?? null });
    } else if (reason === null && before.legalHold) {
      this.#deps.audit.record('retention.hold-released', `Released the legal hold on “${before.name}”`, { collectionId, collection: before.name, reason: before.legalHold.reason, since: before.legalHold.since });
    }
    this.#deps.announce();
    // Releasing a hold lets the rules delete what they had been kept from.
    const deleted = reason === null ? await this.sweep() : [];
    return { collection: this.#require(collectionId), deleted };
  }

  /** Deletes everything past its time (one sweep at a time); returns what was deleted. */
  sweep(): Promise<RetentionItem[]> {
    const run = this.#sweeping.catch(() => []).then(() => this.#sweepOnce());
    this.#sweeping = run;
    return run;
  }

  async #sweepOnce(): Promise<RetentionItem[]> {
    const now = this.#now();
    const { due } = planRetention(this.#deps.store.snapshot(), this.#deps.collections.listCollections(), now);
    const deleted: RetentionItem[] = [];
    for (const item of due) {
      // Looked at again right before: a hold placed since the plan wins.
      if (this.#heldBy(item.kind, item.id).length) continue;
      const sha256 = item.kind === 'document' ? this.#deps.documentSha256(item.id) : null;
      try {
        if (item.kind === 'document') await this.#deps.deleteDocument(item.id);
        else await this.#deps.deleteConversation(item.id);
      } catch (e) {
        // Deleted by hand meanwhile, or it failed: the next sweep looks again.
        if (!(e instanceof UserFacingError && e.code.endsWith('/not-found'))) console.error(`[enclave] retention could not delete ${item.kind} ${item.id}:`, e);
        continue;
      }
      deleted.push(item);
      const age = Math.floor((now - item.since) / DAY_MS);
      this.#deps.audit.record(
        'retention.deleted',
        `Deleted by retention: the ${item.kind} “${item.title}” (${item.kind === 'document' ? 'added' : 'last used'} ${age} days ago; kept ${ruleText(item.days)} by ${item.collections.map((n) => `“${n}”`).join(', ')})`,
        { kind: item.kind, id: item.id, title: item.title, sha256, since: item.since, days: item.days, collections: item.collections },
      );
    }
    if (deleted.length) {
      this.#deps.store.purge({ documents: deleted.some((i) => i.kind === 'document'), conversations: deleted.some((i) => i.kind === 'conversation') });
      this.#deps.announce();
    }
    return deleted;
  }

  /** Sweeps now and every hour until stopped. */
  start(): void {
    if (this.#timer) return;
    const tick = () => void this.sweep().catch((e) => console.error('[enclave] retention sweep failed:', e));
    tick();
    this.#timer = setInterval(tick, SWEEP_EVERY_MS);
    this.#timer.unref();
  }

  async stop(): Promise<void> {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
    await this.#sweeping.catch(() => {});
  }

  // The hold's guard on deleting by hand ------------------------------------------------------

  /** The collections a document (its own, not its attachments') or a conversation is in. */
  collectionsOf(kind: 'document' | 'conversation', id: string): string[] {
    return kind === 'document' ? this.#deps.store.collectionsOfDocument(id) : this.#deps.store.collectionsOfConversation(id);
  }

  #heldBy(kind: 'document' | 'conversation', id: string): Collection[] {
    const ids = kind === 'document' ? this.#deps.store.collectionsOfDocumentTree(id) : this.#deps.store.collectionsOfConversation(id);
    return holdsAmong(ids, this.#deps.collections.listCollections()) as Collection[];
  }

  #refuse(what: string, holds: Pick<Collection, 'name' | 'legalHold'>[]): never {
    const named = holds.map((h) => `“${h.name}” (${h.legalHold!.reason})`).join(', ');
    throw new UserFacingError('retention/held', `${what} is under a legal hold: ${named}. It cannot be deleted or removed until the hold is released (Documents → the collection → Retention).`);
  }

  assertDocumentDeletable(documentId: string, title: string): void {
    const holds = this.#heldBy('document', documentId);
    if (holds.length) this.#refuse(`“${title}”`, holds);
  }

  assertConversationDeletable(conversationId: string, title: string): void {
    const holds = this.#heldBy('conversation', conversationId);
    if (holds.length) this.#refuse(`The conversation “${title}”`, holds);
  }

  /** Editing or regenerating a reply deletes the messages after it. */
  assertConversationUnchanged(conversationId: string, title: string): void {
    const holds = this.#heldBy('conversation', conversationId);
    if (!holds.length) return;
    const named = holds.map((h) => `“${h.name}” (${h.legalHold!.reason})`).join(', ');
    throw new UserFacingError('retention/held', `The conversation “${title}” is under a legal hold: ${named}. Its messages cannot be edited or regenerated while the hold lasts; ask again as a new message instead.`);
  }

  assertCollectionDeletable(collectionId: string): void {
    const c = this.#require(collectionId);
    if (c.legalHold) this.#refuse(`The collection “${c.name}”`, [c]);
  }

  /**
   * Putting a document or conversation into collections whose rules would delete it at once (it is
   * older than they keep) is refused with the reason, instead of it vanishing at the next sweep.
   */
  assertNotDueOnJoin(kind: 'document' | 'conversation', id: string, collectionIds: string[]): void {
    // Collections that keep this kind forever delete nothing: no need to read the library.
    const joined = new Set(collectionIds);
    const days = (c: Collection) => (kind === 'document' ? c.retention.documentDays : c.retention.conversationDays);
    if (!this.#deps.collections.listCollections().some((c) => joined.has(c.id) && days(c) !== null)) return;
    const snapshot = this.#deps.store.snapshot();
    const list = kind === 'document' ? snapshot.documents : snapshot.conversations;
    const item = list.find((i) => i.id === id);
    if (!item) return;
    item.collectionIds = [...new Set(collectionIds)];
    const due = planRetention(snapshot, this.#deps.collections.listCollections(), this.#now()).due.find((i) => i.id === id);
    if (!due) return;
    const age = Math.floor((this.#now() - due.since) / DAY_MS);
    throw new UserFacingError(
      'retention/would-delete',
      `${kind === 'document' ? `“${due.title}” was added` : `The conversation “${due.title}” was last used`} ${age} days ago, and ${due.collections.map((n) => `“${n}”`).join(', ')} keep${due.collections.length === 1 ? 's' : ''} ${kind === 'document' ? 'documents' : 'conversations'} ${due.days} days: it would be deleted at once. Change the collection's retention first (Documents → the collection → Retention), or keep it in another collection.`,
    );
  }

  /** Taking a document out of a held collection, or a conversation off one, would escape the hold. */
  assertStaysInHeld(collectionIds: string[], what: string): void {
    const holds = holdsAmong(collectionIds, this.#deps.collections.listCollections());
    if (holds.length) this.#refuse(what, holds);
  }
}
