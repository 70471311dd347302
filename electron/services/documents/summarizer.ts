// Summaries of documents of any length. A document is cut into sections measured in the model's
// own tokens, along page boundaries; each section is summarized with page citations (map), then
// the notes are combined until one summary remains (reduce), the last step streamed. Citations
// are checked against the pages each step could see.
import { UserFacingError } from '../../contract/errors.ts';
import type { Summary, SummaryKind, SummaryProgress, SummarySection } from '../../contract/types.ts';
import type { Engine } from '../engine/engine.ts';
import type { DocumentStore } from '../store/document-store.ts';
import type { SummaryStore } from '../store/summary-store.ts';
import { formatCitation, verifyPoints, type PageRange } from './citations.ts';

export interface SummaryEvents {
  progress(p: SummaryProgress): void;
  delta(e: { summaryId: string; documentId: string; text: string }): void;
  done(s: Summary): void;
}

const SYSTEM_PROMPT =
  'You summarize documents faithfully for professionals. Use only what the given text says; never add facts, ' +
  'advice or opinions of your own. Write concise English in Markdown.';

const SECTION_INSTRUCTIONS: Record<SummaryKind, string> = {
  brief: 'the main points of these pages as short bullet points',
  detailed: 'the points of these pages as bullet points, keeping names, numbers and dates',
  'key-points': 'the key points of these pages as bullet points',
  clinical: "notes on the patient's history, findings, medications and plan in these pages, as bullet points",
  legal: 'notes on the parties, dates and deadlines, obligations and risks in these pages, as bullet points',
};

const FINAL_INSTRUCTIONS: Record<SummaryKind, string> = {
  brief: 'a brief summary of the whole document in 3 to 6 bullet points',
  detailed: 'a detailed summary of the whole document, grouped under short headings (##), as bullet points',
  'key-points': 'the key points of the whole document as a bulleted list',
  clinical:
    'a clinical summary under these headings: ## History, ## Findings, ## Medications, ## Plan. Under each, bullet points; write "Not stated." where the document says nothing',
  legal:
    'a legal summary under these headings: ## Parties, ## Dates and deadlines, ## Obligations, ## Risks. Under each, bullet points; write "Not stated." where the document says nothing',
};

interface Page {
  pageNumber: number;
  text: string;
}

export interface Section extends PageRange {
  text: string;
}

/** Cuts pages into sections of at most `budget` tokens, never splitting a page unless it alone is too long. */
export function planSections(pages: Page[], budget: number, countTokens: (s: string) => number, paginated = true): Section[] {
  const label = (n: number) => formatCitation({ first: n, last: n }, paginated);
  const sections: Section[] = [];
  let current: Section | null = null;
  let currentTokens = 0;
  const push = () => {
    if (current) sections.push(current);
    current = null;
    currentTokens = 0;
  };
  for (const page of pages) {
    if (!page.text.trim()) continue;
    const block = `${label(page.pageNumber)}\n${page.text}\n\n`;
    const tokens = countTokens(block);
    if (tokens > budget) {
      // One page larger than a section: cut it at line boundaries, each piece keeping its page number.
      push();
      let piece = '';
      for (const line of page.text.split('\n')) {
        const candidate = piece ? `${piece}\n${line}` : line;
        if (piece && countTokens(`${label(page.pageNumber)}\n${candidate}`) > budget) {
          sections.push({ first: page.pageNumber, last: page.pageNumber, text: `${label(page.pageNumber)}\n${piece}\n\n` });
          piece = line;
        } else piece = candidate;
      }
      if (piece) sections.push({ first: page.pageNumber, last: page.pageNumber, text: `${label(page.pageNumber)}\n${piece.slice(0, budget * 8)}\n\n` });
      continue;
    }
    if (current && currentTokens + tokens > budget) push();
    if (!current) current = { first: page.pageNumber, last: page.pageNumber, text: '' };
    const c: Section = current;
    c.last = page.pageNumber;
    c.text += block;
    currentTokens += tokens;
  }
  push();
  return sections;
}

interface ActiveSummary {
  summaryId: string;
  controller: AbortController;
  finished: Promise<void>;
}

export class Summarizer {
  readonly #summaries: SummaryStore;
  readonly #documents: DocumentStore;
  readonly #engine: Engine;
  readonly #events: SummaryEvents;
  #active: ActiveSummary | null = null;

  /** Why summaries must wait (an evaluation holds the model), or null. */
  readonly #hold: () => string | null;

  constructor(deps: { summaries: SummaryStore; documents: DocumentStore; engine: Engine; events: SummaryEvents; hold?: () => string | null }) {
    this.#hold = deps.hold ?? (() => null);
    this.#summaries = deps.summaries;
    this.#documents = deps.documents;
    this.#engine = deps.engine;
    this.#events = deps.events;
    const interrupted = this.#summaries.markRunningInterrupted();
    if (interrupted > 0) console.warn(`[summaries] ${interrupted} summary(ies) were cut off when Enclave last stopped.`);
  }

  get idle(): Promise<void> {
    return this.#active?.finished ?? Promise.resolve();
  }

  list(documentId: string): Summary[] {
    return this.#summaries.list(documentId);
  }

  start(documentId: string, kind: SummaryKind): Summary {
    const doc = this.#documents.get(documentId);
    if (!doc) throw new UserFacingError('document/not-found', 'That document is no longer in the library.');
    if (doc.status !== 'ready') throw new UserFacingError('document/not-ready', `“${doc.title}” is not ready yet: wait until it has been read.`);
    if (this.#active) throw new UserFacingError('chat/busy', 'A summary is being written. Wait for it, or cancel it first.');
    const held = this.#hold();
    if (held) throw new UserFacingError('chat/busy', held);
    const state = this.#engine.status.state;
    if (state === 'generating') throw new UserFacingError('chat/busy', 'The model is answering in a conversation. Try again when it has finished.');
    if (state !== 'ready') throw new UserFacingError('model/not-loaded', 'Load a model to write summaries.');

    const summary = this.#summaries.create(documentId, kind, null);
    const controller = new AbortController();
    const active: ActiveSummary = { summaryId: summary.id, controller, finished: Promise.resolve() };
    this.#active = active;
    active.finished = this.#run(summary, doc.title, doc.paginated, controller.signal).finally(() => {
      if (this.#active === active) this.#active = null;
    });
    return summary;
  }

  cancel(summaryId: string): { cancelled: boolean } {
    if (this.#active?.summaryId !== summaryId) return { cancelled: false };
    this.#active.controller.abort();
    return { cancelled: true };
  }

  async delete(summaryId: string): Promise<{ deleted: true }> {
    if (!this.#summaries.get(summaryId)) throw new UserFacingError('summary/not-found', 'That summary no longer exists.');
    if (this.cancel(summaryId).cancelled) await this.idle;
    this.#summaries.delete(summaryId);
    return { deleted: true };
  }

  async shutdown(): Promise<void> {
    this.#active?.controller.abort();
    await this.idle;
  }

  async #run(summary: Summary, title: string, paginated: boolean, signal: AbortSignal): Promise<void> {
    const started = performance.now();
    let modelMs = 0;
    let modelName: string | null = null;
    const generate = async (prompt: string, maxTokens: number, onText?: (t: string) => void) => {
      const t0 = performance.now();
      try {
        const result = await this.#engine.generate({
          conversationId: `summary:${summary.id}`,
          systemPrompt: SYSTEM_PROMPT,
          turns: [{ role: 'user', text: prompt }],
          settings: { temperature: 0.2, topP: 0.9, maxTokens },
          signal,
          onText: onText ?? (() => {}),
          stopOnLoop: true,
        });
        if (result.stopReason === 'loop') loops++;
        modelName = result.modelName;
        return result;
      } finally {
        modelMs += performance.now() - t0;
      }
    };
    // One overall count of model passes: the sections, then each level of combining, estimated
    // ahead from how many notes fit a pass, and corrected as the levels are known.
    let passesDone = 0;
    let passesPlanned = 1;
    let passTime = 0;
    const progress = (stage: SummaryProgress['stage'], step: number, steps: number) => {
      const overallSteps = Math.max(passesPlanned, passesDone + 1);
      this.#events.progress({
        summaryId: summary.id,
        documentId: summary.documentId,
        stage,
        step,
        steps,
        overallStep: passesDone + 1,
        overallSteps,
        etaMs: passesDone > 0 ? Math.round((passTime / passesDone) * (overallSteps - passesDone)) : null,
      });
    };
    const timed = async <T,>(run: () => Promise<T>): Promise<T> => {
      const t = performance.now();
      try {
        return await run();
      } finally {
        passTime += performance.now() - t;
        passesDone++;
      }
    };
    /** Passes still to come to combine `notes` notes into one, `perPass` at a time. */
    const combiningPasses = (notes: number, perPass: number) => {
      let passes = 0;
      for (let n = notes; n > 1; n = Math.ceil(n / perPass)) passes += Math.ceil(n / perPass);
      return Math.max(1, passes);
    };

    const sections: SummarySection[] = [];
    let content = '';
    let loops = 0;
    let verified = 0;
    let unverified = 0;
    try {
      const pages = this.#documents.pages(summary.documentId);
      const lastPage = pages.length > 0 ? pages[pages.length - 1].pageNumber : 1;
      const whole: PageRange = { first: 1, last: lastPage };
      const byNumber = new Map(pages.map((p) => [p.pageNumber, p.text]));
      const pageText = (n: number) => byNumber.get(n) ?? '';
      // Every point is checked against the pages themselves, whatever notes it was written from.
      const check = (text: string, allowed: PageRange) => verifyPoints(text, allowed, pageText, paginated);
      const complete = (text: string) => {
        const final = check(text, whole);
        verified = final.verified;
        unverified = final.unverified;
        return final.text;
      };
      const contextSize = this.#engine.contextSize ?? 2048;
      const outputTokens = Math.max(96, Math.min(1024, Math.floor(contextSize / 4)));
      const overhead = this.#engine.countTokens(SYSTEM_PROMPT + this.#sectionPrompt(title, { first: 1, last: 1 }, '', summary.kind)) + 48;
      const budget = Math.max(64, contextSize - overhead - outputTokens);
      const planned = planSections(pages, budget, (s) => this.#engine.countTokens(s), paginated);
      if (planned.length === 0) throw new UserFacingError('document/no-text', 'This document has no text to summarize.');
      const notesPerPass = Math.max(2, Math.floor(budget / outputTokens));
      passesPlanned = planned.length === 1 ? 1 : planned.length + combiningPasses(planned.length, notesPerPass);

      const deltas = (text: string) => this.#events.delta({ summaryId: summary.id, documentId: summary.documentId, text });
      if (planned.length === 1) {
        // Fits at once: one streamed pass, citations checked against the pages themselves.
        progress('combining', 1, 1);
        const result = await generate(this.#finalPrompt(title, planned[0].text, summary.kind, true), outputTokens * 2, deltas);
        content = complete(result.text);
        sections.push({ firstPage: planned[0].first, lastPage: planned[0].last, text: content });
        this.#conclude(summary.id, result.stopReason === 'aborted', content, sections, started, modelMs, modelName, { loops, verified, unverified });
        return;
      }

      // Map: one set of notes per section, each citation within that section's pages.
      for (let i = 0; i < planned.length; i++) {
        if (signal.aborted) break;
        progress('sections', i + 1, planned.length);
        const section = planned[i];
        const result = await timed(() => generate(this.#sectionPrompt(title, section, section.text, summary.kind), outputTokens));
        const notes = check(result.text, section).text;
        sections.push({ firstPage: section.first, lastPage: section.last, text: notes });
        this.#summaries.saveSections(summary.id, sections);
        if (result.stopReason === 'aborted') break;
      }
      if (signal.aborted) {
        content = sections.map((s) => s.text).join('\n');
        this.#finish(summary.id, 'stopped', content, sections, started, modelMs, modelName);
        return;
      }

      // Reduce: combine notes in batches that fit, until one batch remains; the last is streamed.
      let level: Section[] = sections.map((s) => ({ first: s.firstPage, last: s.lastPage, text: s.text }));
      let round = 0;
      while (!signal.aborted) {
        round++;
        const batches = this.#batches(level, budget);
        const final = batches.length === 1;
        // This level's passes are known now; the levels after it are estimated again from them.
        passesPlanned = passesDone + batches.length + (final ? 0 : combiningPasses(batches.length, notesPerPass));
        const next: Section[] = [];
        for (let b = 0; b < batches.length && !signal.aborted; b++) {
          progress('combining', b + 1, batches.length);
          const batch = batches[b];
          const range: PageRange = { first: batch[0].first, last: batch[batch.length - 1].last };
          const notes = batch.map((s) => s.text).join('\n');
          const result = await timed(() => generate(this.#finalPrompt(title, notes, final ? summary.kind : 'key-points', false), final ? outputTokens * 2 : outputTokens, final ? deltas : undefined));
          const text = final ? complete(result.text) : check(result.text, range).text;
          next.push({ ...range, text });
        }
        level = next;
        if (final || round > 8) break;
      }
      content = level.map((s) => s.text).join('\n');
      this.#conclude(summary.id, signal.aborted, content, sections, started, modelMs, modelName, { loops, verified, unverified });
    } catch (e) {
      const message = e instanceof UserFacingError ? e.message : `The summary failed: ${(e as Error).message}`;
      if (!(e instanceof UserFacingError)) console.error('[summaries] failed', e);
      this.#finish(summary.id, 'failed', content || sections.map((s) => s.text).join('\n'), sections, started, modelMs, modelName, message);
    }
  }

  /**
   * Saves how the summary ended. One with no point left (the model wrote nothing usable, or only
   * repetition) has failed, and says so; one whose points all lack a source says that too.
   */
  #conclude(
    id: string,
    stopped: boolean,
    content: string,
    sections: SummarySection[],
    started: number,
    modelMs: number,
    modelName: string | null,
    counts: { loops: number; verified: number; unverified: number },
  ): void {
    if (stopped) return this.#finish(id, 'stopped', content, sections, started, modelMs, modelName);
    const repeated = counts.loops > 0 ? ` The model repeated itself ${counts.loops === 1 ? 'once' : `${counts.loops} times`}; the repetition was cut.` : '';
    if (counts.verified + counts.unverified === 0) {
      return this.#finish(id, 'failed', content, sections, started, modelMs, modelName, `The model did not write a usable summary.${repeated} Try again, or use a larger model.`);
    }
    if (counts.verified === 0) {
      const why = `none of its ${counts.unverified} points could be matched to a page of the document.${repeated} Try again, or use a larger model.`;
      return this.#finish(id, 'failed', content, sections, started, modelMs, modelName, why.charAt(0).toUpperCase() + why.slice(1));
    }
    const note =
      counts.unverified > 0
        ? `${counts.unverified} of ${counts.verified + counts.unverified} points could not be matched to a page and are marked “no source”.${repeated}`
        : repeated.trim() || null;
    this.#finish(id, 'complete', content, sections, started, modelMs, modelName, note);
  }

  #finish(
    id: string,
    status: Summary['status'],
    content: string,
    sections: SummarySection[],
    started: number,
    modelMs: number,
    modelName: string | null,
    error: string | null = null,
  ): void {
    this.#summaries.saveSections(id, sections);
    const saved = this.#summaries.finish(id, { status, content, error, durationMs: performance.now() - started, modelMs });
    this.#events.done({ ...saved, modelName: saved.modelName ?? modelName });
  }

  /** Groups notes so that each batch fits in one prompt. */
  #batches(notes: Section[], budget: number): Section[][] {
    const batches: Section[][] = [];
    let current: Section[] = [];
    let tokens = 0;
    for (const n of notes) {
      const t = this.#engine.countTokens(n.text);
      if (current.length > 0 && tokens + t > budget) {
        batches.push(current);
        current = [];
        tokens = 0;
      }
      current.push(n);
      tokens += t;
    }
    if (current.length > 0) batches.push(current);
    // Never loop forever on notes that cannot shrink: two per batch at least.
    if (batches.length === notes.length && notes.length > 1) {
      const paired: Section[][] = [];
      for (let i = 0; i < notes.length; i += 2) paired.push(notes.slice(i, i + 2));
      return paired;
    }
    return batches;
  }

  #sectionPrompt(title: string, range: PageRange, text: string, kind: SummaryKind): string {
    return (
      `Below are pages ${range.first}–${range.last} of “${title}”. Each page starts with its marker, like [p. ${range.first}].\n\n` +
      `${text}\n` +
      `Write ${SECTION_INSTRUCTIONS[kind]}. End every bullet point with the page or pages it comes from, written exactly like [p. ${range.first}] or [p. ${range.first}–${range.last}].`
    );
  }

  #finalPrompt(title: string, material: string, kind: SummaryKind, isPages: boolean): string {
    const intro = isPages
      ? `Below is the text of “${title}”. Each page starts with its marker, like [p. 1].`
      : `Below are notes on consecutive sections of “${title}”. Each point ends with the pages it comes from.`;
    return `${intro}\n\n${material}\n\nWrite ${FINAL_INSTRUCTIONS[kind]}. End every bullet point with the page or pages it comes from, exactly like [p. 3] or [p. 3–4].`;
  }
}
