// Which calls from the window go into the audit trail, and what each entry says: models and
// documents added and removed, settings changed, and files exported. What happens inside a reply
// (questions, passages, answers) is recorded by the chat itself (chat-audit.ts).
import type { CallObserver } from '../../core/router.ts';
import type { DocumentImport, DocumentInfo, ExportedRecord, ModelInfo, RecordTarget, Settings } from '../../contract/types.ts';
import type { AuditLog } from '../store/audit-log.ts';

export interface AuditLookups {
  model(modelId: string): ModelInfo | null;
  /** A document with its SHA-256 (the fingerprint of its contents). */
  document(documentId: string): (DocumentInfo & { sha256: string }) | null;
  settings(): Settings;
  conversationTitle(conversationId: string): string | null;
  summary(summaryId: string): { documentTitle: string; kind: string } | null;
  taskRun(runId: string): string | null;
  evalRun(runId: string): string | null;
  assistantName(assistantId: string): string | null;
}

const documentDetails = (d: DocumentInfo & { sha256: string }) => ({ documentId: d.id, title: d.title, fileName: d.fileName, kind: d.kind, sizeBytes: d.sizeBytes, sha256: d.sha256 });

export function auditedCalls(audit: AuditLog, find: AuditLookups): CallObserver {
  return (method, raw) => {
    const input = raw as Record<string, unknown>;
    const exported = (what: string, name: string | null, id: string) => (output: unknown) => {
      const { fileName } = output as { fileName: string };
      audit.record('export', `Exported ${what}${name ? ` “${name}”` : ''} as ${fileName}`, { what, id, name, fileName, format: input.format ?? null });
    };
    switch (method) {
      case 'models.add':
        return (output) => {
          const m = output as ModelInfo;
          audit.record('model.added', `Added the model ${m.name} (${m.fileName})`, { modelId: m.id, name: m.name, fileName: m.fileName, sizeBytes: m.fileSize, sha256: m.sha256 });
        };
      case 'models.remove': {
        const m = find.model(input.modelId as string);
        return m ? () => audit.record('model.removed', `Removed the model ${m.name}`, { modelId: m.id, name: m.name, fileName: m.fileName, sha256: m.sha256 }) : null;
      }
      case 'documents.import':
        return (output) => {
          const { document, duplicate } = output as DocumentImport;
          const d = find.document(document.id);
          if (duplicate || !d) return;
          audit.record('document.added', `Added the document “${d.fileName}”`, documentDetails(d));
        };
      case 'documents.delete': {
        const d = find.document(input.documentId as string);
        return d ? () => audit.record('document.deleted', `Deleted the document “${d.fileName}”`, documentDetails(d)) : null;
      }
      case 'documents.unlock': {
        const d = find.document(input.documentId as string);
        // The password itself is never recorded.
        return d ? () => audit.record('document.unlocked', `Unlocked the protected document “${d.fileName}” with its password`, documentDetails(d)) : null;
      }
      case 'settings.update': {
        const before = find.settings();
        return () => {
          const changes: Record<string, { from: unknown; to: unknown }> = {};
          for (const [key, value] of Object.entries(input)) {
            const was = before[key as keyof Settings];
            if (JSON.stringify(was) !== JSON.stringify(value)) changes[key] = { from: was, to: value };
          }
          const keys = Object.keys(changes);
          if (keys.length) audit.record('settings.changed', `Changed settings: ${keys.join(', ')}`, { changes });
        };
      }
      case 'assistants.export':
        return exported('the assistant', find.assistantName(input.assistantId as string), input.assistantId as string);
      case 'tasks.export':
        return exported('the task table', find.taskRun(input.runId as string), input.runId as string);
      case 'evals.export':
        return exported('the evaluation', find.evalRun(input.runId as string), input.runId as string);
      case 'audit.export':
        return exported('the audit trail', null, 'audit');
      case 'records.export': {
        const target = input.target as RecordTarget;
        const [what, id, name] =
          target.what === 'conversation'
            ? ['the conversation', target.conversationId, find.conversationTitle(target.conversationId)]
            : target.what === 'summary'
              ? ['a summary of', target.summaryId, find.summary(target.summaryId)?.documentTitle ?? null]
              : ['the task table', target.runId, find.taskRun(target.runId)];
        return (output) => {
          const r = output as ExportedRecord;
          audit.record('export', `Exported ${what}${name ? ` “${name}”` : ''} as ${r.fileName}${r.redactions ? ` (${r.redactions} identifiers redacted)` : ''}`, {
            what,
            id,
            name,
            fileName: r.fileName,
            format: input.format,
            sha256: r.sha256,
            redactedTerms: (input.redact as string[]).length,
            redactions: r.redactions,
          });
        };
      }
      default:
        return null;
    }
  };
}
