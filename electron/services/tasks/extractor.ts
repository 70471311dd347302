// Reads one document for a task. A small model's context does not hold a long document, so each
// field (or, for a list, each part) is read from the sentences most likely to state it, within a
// token budget; generation is constrained to JSON that names its source sentence, and every value
// is checked against the page. Which pages were read is kept with each value.
import { UserFacingError } from '../../contract/errors.ts';
import type { TaskDefinition, TaskField } from '../../contract/types.ts';
import { formatCitation, parseCitations } from '../documents/citations.ts';
import { planSections } from '../documents/summarizer.ts';
import { findSupport } from '../retrieval/attribution.ts';
import type { GenerateRequest, GenerateResult } from '../engine/engine.ts';
import type { CellDraft } from '../store/task-store.ts';
import { documentSentences, rankSentences, takeWithinBudget, type PageText, type SentenceUnit } from './sentences.ts';
import { listSchema, MAX_VALUE_CHARS, NOT_STATED, parseListAnswer, parseRecordAnswer, recordFieldSchema } from './structured-output.ts';
import { cueTerms, mentionsCue, verifyField, type Cues, type FieldRules } from './verify-field.ts';

export interface ExtractionEngine {
  generate(req: GenerateRequest): Promise<GenerateResult>;
  countTokens(text: string): number;
  readonly contextSize: number | null;
}

export interface Extraction {
  cells: CellDraft[];
  items: number;
  pagesRead: number[];
  modelMs: number;
  modelName: string | null;
  /** Generation was stopped (cancel): the extraction is incomplete and must not be saved as done. */
  aborted: boolean;
}

/** Reads of a field: the best sentences, then the next ones when the first answer did not hold. */
const RECORD_ATTEMPTS = 2;
/** Parts of a long document a list is read in (the most relevant sentences first). */
const LIST_PARTS = 3;
const MAX_OPTIONS = 12;
const MAX_LIST_OPTIONS = 24;

/** The one column of a prose task: its points. */
export const PROSE_FIELD: TaskField = { key: 'point', label: 'Point', description: 'A point the document makes, with the page it comes from', hints: [], kind: 'text' };

const listPages = (units: SentenceUnit[]) => [...new Set(units.map((u) => u.page))].sort((a, b) => a - b);

export class DocumentExtractor {
  readonly #engine: ExtractionEngine;
  constructor(engine: ExtractionEngine) {
    this.#engine = engine;
  }

  async extract(input: {
    task: TaskDefinition;
    title: string;
    pages: PageText[];
    paginated: boolean;
    signal: AbortSignal;
    /** A conversation id for the engine's sequence (one per run). */
    sequenceKey: string;
    onStep?: (label: string) => void;
  }): Promise<Extraction> {
    const units = documentSentences(input.pages);
    const pageText = new Map(input.pages.map((p) => [p.pageNumber, p.text]));
    const state = { modelMs: 0, modelName: null as string | null, aborted: false };
    const run = async (system: string, prompt: string, schema: GenerateRequest['jsonSchema'], maxTokens: number, stopOnLoop = false) => {
      const t0 = performance.now();
      try {
        const r = await this.#whenFree(input.signal, () => this.#engine.generate({
          conversationId: input.sequenceKey,
          systemPrompt: system,
          turns: [{ role: 'user', text: prompt }],
          // Greedy for structure; prose a little above it, as summaries are written.
          settings: { temperature: schema ? 0 : 0.2, topP: schema ? 1 : 0.9, maxTokens },
          signal: input.signal,
          onText: () => {},
          jsonSchema: schema,
          stopOnLoop,
          // A batch gives way to a person's reply.
          background: true,
        }));
        state.modelName = r.modelName;
        if (r.stopReason === 'aborted') state.aborted = true;
        return r;
      } finally {
        state.modelMs += performance.now() - t0;
      }
    };
    const context = this.#engine.contextSize ?? 2048;
    const label = (u: SentenceUnit) => (input.paginated ? `p. ${u.page}` : `part ${u.page}`);
    const listing = (options: SentenceUnit[]) => options.map((u, i) => `[${i + 1}] (${label(u)}) ${u.text}`).join('\n');
    const system = input.task.instructions;
    const cells: CellDraft[] = [];
    const allRead = new Set<number>();

    if (input.task.output === 'record') {
      const overhead = this.#engine.countTokens(system) + 220;
      const budget = Math.max(96, Math.floor((context - overhead) * 0.55));
      for (const field of input.task.fields) {
        if (input.signal.aborted) break;
        input.onStep?.(field.label);
        // Only sentences that could be verified are offered: one without any of the field's words
        // cannot state it (and its answer would be marked unverified anyway).
        const cues = cueTerms(field.label, field.hints);
        const ranked = rankSentences(units, { words: `${field.label} ${field.description}`, phrases: field.hints })
          .map((r) => r.unit)
          .filter((u) => mentionsCue(u.text, cues));
        const cell = await this.#recordField(field, cues, ranked, budget, { run, listing, pageText, title: input.title, system, aborted: () => state.aborted || input.signal.aborted });
        for (const p of cell.pagesRead) allRead.add(p);
        cells.push(cell);
      }
      return { cells, items: 1, pagesRead: [...allRead].sort((a, b) => a - b), modelMs: state.modelMs, modelName: state.modelName, aborted: state.aborted || input.signal.aborted };
    }

    if (input.task.output === 'prose') {
      return this.#prose(input, run, state);
    }

    // A list: the parts of the document most likely to hold items, each read once.
    const fields = input.task.fields;
    // An item's sentence must have a word such items are stated with ("mg", "daily", "shall"…).
    const itemCues = cueTerms('', input.task.itemHints, false);
    const ranked = rankSentences(units, { words: fields.map((f) => `${f.label} ${f.description}`).join(' '), phrases: input.task.itemHints })
      .map((r) => r.unit)
      .filter((u) => mentionsCue(u.text, itemCues));
    const overhead = this.#engine.countTokens(system) + 200;
    const optionBudget = Math.max(128, Math.floor((context - overhead) * 0.4));
    const seen = new Set<string>();
    const subject = `an item of the ${input.task.name.toLowerCase()}`;
    let item = 0;
    let skip = 0;
    for (let part = 0; part < LIST_PARTS && skip < ranked.length && !input.signal.aborted; part++) {
      input.onStep?.(`part ${part + 1}`);
      const options = takeWithinBudget(ranked, skip, optionBudget, (s) => this.#engine.countTokens(s), MAX_LIST_OPTIONS);
      if (options.length === 0) break;
      skip += options.length;
      for (const p of listPages(options)) allRead.add(p);
      // Room left for the answer: each item repeats its sentence and adds its fields.
      const optionTokens = options.reduce((a, o) => a + this.#engine.countTokens(o.text) + 8, 0);
      const perItem = Math.max(...options.map((o) => this.#engine.countTokens(o.text))) + fields.length * 30 + 12;
      const maxItems = Math.max(1, Math.min(10, Math.floor((context - overhead - optionTokens) / perItem)));
      const prompt =
        `Document: “${input.title}”.\n\nSentences from the document, with their pages:\n${listing(options)}\n\n` +
        `${input.task.name}: list every item these sentences state, in JSON. For each item, "quote" is the sentence that states it, copied exactly; ` +
        fields.map((f) => `"${f.key}" is the ${f.label.toLowerCase()} (${f.description.toLowerCase()}) in the sentence's own words`).join('; ') +
        `. Leave a field "" when its sentence does not state it. If no sentence states an item, give an empty list.`;
      const result = await run(system, prompt, listSchema(fields, options.map((o) => o.text), maxItems), maxItems * perItem + 40);
      if (state.aborted) break;
      const answer = parseListAnswer(result.text, result.stopReason);
      if (answer.kind === 'invalid') continue;
      for (const raw of answer.items) {
        const source = options.find((o) => o.text === raw.quote);
        if (!source) continue;
        const key = `${source.index}|${(raw[fields[0].key] ?? '').toLowerCase().trim()}`;
        if (seen.has(key)) continue;
        seen.add(key);
        const partPages = listPages(options);
        const filled = fields.filter((f) => (raw[f.key] ?? '').trim());
        if (filled.length === 0) continue;
        for (const f of fields) {
          const value = (raw[f.key] ?? '').trim();
          if (!value) {
            cells.push({ item, fieldKey: f.key, value: null, status: 'not-stated', reason: 'Not stated in the sentence quoted for this item.', quote: source.text, page: source.page, charStart: null, charEnd: null, pagesRead: partPages });
            continue;
          }
          const check = verifyField({ value, quote: source.text }, pageText.get(source.page) ?? null, { kind: f.kind, cues: itemCues, subject });
          cells.push({
            item,
            fieldKey: f.key,
            value,
            status: check.status,
            reason: check.status === 'unverified' ? check.reason : null,
            quote: source.text,
            page: source.page,
            charStart: check.charStart,
            charEnd: check.charEnd,
            pagesRead: partPages,
          });
        }
        item++;
      }
    }
    return { cells, items: item, pagesRead: [...allRead].sort((a, b) => a - b), modelMs: state.modelMs, modelName: state.modelName, aborted: state.aborted || input.signal.aborted };
  }

  /**
   * Cited prose: the whole document in sections that fit, each written as points that cite their
   * page; a point keeps a page only where that page's text supports it (as for summaries and
   * answers), with the supporting words located. A point no page supports has no page.
   */
  async #prose(
    input: { task: TaskDefinition; title: string; pages: PageText[]; paginated: boolean; signal: AbortSignal; onStep?: (label: string) => void },
    run: (system: string, prompt: string, schema: GenerateRequest['jsonSchema'], maxTokens: number, stopOnLoop?: boolean) => Promise<GenerateResult>,
    state: { modelMs: number; modelName: string | null; aborted: boolean },
  ): Promise<Extraction> {
    const context = this.#engine.contextSize ?? 2048;
    const system = input.task.instructions;
    const outputTokens = Math.max(96, Math.min(600, Math.floor(context / 4)));
    const overhead = this.#engine.countTokens(system) + 120;
    const budget = Math.max(64, context - overhead - outputTokens);
    const sections = planSections(input.pages, budget, (t) => this.#engine.countTokens(t), input.paginated);
    const pageText = new Map(input.pages.map((p) => [p.pageNumber, p.text]));
    const cells: CellDraft[] = [];
    const read = new Set<number>();
    const seen = new Set<string>();
    for (let i = 0; i < sections.length && !input.signal.aborted; i++) {
      const section = sections[i];
      input.onStep?.(sections.length > 1 ? `pages ${section.first}–${section.last}` : 'writing');
      const marker = formatCitation({ first: section.first, last: section.first }, input.paginated);
      const prompt =
        `Below is the text of “${input.title}”${sections.length > 1 ? ` (pages ${section.first}–${section.last})` : ''}. Each page starts with its marker, like ${marker}.\n\n${section.text}\n` +
        `${input.task.name}: write bullet points. End every bullet point with the page it comes from, written exactly like ${marker}.`;
      const result = await run(system, prompt, undefined, outputTokens, true);
      if (state.aborted) break;
      const pages: number[] = [];
      for (let n = section.first; n <= section.last; n++) if (pageText.has(n)) pages.push(n);
      for (const p of pages) read.add(p);
      for (const line of result.text.split('\n')) {
        const point = line.replace(/\[(?:pp?\.|part)\s*\d+(?:\s*[–-]\s*\d+)?\]/gi, '').replace(/^\s*(?:[-*•]|\d{1,3}[.)])\s*/, '').replace(/[*_`#]/g, '').trim();
        if (!/\p{L}{2}/u.test(point) || point.length < 8) continue;
        const key = point.toLowerCase().replace(/[^\p{L}\p{N}]+/gu, ' ').trim();
        if (seen.has(key)) continue;
        seen.add(key);
        // The pages it cites (within the section) first, then the rest of the section.
        const cited = parseCitations(line).flatMap((c) => pages.filter((n) => n >= c.first && n <= c.last));
        const candidates = [...new Set([...cited, ...pages])];
        const support = findSupport(point, candidates.map((n) => pageText.get(n) ?? ''));
        const item = cells.length;
        if (support) {
          const page = candidates[support.passage];
          const text = pageText.get(page)!;
          cells.push({ item, fieldKey: PROSE_FIELD.key, value: point, status: 'verified', reason: null, quote: text.slice(support.quote.start, support.quote.end), page, charStart: support.quote.start, charEnd: support.quote.end, pagesRead: pages });
        } else {
          cells.push({ item, fieldKey: PROSE_FIELD.key, value: point, status: 'unverified', reason: 'No page read states this.', quote: null, page: null, charStart: null, charEnd: null, pagesRead: pages });
        }
      }
    }
    return { cells, items: cells.length, pagesRead: [...read].sort((a, b) => a - b), modelMs: state.modelMs, modelName: state.modelName, aborted: state.aborted || input.signal.aborted };
  }

  /** Runs `generate`, waiting while the model answers a conversation (a batch shares the model). */
  async #whenFree<T>(signal: AbortSignal, generate: () => Promise<T>): Promise<T> {
    for (;;) {
      try {
        return await generate();
      } catch (e) {
        if (!(e instanceof UserFacingError && e.code === 'chat/busy') || signal.aborted) throw e;
        await new Promise((r) => setTimeout(r, 250));
      }
    }
  }

  async #recordField(
    field: TaskField,
    cues: Cues,
    ranked: SentenceUnit[],
    budget: number,
    io: {
      run: (system: string, prompt: string, schema: GenerateRequest['jsonSchema'], maxTokens: number) => Promise<GenerateResult>;
      listing: (options: SentenceUnit[]) => string;
      pageText: Map<number, string>;
      title: string;
      system: string;
      aborted: () => boolean;
    },
  ): Promise<CellDraft> {
    const read = new Set<number>();
    const pagesRead = () => [...read].sort((a, b) => a - b);
    const rules: FieldRules = { kind: field.kind, cues, label: field.label };
    const base = { item: 0, fieldKey: field.key };
    if (ranked.length === 0) {
      return { ...base, value: null, status: 'not-stated', reason: 'No sentence of the document has the words that state it.', quote: null, page: null, charStart: null, charEnd: null, pagesRead: [] };
    }
    let unverified: CellDraft | null = null;
    let notStated = false;
    let invalid: string | null = null;
    let skip = 0;
    for (let attempt = 0; attempt < RECORD_ATTEMPTS && skip < ranked.length && !io.aborted(); attempt++) {
      const options = takeWithinBudget(ranked, skip, budget, (s) => this.#engine.countTokens(s), MAX_OPTIONS);
      if (options.length === 0) break;
      skip += options.length;
      for (const p of listPages(options)) read.add(p);
      const prompt =
        `Document: “${io.title}”.\nField: ${field.label} — ${field.description}.\n\nSentences from the document, with their pages:\n${io.listing(options)}\n\n` +
        `Reply in JSON. "quote": the one sentence above that states the ${field.label.toLowerCase()}, copied exactly. ` +
        `"value": the ${field.label.toLowerCase()} in the document's own words, taken from that sentence (a few words). ` +
        `If no sentence above states it, set "quote" to "${NOT_STATED}" and "value" to "".`;
      const longest = Math.max(...options.map((o) => this.#engine.countTokens(o.text)));
      const result = await io.run(io.system, prompt, recordFieldSchema(options.map((o) => o.text)), longest + MAX_VALUE_CHARS + 40);
      if (io.aborted()) break;
      const answer = parseRecordAnswer(result.text, result.stopReason);
      if (answer.kind === 'not-stated') {
        notStated = true;
        continue;
      }
      if (answer.kind === 'invalid') {
        invalid ??= answer.reason;
        continue;
      }
      const source = options.find((o) => o.text === answer.quote);
      const check = verifyField({ value: answer.value, quote: answer.quote }, source ? (io.pageText.get(source.page) ?? null) : null, rules);
      const cell: CellDraft = {
        ...base,
        value: answer.value,
        status: check.status,
        reason: check.status === 'unverified' ? check.reason : null,
        quote: answer.quote,
        page: source?.page ?? null,
        charStart: check.charStart,
        charEnd: check.charEnd,
        pagesRead: [],
      };
      if (check.status === 'verified') return { ...cell, pagesRead: pagesRead() };
      unverified ??= cell;
    }
    if (unverified) return { ...unverified, pagesRead: pagesRead() };
    if (notStated) {
      // Every sentence offered had the field's words: "not stated" would be a finding the model
      // did not make. It is not found by the model; the likeliest sentence is shown to check.
      const best = ranked[0];
      const pageText = io.pageText.get(best.page) ?? '';
      const at = pageText.indexOf(best.text);
      return {
        ...base,
        value: null,
        status: 'not-found',
        reason: `the model found none, but p. ${best.page} has sentences with its words; the likeliest is linked, unchecked`,
        quote: best.text,
        page: best.page,
        charStart: at >= 0 ? at : null,
        charEnd: at >= 0 ? at + best.text.length : null,
        pagesRead: pagesRead(),
      };
    }
    return { ...base, value: null, status: 'not-found', reason: invalid ?? 'The model gave no answer.', quote: null, page: null, charStart: null, charEnd: null, pagesRead: pagesRead() };
  }

}
