// Exports as records: a conversation, a summary or a task table built from the store (never from
// what the window sends), with its provenance, optionally redacted of the personal identifiers a
// person approved, and written as Markdown, Word or PDF. The file's SHA-256 goes back to the caller
// and into the audit trail.
import { createHash } from 'node:crypto';
import { UserFacingError } from '../../contract/errors.ts';
import { SUMMARY_KIND_LABELS, type ExportedRecord, type IdentifierCandidate, type RecordFormat, type RecordTarget } from '../../contract/types.ts';
import type { ConversationDetail, ModelInfo, Summary, TaskRunDetail } from '../../contract/types.ts';
import { conversationRecord, mapRecordText, recordTexts, safeFileStem, summaryRecord, taskRecord, type Provenance, type RecordDoc } from './record.ts';
import { findIdentifiers, REDACTED, redactor } from './redact.ts';
import { EXTENSION, MIME, renderRecord } from './render.ts';

export interface RecordSources {
  conversation(conversationId: string): ConversationDetail;
  assistantName(assistantId: string): string | null;
  summary(summaryId: string): Summary | null;
  task(runId: string): TaskRunDetail;
  document(documentId: string): { title: string; fileName: string; sha256: string; pageCount: number; paginated: boolean } | null;
  models(): ModelInfo[];
  actor: string;
  version: string;
  now?: () => number;
}

export class RecordService {
  readonly #src: RecordSources;
  readonly #now: () => number;

  constructor(src: RecordSources) {
    this.#src = src;
    this.#now = src.now ?? Date.now;
  }

  #provenance(modelNames: (string | null)[], documentIds: string[], exportedAt: number): Provenance {
    const library = this.#src.models();
    const names = [...new Set(modelNames.filter((n): n is string => !!n))];
    const documents = [...new Set(documentIds)]
      .map((id) => this.#src.document(id))
      .filter((d) => d !== null)
      .map((d) => ({ title: d.title, fileName: d.fileName, sha256: d.sha256, pages: d.pageCount, paginated: d.paginated }));
    return {
      exportedAt,
      actor: this.#src.actor,
      version: this.#src.version,
      // A name the library no longer has (removed or renamed) is said to have no checksum, never guessed.
      models: names.map((name) => ({ name, sha256: library.filter((m) => m.name === name).length === 1 ? library.find((m) => m.name === name)!.sha256 : null })),
      documents,
    };
  }

  build(target: RecordTarget, exportedAt = this.#now()): RecordDoc {
    if (target.what === 'conversation') {
      const { conversation, messages } = this.#src.conversation(target.conversationId);
      if (messages.length === 0) throw new UserFacingError('record/empty', 'This conversation has no messages to export yet.');
      const p = this.#provenance(
        messages.map((m) => m.modelName),
        messages.flatMap((m) => m.sources.map((s) => s.documentId)),
        exportedAt,
      );
      return conversationRecord(conversation, messages, conversation.assistantId ? this.#src.assistantName(conversation.assistantId) : null, p);
    }
    if (target.what === 'summary') {
      const summary = this.#src.summary(target.summaryId);
      if (!summary) throw new UserFacingError('summary/not-found', 'That summary no longer exists.');
      const doc = this.#src.document(summary.documentId);
      return summaryRecord(summary, SUMMARY_KIND_LABELS[summary.kind], doc?.title ?? 'a deleted document', this.#provenance([summary.modelName], [summary.documentId], exportedAt));
    }
    const detail = this.#src.task(target.runId);
    const p = this.#provenance([detail.run.modelName], detail.rows.map((r) => r.documentId), exportedAt);
    return taskRecord(detail, p, (id) => this.#src.document(id)?.paginated ?? true);
  }

  /** Personal identifiers the patterns find in the record, for the person to review. */
  identifiers(target: RecordTarget): IdentifierCandidate[] {
    return findIdentifiers(recordTexts(this.build(target)));
  }

  async export(target: RecordTarget, format: RecordFormat, redact: string[]): Promise<ExportedRecord> {
    const exportedAt = this.#now();
    let record = this.build(target, exportedAt);
    let redactions = 0;
    if (redact.length) {
      const r = redactor(redact);
      // Counted in what the record shows; its title and file name (the same words again) as well, uncounted.
      const again = redactor(redact);
      record = { ...mapRecordText(record, (t) => r.apply(t)), title: again.apply(record.title), fileStem: safeFileStem(again.apply(record.fileStem), 'Record') };
      redactions = r.count();
      record.blocks.splice(2, 0, {
        type: 'paragraph',
        runs: [
          { text: 'Redacted: ', mark: 'strong' },
          {
            text: `${redactions} ${redactions === 1 ? 'occurrence' : 'occurrences'} of ${redact.length} personal ${redact.length === 1 ? 'identifier' : 'identifiers'} reviewed by ${this.#src.actor} replaced with ${REDACTED}. A quotation with ${REDACTED} in it is no longer the document's exact words.`,
            mark: 'note',
          },
        ],
      });
    }
    const bytes = await renderRecord(record, format, exportedAt);
    return {
      fileName: `${record.fileStem}${redact.length ? ' (redacted)' : ''}.${EXTENSION[format]}`,
      mimeType: MIME[format],
      base64: bytes.toString('base64'),
      sha256: createHash('sha256').update(bytes).digest('hex'),
      redactions,
    };
  }
}
