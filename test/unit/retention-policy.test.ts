// What retention deletes, decided from the rules alone: the longest rule among an item's
// collections, forever if any keeps forever, nothing for an item in no collection, a hold on any
// collection keeps it, and a document is not deleted while one that goes with it must stay.
import { describe, expect, it } from 'vitest';
import type { Collection } from '../../electron/contract/types.ts';
import { DAY_MS, planRetention } from '../../electron/services/retention/retention-policy.ts';
import type { RetentionSnapshot } from '../../electron/services/store/retention-store.ts';

const NOW = Date.UTC(2026, 11, 2);
const ago = (days: number) => NOW - days * DAY_MS;
const collection = (id: string, documentDays: number | null, conversationDays: number | null = null, held = false): Collection => ({
  id,
  name: id.toUpperCase(),
  createdAt: 0,
  documentIds: [],
  retention: { documentDays, conversationDays },
  legalHold: held ? { reason: 'Case 26-1', since: ago(1) } : null,
});
const doc = (id: string, days: number, collectionIds: string[], parentId: string | null = null) => ({ id, title: id, createdAt: ago(days), parentId, collectionIds });
const ids = (items: { id: string }[]) => items.map((i) => i.id).sort();

describe('retention policy', () => {
  it('deletes a document past its collection’s days, and nothing younger or outside any rule', () => {
    const snap: RetentionSnapshot = { documents: [doc('old', 31, ['a']), doc('young', 29, ['a']), doc('loose', 400, []), doc('exact', 30, ['a'])], conversations: [] };
    const plan = planRetention(snap, [collection('a', 30)], NOW);
    expect(ids(plan.due)).toEqual(['exact', 'old']);
    expect(plan.held).toEqual([]);
    expect(plan.due.find((i) => i.id === 'old')).toMatchObject({ kind: 'document', days: 30, collections: ['A'], heldBy: [] });
  });

  it('the longest rule wins, and one collection that keeps forever keeps it', () => {
    const snap: RetentionSnapshot = { documents: [doc('both', 40, ['a', 'b']), doc('forever', 900, ['a', 'f']), doc('past-both', 70, ['a', 'b'])], conversations: [] };
    const plan = planRetention(snap, [collection('a', 30), collection('b', 60), collection('f', null)], NOW);
    expect(ids(plan.due)).toEqual(['past-both']);
    expect(plan.due[0].days).toBe(60);
  });

  it('a legal hold on any of its collections keeps it, and says which', () => {
    const snap: RetentionSnapshot = { documents: [doc('d', 40, ['a', 'h'])], conversations: [{ id: 'c', title: 'c', updatedAt: ago(100), collectionIds: ['a', 'h'] }] };
    const rules = [collection('a', 30, 90), collection('h', 1, 1, true)];
    const plan = planRetention(snap, rules, NOW);
    expect(plan.due).toEqual([]);
    expect(plan.held.map((i) => [i.kind, i.id, i.heldBy])).toEqual([
      ['document', 'd', ['H']],
      ['conversation', 'c', ['H']],
    ]);
  });

  it('conversations follow the conversation rule, from their last message', () => {
    const snap: RetentionSnapshot = {
      documents: [doc('d', 50, ['a'])],
      conversations: [
        { id: 'stale', title: 'stale', updatedAt: ago(91), collectionIds: ['a'] },
        { id: 'used', title: 'used', updatedAt: ago(5), collectionIds: ['a'] },
      ],
    };
    const plan = planRetention(snap, [collection('a', null, 90)], NOW);
    expect(ids(plan.due)).toEqual(['stale']);
  });

  it('an e-mail is not deleted while an attachment must stay; one deleted with it is not listed twice', () => {
    const snap: RetentionSnapshot = {
      documents: [doc('mail', 40, ['a']), doc('kept-attachment', 40, ['f'], 'mail'), doc('mail2', 40, ['a']), doc('attachment2', 40, ['a'], 'mail2'), doc('mail3', 40, ['a']), doc('held-attachment', 40, ['h'], 'mail3')],
      conversations: [],
    };
    const plan = planRetention(snap, [collection('a', 30), collection('f', null), collection('h', 30, null, true)], NOW);
    expect(ids(plan.due)).toEqual(['mail2']);
    expect(plan.held.map((i) => [i.id, i.heldBy])).toEqual([
      ['mail3', ['H']],
      ['held-attachment', ['H']],
    ]);
  });
});
