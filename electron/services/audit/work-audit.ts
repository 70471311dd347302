// What the rest of Enclave's work puts in the audit trail: a model loaded (with its sha256), a
// summary made from a document, a task run ended. Each is recorded once: a model becomes ready
// again after every reply, and a task run announces each row it finishes.
import type { EngineStatus, ModelInfo, Summary, TaskRun } from '../../contract/types.ts';
import type { AuditLog } from '../store/audit-log.ts';

/** The pages a summary's points cite ("[p. 12]", "[p. 12–13]"), each once, in order. */
export function citedPages(markdown: string): number[] {
  const pages = new Set<number>();
  for (const m of markdown.matchAll(/\[p\. (\d+)(?:[–-](\d+))?\]/g)) {
    const first = Number(m[1]);
    const last = m[2] ? Number(m[2]) : first;
    for (let n = first; n <= Math.min(last, first + 500); n++) pages.add(n);
  }
  return [...pages].sort((a, b) => a - b);
}

export function workAudit(audit: AuditLog) {
  /** The model whose loading was last recorded. */
  let loaded: string | null = null;
  const endedRuns = new Set<string>();
  return {
    engineStatus(s: EngineStatus, model: (id: string) => ModelInfo | null): void {
      if (s.state !== 'ready' && s.state !== 'generating') loaded = null;
      if (s.state !== 'ready' || !s.modelId || s.modelId === loaded) return;
      loaded = s.modelId;
      const m = model(s.modelId);
      if (!m) return;
      audit.record('model.loaded', `Loaded the model ${m.name}`, {
        modelId: m.id,
        name: m.name,
        fileName: m.fileName,
        sha256: m.sha256,
        contextSize: s.contextSize,
        threads: s.threads,
      });
    },

    summaryDone(s: Summary, doc: { title: string; sha256: string } | null): void {
      audit.record('summary.produced', `${s.modelName ?? 'The model'} summarized “${doc?.title ?? s.documentId}” (${s.kind}): ${s.status}`, {
        summaryId: s.id,
        documentId: s.documentId,
        document: doc?.title ?? null,
        sha256: doc?.sha256 ?? null,
        kind: s.kind,
        status: s.status,
        model: s.modelName,
        pagesCited: citedPages(s.content),
        pointsWithoutSource: (s.content.match(/\[no source\]/g) ?? []).length,
        error: s.error,
      });
    },

    taskChanged(run: TaskRun): void {
      const key = `${run.id} ${run.status}`;
      if (run.status === 'running' || endedRuns.has(key)) return;
      endedRuns.add(key);
      const read = run.finished - run.failed;
      audit.record('task.finished', `${run.taskName} on ${run.scopeLabel}: ${run.status} (${read} of ${run.total} documents read${run.failed ? `, ${run.failed} failed` : ''})`, {
        runId: run.id,
        task: run.taskName,
        scope: run.scopeLabel,
        status: run.status,
        model: run.modelName,
        documents: run.total,
        read,
        failed: run.failed,
      });
    },
  };
}
