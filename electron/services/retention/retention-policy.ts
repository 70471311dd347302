// Which documents and conversations retention deletes, decided from the collections' rules
// alone (no I/O, so a change can be previewed before it is saved). Deleting cannot be undone, so
// every doubt keeps: an item in several collections is kept as long as the longest of their rules,
// and forever if any of them keeps forever; an item in no collection has no rule; a legal hold on
// any of its collections keeps it; a document is not deleted while one that came with it (an
// e-mail's attachment, deleted with it) must be kept.
import type { Collection, RetentionItem, RetentionPlan } from '../../contract/types.ts';
import type { RetentionSnapshot } from '../store/retention-store.ts';

export const DAY_MS = 86_400_000;

type Rules = Pick<Collection, 'id' | 'name' | 'retention' | 'legalHold'>;

interface Verdict {
  /** Past its time under the rules (holds aside). */
  expired: boolean;
  /** Must stay whatever its own time says: a rule keeps it forever, or is not yet past. */
  kept: boolean;
  days: number;
  heldBy: string[];
}

function verdict(collectionIds: string[], since: number, rules: Map<string, Rules>, daysOf: (r: Rules) => number | null, now: number): Verdict | null {
  const mine = collectionIds.map((id) => rules.get(id)).filter((r): r is Rules => r !== undefined);
  if (mine.length === 0) return null;
  const heldBy = mine.filter((r) => r.legalHold !== null).map((r) => r.name);
  const days = mine.map(daysOf);
  if (days.some((d) => d === null)) return { expired: false, kept: true, days: Infinity, heldBy };
  const longest = Math.max(...(days as number[]));
  const expired = since + longest * DAY_MS <= now;
  return { expired, kept: !expired, days: longest, heldBy };
}

/** What the rules delete at `now` (due), and what they would delete but for a legal hold (held). */
export function planRetention(snapshot: RetentionSnapshot, collections: Rules[], now: number): RetentionPlan {
  const rules = new Map(collections.map((c) => [c.id, c]));
  const names = (ids: string[]) => ids.map((id) => rules.get(id)?.name).filter((n): n is string => n !== undefined);
  const due: RetentionItem[] = [];
  const held: RetentionItem[] = [];

  const documentVerdicts = new Map(snapshot.documents.map((d) => [d.id, verdict(d.collectionIds, d.createdAt, rules, (r) => r.retention.documentDays, now)]));
  const children = new Map<string, string[]>();
  for (const d of snapshot.documents) if (d.parentId) children.set(d.parentId, [...(children.get(d.parentId) ?? []), d.id]);
  /** What must stay among the documents deleted with this one: kept ones, and the holds on them. */
  const below = (id: string, seen = new Set<string>()): { kept: boolean; heldBy: string[] } => {
    let kept = false;
    const heldBy: string[] = [];
    for (const child of children.get(id) ?? []) {
      if (seen.has(child)) continue;
      seen.add(child);
      const v = documentVerdicts.get(child);
      if (v?.kept) kept = true;
      if (v) heldBy.push(...v.heldBy);
      const deeper = below(child, seen);
      kept ||= deeper.kept;
      heldBy.push(...deeper.heldBy);
    }
    return { kept, heldBy };
  };

  for (const d of snapshot.documents) {
    const v = documentVerdicts.get(d.id);
    if (!v?.expired) continue;
    const rest = below(d.id);
    if (rest.kept) continue;
    const heldBy = [...new Set([...v.heldBy, ...rest.heldBy])];
    const item: RetentionItem = { kind: 'document', id: d.id, title: d.title, since: d.createdAt, days: v.days, collections: names(d.collectionIds), heldBy };
    (heldBy.length ? held : due).push(item);
  }
  // A document deleted with its parent is not listed twice.
  const dueIds = new Set(due.map((i) => i.id));
  const parentOf = new Map(snapshot.documents.map((d) => [d.id, d.parentId]));
  const underDue = (id: string): boolean => {
    for (let p = parentOf.get(id); p; p = parentOf.get(p)) if (dueIds.has(p)) return true;
    return false;
  };
  const documents = due.filter((i) => !underDue(i.id));

  const conversations: RetentionItem[] = [];
  for (const c of snapshot.conversations) {
    const v = verdict(c.collectionIds, c.updatedAt, rules, (r) => r.retention.conversationDays, now);
    if (!v?.expired) continue;
    const item: RetentionItem = { kind: 'conversation', id: c.id, title: c.title, since: c.updatedAt, days: v.days, collections: names(c.collectionIds), heldBy: v.heldBy };
    (v.heldBy.length ? held : conversations).push(item);
  }
  return { due: [...documents, ...conversations], held };
}

/** The collections that hold a legal hold over these collection ids. */
export function holdsAmong(collectionIds: string[], collections: Rules[]): Rules[] {
  const ids = new Set(collectionIds);
  return collections.filter((c) => ids.has(c.id) && c.legalHold !== null);
}
