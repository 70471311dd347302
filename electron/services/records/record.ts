// A conversation, a summary or a task table as a record a person keeps: what was asked and
// answered (or found), each claim with its checked source as document + page + quoted words or
// marked as not supported, who exported it and when, the models by name and SHA-256, and the
// SHA-256 of every document it draws on. Built once, as plain blocks, then written as Markdown,
// Word or PDF (render.ts); nothing is shown as supported that was not checked.
import { attributedSegments, describeSearch } from '../../contract/segments.ts';
import type { Conversation, Message, Summary, TaskRunDetail } from '../../contract/types.ts';

export type Mark = 'strong' | 'verified' | 'unsupported' | 'note' | 'quote';
export interface Run {
  text: string;
  mark?: Mark;
}

export type Block =
  | { type: 'heading'; level: 1 | 2 | 3; text: string }
  | { type: 'paragraph'; runs: Run[] }
  | { type: 'list'; items: Run[][] }
  | { type: 'table'; header: string[]; rows: string[][]; widths: number[] };

export interface RecordDoc {
  title: string;
  /** The file name, without its extension. */
  fileStem: string;
  blocks: Block[];
}

/** Who, when and with what: the provenance every record opens with. */
export interface Provenance {
  exportedAt: number;
  actor: string;
  version: string;
  /** The models that wrote it, with their SHA-256 when the library still has them. */
  models: { name: string; sha256: string | null }[];
  documents: { title: string; fileName: string; sha256: string; pages: number; paginated: boolean }[];
}

const when = (ms: number) => `${new Date(ms).toISOString().replace('T', ' ').slice(0, 16)} UTC`;
const text = (t: string, mark?: Mark): Run => (mark ? { text: t, mark } : { text: t });
const para = (...runs: Run[]): Block => ({ type: 'paragraph', runs });

export function safeFileStem(name: string, fallback: string): string {
  return name.replace(/[^\p{L}\p{N}\- ]+/gu, '_').replace(/\s+/g, ' ').trim().slice(0, 120) || fallback;
}

function provenanceBlocks(kind: string, p: Provenance): Block[] {
  const blocks: Block[] = [
    para(text('Record: ', 'strong'), text(kind)),
    para(text('Exported: ', 'strong'), text(`${when(p.exportedAt)} by ${p.actor}, from Enclave ${p.version} (offline, on this computer)`)),
  ];
  if (p.models.length) {
    blocks.push({
      type: 'list',
      items: p.models.map((m) => [text('Model: ', 'strong'), text(m.name), text(m.sha256 ? ` · SHA-256 ${m.sha256}` : ' · no longer in the library: its SHA-256 cannot be given', m.sha256 ? undefined : 'note')]),
    });
  }
  if (p.documents.length) {
    blocks.push(para(text('Documents drawn on', 'strong'), text(' (SHA-256 of each file as it was added):')));
    blocks.push({
      type: 'table',
      header: ['Document', 'File', 'Pages', 'SHA-256'],
      rows: p.documents.map((d) => [d.title, d.fileName, `${d.pages} ${d.paginated ? 'pages' : 'parts'}`, d.sha256]),
      widths: [3, 3, 1, 5],
    });
  }
  return blocks;
}

const STATUS_NOTE: Partial<Record<Message['status'], string>> = {
  stopped: 'Stopped before it was finished.',
  interrupted: 'Interrupted: Enclave closed while this reply was being written.',
  error: 'Failed.',
};

function replyRuns(m: Message): Run[] {
  if (!m.grounding) return [text(m.content)];
  return attributedSegments(m.content, m.grounding.sentences).map((seg) => {
    if (seg.support === 'verified' && seg.source !== null) return text(`${seg.text} [${seg.source}]`, 'verified');
    if (seg.support === 'unsupported') return text(`${seg.text} (not in the passages found)`, 'unsupported');
    return text(seg.text);
  });
}

export function conversationRecord(conversation: Conversation, messages: Message[], assistantName: string | null, p: Provenance): RecordDoc {
  const blocks: Block[] = [{ type: 'heading', level: 1, text: conversation.title }, ...provenanceBlocks(`conversation${assistantName ? ` with the assistant ${assistantName}` : ''}`, p)];
  if (conversation.systemPrompt.trim()) blocks.push(para(text('System prompt: ', 'strong'), text(conversation.systemPrompt.trim())));
  blocks.push(
    para(
      text(
        'In answers from documents, each sentence ends with the number of the source it was checked against, or is marked “(not in the passages found)”: it could not be matched to the passages retrieved for the question; each source is the document, the page and the exact words that support it.',
        'note',
      ),
    ),
  );
  for (const m of messages) {
    blocks.push({ type: 'heading', level: 2, text: m.role === 'user' ? `You · ${when(m.createdAt)}` : `${m.modelName ?? 'Model'} · ${when(m.createdAt)}` });
    blocks.push(para(...(m.role === 'user' ? [text(m.content)] : replyRuns(m))));
    const notes: string[] = [];
    if (STATUS_NOTE[m.status]) notes.push(`${STATUS_NOTE[m.status]}${m.error ? ` ${m.error}` : ''}`);
    if (m.cutOff) notes.push('Stopped at the length limit: not finished.');
    if (m.grounding) {
      const claims = m.grounding.sentences.filter((s) => s.support === 'verified' || s.support === 'unsupported');
      const verified = claims.filter((s) => s.support === 'verified').length;
      if (claims.length) notes.push(`${verified} of ${claims.length} sentences supported by the documents (each checked against the words it cites).`);
      if (m.grounding.search) {
        const { found, failed } = describeSearch(m.grounding.search);
        notes.push(`${found}${failed ? `; ${failed}` : ''}.`);
      }
    }
    if (m.citationFailures > 0) notes.push(`${m.citationFailures} citation${m.citationFailures === 1 ? '' : 's'} could not be checked against the documents and ${m.citationFailures === 1 ? 'is' : 'are'} not listed.`);
    for (const n of notes) blocks.push(para(text(n, 'note')));
    if (m.sources.length) {
      blocks.push(para(text('Sources:', 'strong')));
      blocks.push({
        type: 'list',
        items: m.sources.map((s) => [text(`[${s.number}] ${s.documentTitle}, page ${s.pageNumber}`), ...(s.quote ? [text(' — '), text(`“${s.quote}”`, 'quote')] : [])]),
      });
    }
  }
  return { title: conversation.title, fileStem: safeFileStem(conversation.title, 'Conversation'), blocks };
}

/** A summary's Markdown as blocks: headings, points (with their checked page or [no source]), paragraphs. */
function markdownBlocks(markdown: string): Block[] {
  const out: Block[] = [];
  let list: Run[][] = [];
  const flush = () => {
    if (list.length) out.push({ type: 'list', items: list });
    list = [];
  };
  const plain = (t: string) => t.replace(/\*\*(.+?)\*\*/g, '$1').replace(/(^|\s)_(.+?)_(?=\s|$)/g, '$1$2');
  const runsOf = (t: string): Run[] => {
    const cut = t.lastIndexOf('[no source]');
    return cut >= 0 ? [text(plain(t.slice(0, cut)).trimEnd() + ' '), text('[no source]', 'unsupported')] : [text(plain(t))];
  };
  for (const raw of markdown.split('\n')) {
    const line = raw.trim();
    const heading = /^(#{1,6})\s+(.*)$/.exec(line);
    const item = /^(?:[-*•]|\d+[.)])\s+(.*)$/.exec(line);
    if (!line) flush();
    else if (heading) {
      flush();
      out.push({ type: 'heading', level: 3, text: plain(heading[2]) });
    } else if (item) list.push(runsOf(item[1]));
    else {
      flush();
      out.push({ type: 'paragraph', runs: runsOf(line) });
    }
  }
  flush();
  return out;
}

export function summaryRecord(summary: Summary, kindLabel: string, documentTitle: string, p: Provenance): RecordDoc {
  const title = `${kindLabel} summary of “${documentTitle}”`;
  const blocks: Block[] = [{ type: 'heading', level: 1, text: title }, ...provenanceBlocks(`summary written ${when(summary.createdAt)}, ${summary.status}`, p)];
  blocks.push(
    para(
      text('Each point cites the pages whose text was checked to support it; a point no page supports is marked [no source]. No page is assigned by default.', 'note'),
    ),
  );
  blocks.push(...markdownBlocks(summary.content));
  if (summary.error) blocks.push(para(text(summary.error, 'note')));
  return { title, fileStem: safeFileStem(`${documentTitle} - ${summary.kind} summary`, 'Summary'), blocks };
}

const CHECK_WORDS: Record<string, string> = {
  verified: 'verified',
  unverified: 'not verified',
  'not-stated': 'not stated',
  'not-found': 'not found',
  pending: 'not read yet',
  failed: 'failed',
};

export function taskRecord(detail: TaskRunDetail, p: Provenance, paginatedOf: (documentId: string) => boolean): RecordDoc {
  const { run, rows } = detail;
  const title = `${run.taskName} · ${run.scopeLabel}`;
  const blocks: Block[] = [
    { type: 'heading', level: 1, text: title },
    ...provenanceBlocks(`task run started ${when(run.createdAt)}${run.finishedAt ? `, ended ${when(run.finishedAt)}` : ''}: ${run.status}, ${run.finished - run.failed} of ${run.total} documents read`, p),
    para(text('A value is shown as verified only when its quoted words were found on the cited page and state it; every other value says why it is not.', 'note')),
  ];
  for (const row of rows) {
    blocks.push({ type: 'heading', level: 2, text: row.documentTitle });
    if (row.error) blocks.push(para(text(row.error, 'note')));
    const paginated = paginatedOf(row.documentId);
    for (let item = 0; item < Math.max(1, row.items); item++) {
      if (row.items > 1) blocks.push({ type: 'heading', level: 3, text: `Item ${item + 1}` });
      blocks.push({
        type: 'table',
        header: ['Field', 'Value', 'Source', 'Check'],
        widths: [2, 3, 4, 2],
        rows: run.fields.map((f) => {
          const cell = row.cells.find((c) => c.fieldKey === f.key && c.item === item);
          const value = cell?.edited?.value ?? cell?.value ?? '';
          const quoted = cell?.quote && cell.page !== null ? `${paginated ? 'page' : 'part'} ${cell.page}: “${cell.quote}”` : '';
          // A person's correction has no source of its own: the words shown are the model's, for its value.
          const source = quoted && cell?.edited ? `for the model's value “${cell.value ?? ''}”, ${quoted}` : quoted;
          const status = cell ? (CHECK_WORDS[cell.status] ?? cell.status) : 'not read';
          const check = cell?.edited
            ? `edited by ${cell.edited.by} on ${when(cell.edited.at)} (the model's value: ${status})`
            : `${status}${cell?.reason && cell.status !== 'verified' ? `: ${cell.reason}` : ''}`;
          return [f.label, value, source, check];
        }),
      });
    }
  }
  return { title, fileStem: safeFileStem(title, 'Task table'), blocks };
}

/** Every string a record holds (for finding personal identifiers and checking the PDF font). */
export function recordTexts(doc: RecordDoc): string[] {
  const out = [doc.title];
  for (const b of doc.blocks) {
    if (b.type === 'heading') out.push(b.text);
    else if (b.type === 'paragraph') out.push(...b.runs.map((r) => r.text));
    else if (b.type === 'list') for (const item of b.items) out.push(...item.map((r) => r.text));
    else out.push(...b.header, ...b.rows.flat());
  }
  return out;
}

/** The record's blocks with every string passed through `f` (redaction); its title and file name are the caller's. */
export function mapRecordText(doc: RecordDoc, f: (t: string) => string): RecordDoc {
  const runs = (rs: Run[]) => rs.map((r) => ({ ...r, text: f(r.text) }));
  return {
    title: doc.title,
    fileStem: doc.fileStem,
    blocks: doc.blocks.map((b): Block => {
      if (b.type === 'heading') return { ...b, text: f(b.text) };
      if (b.type === 'paragraph') return { ...b, runs: runs(b.runs) };
      if (b.type === 'list') return { ...b, items: b.items.map(runs) };
      return { ...b, header: b.header, rows: b.rows.map((r) => r.map(f)) };
    }),
  };
}
