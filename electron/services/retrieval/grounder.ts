// Grounds a conversation's answers in its documents: the collections it answers from and the
// documents shared with it, by one path (a shared document is a one-document scope). Retrieves
// passages for the question, fits them to the model's context, gives them to the model in the
// user turn (the system prompt stays the same turn to turn, so the KV cache is reused), and
// attributes the answer. When nothing relevant is found, it says so plainly.
import type { AnswerSearch, ReplyStage } from '../../contract/types.ts';
import type { RetrievalStore, StoredChunk } from '../store/retrieval-store.ts';
import { splitSentences } from './attribution.ts';
import { asksAboutDocument, evidenceAnswers, questionConcepts, topEvidence, type EvidenceSentence } from './evidence.ts';
import { GROUNDING_INSTRUCTIONS, groundAnswer, groundedUserTurn, sourceHeading, type GroundedAnswer } from './grounding.ts';
import { documentNames, withoutNaming, type TitledDocument } from './named-documents.ts';
import type { Retriever } from './retriever.ts';

export interface GroundingPlan {
  /** Replaces the model: the reply to give as is (nothing relevant was found). */
  refusal: string | null;
  /** Added to the system prompt: the same for every grounded turn. */
  instructions: string;
  /** Given to the model in place of the question (sources, then the question). */
  userTurn: string;
  /** The passages given to the model (for the audit trail): document and page of each. */
  passages: { documentId: string; documentTitle: string; pageNumber: number }[];
  /** How the passages were found (null when no search ran). Kept with the answer. */
  search: AnswerSearch | null;
  /** Attributes the finished answer, records its sources, and returns what to show. */
  finish(messageId: string, answer: string): GroundedAnswer | null;
}

/** Tokens the sources may take in the user turn, and how to count them. */
export interface PassageBudget {
  tokens: number;
  count(text: string): number;
}

export interface Grounder {
  /** `budget` is asked for only when there are passages to fit; `onStage` hears when the search and the reranking start. */
  prepare(conversationId: string, question: string, budget: () => PassageBudget, signal?: AbortSignal, onStage?: (stage: ReplyStage) => void): Promise<GroundingPlan | null>;
}

/** Passages retrieved before fitting: more than fit, so a smaller context can still pick the best. */
const CANDIDATES = 12;
/** The most passages given at once, however large the context. */
const MAX_PASSAGES = 6;

/**
 * The passages that fit the budget, in rank order. A passage that does not fit whole is cut at
 * a sentence end (keeping its offsets), so a small context gets shorter passages, not an error.
 */
export function fitPassages(ranked: StoredChunk[], budget: PassageBudget, heading = sourceHeading): StoredChunk[] {
  const chosen: StoredChunk[] = [];
  let used = 0;
  for (const chunk of ranked) {
    if (chosen.length >= MAX_PASSAGES) break;
    const cost = budget.count(`${heading(chunk, chosen.length + 1)}\n${chunk.text}\n\n`);
    if (used + cost <= budget.tokens) {
      chosen.push(chunk);
      used += cost;
      continue;
    }
    const room = budget.tokens - used - budget.count(`${heading(chunk, chosen.length + 1)}\n\n\n`);
    if (room < 24) continue;
    // Cut at the last sentence end that fits (the first sentences are kept).
    let end = 0;
    for (const s of splitSentences(chunk.text)) {
      if (budget.count(chunk.text.slice(0, s.end)) > room) break;
      end = s.end;
    }
    if (end === 0) {
      // Not even one sentence: whole words, as many as fit (about 3 characters a token at least).
      end = Math.min(chunk.text.length, room * 3);
      while (end > 0 && budget.count(chunk.text.slice(0, end)) > room) end = Math.floor(end * 0.8);
      end = chunk.text.lastIndexOf(' ', end) > 0 ? chunk.text.lastIndexOf(' ', end) : end;
    }
    if (end <= 0) continue;
    const text = chunk.text.slice(0, end);
    chosen.push({ ...chunk, text, charEnd: chunk.charStart + text.length });
    used += budget.count(`${heading(chunk, chosen.length)}\n${text}\n\n`);
  }
  return chosen;
}

/**
 * Tokens of sources a grounded turn gives by default. A 1–4 B model on a laptop CPU reads 50–300
 * tokens a second, so the ~1,500 tokens of six whole chunks kept the first word 5–30 s away; the
 * best sentences with their neighbours say as much in a third of that.
 */
export const SOURCE_TOKENS = 500;
/** A question about a document as a whole (a summary, what it is about): no one sentence answers it. */
const WHOLE_DOCUMENT = /\b(?:summar\w*|overview|gist|main (?:points?|ideas?)|key (?:points?|takeaways?)|what (?:is|are) (?:this|these|it) about|tell me about (?:this|it)|explain (?:this|it))\b/i;
/** Evidence places given to the model, at most. */
const EXCERPTS = 4;

/**
 * The model's sources: the best evidence sentences of the ranked passages, each with the sentence
 * before and after it (a clause often runs over two), merged where they overlap in one passage,
 * in evidence order. Each excerpt keeps its place on the page (charStart), so citations of it
 * point at the page's own characters.
 */
export function evidenceExcerpts(ranked: StoredChunk[], evidence: EvidenceSentence[]): StoredChunk[] {
  const spans = new Map<number, { start: number; end: number; order: number }[]>();
  evidence.slice(0, EXCERPTS).forEach((e, order) => {
    const chunk = ranked[e.passage];
    const sentences = splitSentences(chunk.text, 500);
    const at = sentences.findIndex((s) => s.end > e.quote.start);
    const start = sentences[Math.max(0, at - 1)]?.start ?? e.quote.start;
    const end = sentences[Math.min(sentences.length - 1, sentences.findIndex((s) => s.end >= e.quote.end) + 1)]?.end ?? e.quote.end;
    const list = spans.get(e.passage) ?? [];
    const overlapping = list.find((x) => x.start <= end && start <= x.end);
    if (overlapping) {
      overlapping.start = Math.min(overlapping.start, Math.min(start, e.quote.start));
      overlapping.end = Math.max(overlapping.end, Math.max(end, e.quote.end));
    } else list.push({ start: Math.min(start, e.quote.start), end: Math.max(end, e.quote.end), order });
    spans.set(e.passage, list);
  });
  return [...spans.entries()]
    .flatMap(([passage, list]) => list.map((x) => ({ passage, ...x })))
    .sort((a, b) => a.order - b.order)
    .map(({ passage, start, end }) => {
      const chunk = ranked[passage];
      return { ...chunk, text: chunk.text.slice(start, end), charStart: chunk.charStart + start, charEnd: chunk.charStart + end };
    });
}

/** The question's own words for the key terms no evidence holds ("hourly", "billing"), for a refusal that says what is missing. */
function missingWords(question: string, missing: string[], naming: readonly string[]): string[] {
  const concepts = questionConcepts(question, naming);
  const words = [...question.matchAll(/[\p{L}\p{N}'’-]+/gu)].map((m) => m[0]);
  return missing.flatMap((term) => {
    const concept = concepts.find((c) => c.term === term);
    const word = words.find((w) => questionConcepts(w).some((c) => c.term === term)) ?? concept?.term;
    return word ? [word] : [];
  });
}

const quoteList = (words: string[]) => {
  const q = words.map((w) => `“${w}”`);
  return q.length <= 1 ? (q[0] ?? '') : `${q.slice(0, -1).join(', ')} or ${q.at(-1)}`;
};

/** Collections up to this many documents are searched for the party a question names (their openings are read). */
const NAMED_BY_OPENING = 500;

/** The documents of a scope with what names them: title, file name and the top of page 1. */
export function titledDocuments(store: RetrievalStore, documentIds: string[]): TitledDocument[] {
  const openings = documentIds.length <= NAMED_BY_OPENING ? new Map(store.openingChunks(documentIds).map((c) => [c.documentId, c.text.slice(0, 600)])) : new Map<string, string>();
  return store.documentTitles(documentIds).map((d) => ({ ...d, opening: openings.get(d.id) }));
}

/**
 * The passages evidence is chosen from: the retrieved ones and, for a question about the
 * document itself (its name, parties, date), the top of the first page of the documents it is
 * about, which a search by the question's words often misses.
 */
export function evidencePassages(store: RetrievalStore, question: string, ranked: StoredChunk[], named: string[]): StoredChunk[] {
  if (ranked.length === 0) return ranked;
  if (!asksAboutDocument(question)) {
    // A named document's opening (its parties, as the question named them) is read too, last:
    // the search within it left out the naming words that would have found it.
    if (named.length === 0) return ranked;
    return [...ranked, ...store.openingChunks(named.slice(0, 3)).filter((o) => !ranked.some((r) => r.id === o.id))];
  }
  const about = named.length > 0 ? named.slice(0, 3) : [...new Set(ranked.map((c) => c.documentId))].slice(0, 2);
  const openings = store.openingChunks(about).filter((o) => !ranked.some((r) => r.id === o.id));
  return [...openings, ...ranked];
}

export function createGrounder(deps: {
  store: RetrievalStore;
  retriever: Retriever;
  /** Whether a conversation may be answered from general knowledge when its documents say nothing. */
  allowGeneralAnswers: (conversationId: string) => boolean;
  /** Documents shared with the conversation: each a one-document scope. */
  sharedDocuments: (conversationId: string) => { id: string; title: string; status: string }[];
  /** Makes sure the documents are cut into passages (a document shared a moment ago). */
  ensureChunked: (documentIds: string[]) => void;
}): Grounder {
  const record = (messageId: string, grounded: GroundedAnswer, search: AnswerSearch): GroundedAnswer => {
    grounded.grounding.search = search;
    deps.store.saveSources(messageId, grounded.sources);
    deps.store.saveGrounding(messageId, grounded.grounding);
    return grounded;
  };
  return {
    async prepare(conversationId, question, budget, signal, onStage) {
      const collectionIds = deps.store.conversationCollections(conversationId);
      const shared = deps.sharedDocuments(conversationId);
      if (collectionIds.length === 0 && shared.length === 0) return null;
      const names = [
        ...collectionIds.map((id) => deps.store.getCollection(id)?.name).filter(Boolean).map((n) => `“${n}”`),
        ...shared.map((d) => `“${d.title}”`),
      ].join(', ');
      const sharedReady = shared.filter((d) => d.status === 'ready').map((d) => d.id);
      const documentIds = [...new Set([...deps.store.documentsIn(collectionIds), ...sharedReady])];
      const plain = (text: string, search: AnswerSearch | null = null): GroundingPlan => ({ refusal: text, instructions: '', userTurn: question, passages: [], search, finish: () => null });
      if (documentIds.length === 0) {
        return plain(`There are no readable documents in ${names} yet, so I cannot answer from them. Add documents, or wait until they have been read.`);
      }
      deps.ensureChunked(documentIds);
      onStage?.({ kind: 'searching' });
      const searchIn = (ids: string[], text = question) =>
        deps.retriever.searchDocuments(text, ids, CANDIDATES, undefined, {
          signal,
          onRerank: (model, passages) => onStage?.({ kind: 'reranking', model, passages }),
        });
      // A question that names a document of the collection is asked of that document first.
      const naming = documentIds.length > 1 ? documentNames(question, titledDocuments(deps.store, documentIds)) : { ids: [], words: [] };
      const named = naming.ids;
      // Within the named document, the words that named it would find its title block first.
      let result = await (named.length > 0 ? searchIn(named, withoutNaming(question, naming.words)) : searchIn(documentIds));
      if (named.length > 0 && !result.relevant) result = await searchIn(documentIds);
      let search: AnswerSearch = { mode: result.mode, rerankedBy: result.rerankedBy, rerankFailed: result.rerankFailed };
      let ranked = result.relevant ? result.passages : [];
      if (ranked.length === 0 && sharedReady.length > 0) {
        // A shared document is what the question is about even when no word matches ("what is
        // this about?"): its opening passages, attributed like any other.
        ranked = deps.store.leadingChunks(sharedReady, CANDIDATES);
        // Taken in page order, not from the search: nothing about their order to claim.
        if (ranked.length > 0) search = { ...search, rerankedBy: null, rerankFailed: false };
      }
      if (ranked.length === 0) {
        if (!deps.allowGeneralAnswers(conversationId)) {
          return plain(`I could not find anything about this in ${names}. The documents do not seem to cover it; try other words, or add the documents that do.`, search);
        }
        return {
          refusal: null,
          instructions: GROUNDING_INSTRUCTIONS,
          passages: [],
          search,
          userTurn: `Nothing in my documents (${names}) matched this question. Say so in your first sentence, then answer from general knowledge, and make clear that it does not come from the documents.\n\nQuestion: ${question}`,
          finish: (messageId, answer) => record(messageId, groundAnswer(answer, [], question), search),
        };
      }
      // What answers it, sentence by sentence; a question with no key terms ("what is this
      // about?") is about the passages as a whole.
      // The words that named the document say which one, not what is asked of it.
      const aboutWhole = (questionConcepts(question, naming.words).every((c) => c.generic) && !asksAboutDocument(question)) || WHOLE_DOCUMENT.test(question);
      ranked = aboutWhole ? ranked : evidencePassages(deps.store, question, ranked, named);
      const evidence = aboutWhole ? [] : topEvidence(question, ranked, 8, { naming: naming.words });
      if (!aboutWhole && !evidenceAnswers(evidence[0])) {
        // The documents do not say: before, and instead of, an answer the model would invent.
        // Nothing holds any key term: every one of them is what no passage speaks of.
        const missingTerms = evidence[0]?.missing ?? questionConcepts(question, naming.words).filter((c) => !c.generic).map((c) => c.term);
        const missing = missingWords(question, missingTerms, naming.words);
        const closest = evidenceExcerpts(ranked, evidence.slice(0, 2));
        const lacks = evidence[0]?.lacksAsked;
        const text =
          `The documents do not say. Nothing found in ${names} answers this` +
          (missing.length > 0 ? `: no passage speaks of ${quoteList(missing)}.` : lacks ? `: the passages about it give no ${lacks === 'an amount' ? 'amount' : 'period of time'}.` : '.') +
          (closest.length > 0 ? ' The closest passages are below; they do not answer it.' : '');
        if (!deps.allowGeneralAnswers(conversationId)) {
          return { ...plain(text, search), finish: (messageId) => record(messageId, groundAnswer(text, closest, question, { naming: naming.words }), search) };
        }
      }
      const fitted = budget();
      const excerpts = evidence.length > 0 && evidenceAnswers(evidence[0]) ? evidenceExcerpts(ranked, evidence) : ranked;
      const passages = fitPassages(excerpts, { tokens: Math.min(fitted.tokens, SOURCE_TOKENS), count: fitted.count }, sourceHeading);
      if (passages.length === 0) {
        return plain(
          `Passages about this were found in ${names}, but none fits in what is left of the model's context beside the instructions. Raise the context size in Settings (or the assistant's), or shorten its instructions.`,
          search,
        );
      }
      return {
        refusal: null,
        instructions: GROUNDING_INSTRUCTIONS,
        userTurn: groundedUserTurn(question, passages),
        passages: passages.map((p) => ({ documentId: p.documentId, documentTitle: p.documentTitle, pageNumber: p.pageNumber })),
        search,
        finish: (messageId, answer) => record(messageId, groundAnswer(answer, passages, question, { naming: naming.words, retrieved: ranked }), search),
      };
    },
  };
}
