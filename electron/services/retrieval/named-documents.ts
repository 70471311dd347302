// A question over a collection that names one of its documents ("In the Driven Deliveries consulting
// agreement, which law governs?") is about that document: searching every document lets another
// contract's governing-law clause answer it. The names a question can use are the words of a
// document's title and file name; file names often run words together (DRIVENDELIVERIES_INC), so
// runs of the question's words are matched joined as well. A name shared by most documents
// ("agreement") names none of them. Pure functions.
import { stem } from './attribution.ts';

export interface TitledDocument {
  id: string;
  title: string;
  fileName: string;
  /** The top of its first page, where a contract names its parties ("Kathy Ireland, Inc. … The Sterling/Winters Co."). */
  opening?: string;
}

const WEAK = new Set(
  'agreement agreements contract contracts document documents the this that and for with between of in on to a an inc incorporated corp corporation co ltd llc lp plc company group holdings what which who when where how does do is are can there any party parties'
    .split(' '),
);

/** Capitalised words an opening holds that name no party: places (states, countries, cities) and times. */
const PLACES_AND_TIMES = new Set(
  (
    'alabama alaska arizona arkansas california colorado connecticut delaware florida georgia hawaii idaho illinois indiana iowa kansas kentucky louisiana maine maryland massachusetts michigan minnesota mississippi missouri montana nebraska nevada hampshire jersey mexico york carolina dakota ohio oklahoma oregon pennsylvania rhode tennessee texas utah vermont virginia washington wisconsin wyoming columbia ' +
    'america usa united states kingdom england wales scotland ireland canada ontario quebec british china japan germany france india israel switzerland netherlands australia singapore hong kong ' +
    'january february march april may june july august september october november december monday tuesday wednesday thursday friday saturday sunday ' +
    'commonwealth province county city state district'
  ).split(' '),
);

const words = (text: string) => [...text.matchAll(/[\p{L}\p{N}]+/gu)].map((m) => m[0].toLowerCase());
const squash = (text: string) => text.toLowerCase().replace(/[^\p{L}\p{N}]+/gu, '');

/**
 * The documents the question names, best first (none when it names none, or most of them), and the question's words that named them (lower case): those
 * words say which document, not what is asked of it, so evidence ranking leaves them out.
 */
export function documentNames(question: string, documents: TitledDocument[]): { ids: string[]; words: string[] } {
  if (documents.length < 2) return { ids: [], words: [] };
  const q = words(question);
  // A party's name counts where the question writes it as a name (capitalised), so that "California" in
  // "governed by California law" does not name every contract whose preamble mentions the state.
  const capitalised = new Set([...question.matchAll(/(?<![.?!]\s|^)\b\p{Lu}[\p{L}\p{N}]*/gu)].map((m) => m[0].toLowerCase()));
  const haystacks = documents.map((d) => {
    const names = [...(d.opening ?? '').matchAll(/\b\p{Lu}[\p{L}\p{N}]*/gu)].map((m) => m[0].toLowerCase()).filter((w) => !WEAK.has(w));
    return {
      id: d.id,
      words: new Set([...words(d.title), ...words(d.fileName)].map(stem)),
      squashed: `${squash(d.title)} ${squash(d.fileName)}`,
      names: new Set(names),
      squashedNames: squash(names.join(' ')),
    };
  });
  const scores = new Map<string, number>();
  const namers = new Map<string, Set<string>>();
  const probes: { text: string; joined: boolean; words: string[]; name: boolean }[] = [];
  for (let i = 0; i < q.length; i++) {
    if (!WEAK.has(q[i]) && q[i].length >= 3 && !/^\d+$/.test(q[i])) probes.push({ text: q[i], joined: false, words: [q[i]], name: capitalised.has(q[i]) });
    for (let width = 2; width <= 3 && i + width <= q.length; width++) {
      const run = q.slice(i, i + width);
      if (run.some((w) => WEAK.has(w))) continue;
      probes.push({ text: run.join(''), joined: true, words: run, name: run.every((w) => capitalised.has(w)) });
    }
  }
  const inTitle = (h: (typeof haystacks)[number], probe: (typeof probes)[number]) =>
    probe.joined ? h.squashed.includes(probe.text) : h.words.has(stem(probe.text)) || (probe.text.length >= 6 && h.squashed.includes(probe.text));
  // In the opening, a party's name ("Pey Dirt", "Stratton"); not a place or a month, which an
  // opening names as often ("a Delaware corporation", "as of March 1") as a question asks about it.
  const inNames = (h: (typeof haystacks)[number], probe: (typeof probes)[number]) =>
    probe.name && (probe.joined ? h.squashedNames.includes(probe.text) : !PLACES_AND_TIMES.has(probe.text) && h.names.has(probe.text));
  for (const probe of probes) {
    const hits = haystacks.filter((h) => inTitle(h, probe) || inNames(h, probe));
    // A word most documents carry names none of them; a rarer one names those that carry it.
    if (hits.length === 0 || hits.length > Math.max(1, Math.floor(documents.length / 3))) continue;
    const weight = (probe.joined ? 2 : 1) * Math.log(1 + documents.length / hits.length);
    for (const h of hits) {
      scores.set(h.id, (scores.get(h.id) ?? 0) + weight);
      const set = namers.get(h.id) ?? new Set<string>();
      for (const w of probe.words) set.add(w);
      namers.set(h.id, set);
    }
  }
  if (scores.size === 0) return { ids: [], words: [] };
  const ranked = [...scores.entries()].sort((a, b) => b[1] - a[1]);
  const best = ranked[0][1];
  // The clearly named: within half the best score (two documents of one party are both named).
  const ids = ranked.filter(([, s]) => s >= best * 0.5 && s >= 1).map(([id]) => id);
  return { ids, words: [...new Set(ids.flatMap((id) => [...(namers.get(id) ?? [])]))] };
}

/**
 * The question without the words that named its document: once the search is within that
 * document, they would only pull its title block and preamble ahead of the clause asked about.
 */
export function withoutNaming(question: string, naming: readonly string[]): string {
  if (naming.length === 0) return question;
  const drop = new Set(naming.map((w) => w.toLowerCase()));
  const rest = question.replace(/[\p{L}\p{N}]+/gu, (w) => (drop.has(w.toLowerCase()) ? '' : w)).replace(/\s{2,}/g, ' ').trim();
  return /[\p{L}]{3,}/u.test(rest) ? rest : question;
}
