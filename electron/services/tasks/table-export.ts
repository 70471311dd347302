// A task's table as a file: CSV (csv-stringify) or XLSX (ExcelJS), never hand-written. One row
// per document (and item), and for each field three columns: the value (a person's correction
// when there is one), its source (page and quoted words) and its check.
import { stringify } from 'csv-stringify/sync';
import ExcelJS from 'exceljs';
import type { TaskCell, TaskRunDetail } from '../../contract/types.ts';

export interface ExportedFile {
  fileName: string;
  mimeType: string;
  /** The file's bytes, base64 (the renderer saves it; main writes nothing). */
  base64: string;
}

const STATUS_WORDS: Record<TaskCell['status'], string> = {
  verified: 'verified',
  unverified: 'unverified',
  'not-stated': 'not stated',
  'not-found': 'not found',
};

export function cellCheck(cell: TaskCell | undefined): string {
  if (!cell) return '';
  const base = cell.reason && cell.status !== 'verified' ? `${STATUS_WORDS[cell.status]}: ${cell.reason}` : STATUS_WORDS[cell.status];
  return cell.edited ? `edited by ${cell.edited.by} on ${new Date(cell.edited.at).toISOString()} (model: ${base})` : base;
}

export function cellSource(cell: TaskCell | undefined, paginated = true): string {
  if (!cell?.quote || cell.page === null) return '';
  const quoted = `${paginated ? 'p.' : 'part'} ${cell.page}: “${cell.quote}”`;
  // A person's correction has no source of its own: the words are the model's, for its value.
  return cell.edited ? `for the model's value “${cell.value ?? ''}”, ${quoted}` : quoted;
}

/** The table as rows of strings: a header, then one line per document and item. */
export function tableRows(detail: TaskRunDetail): string[][] {
  const { run, rows } = detail;
  const list = run.output !== 'record';
  const header = ['Document', ...(list ? ['Item'] : []), 'Row status'];
  for (const f of run.fields) header.push(f.label, `${f.label} — source`, `${f.label} — check`);
  const out: string[][] = [header];
  for (const row of rows) {
    const status = row.status === 'failed' ? `failed: ${row.error ?? ''}` : row.status === 'done' ? (list && row.items === 0 ? 'none found' : 'done') : row.status;
    const itemCount = list ? Math.max(1, row.items) : 1;
    for (let item = 0; item < itemCount; item++) {
      const line = [row.documentTitle, ...(list ? [row.items === 0 ? '' : String(item + 1)] : []), status];
      for (const f of run.fields) {
        const cell = row.cells.find((c) => c.item === item && c.fieldKey === f.key);
        line.push(cell?.edited?.value ?? cell?.value ?? '', cellSource(cell), cellCheck(cell));
      }
      out.push(line);
    }
  }
  return out;
}

/**
 * A spreadsheet opens a CSV cell that starts with = + - @ as a formula; model output and document
 * text are untrusted, so such a cell is written as text (OWASP's CSV-injection rule).
 */
export function inert(value: string): string {
  return /^[=+\-@\t\r]/.test(value) ? `'${value}` : value;
}

function baseName(detail: TaskRunDetail): string {
  const date = new Date(detail.run.createdAt).toISOString().slice(0, 10);
  return `${detail.run.taskName} ${date}`.replace(/[^\p{L}\p{N}\- ]+/gu, '_').trim();
}

export async function exportTable(detail: TaskRunDetail, format: 'csv' | 'xlsx'): Promise<ExportedFile> {
  const rows = tableRows(detail);
  if (format === 'csv') {
    const text = stringify(rows.map((r) => r.map(inert)), { bom: true, record_delimiter: 'windows' });
    return { fileName: `${baseName(detail)}.csv`, mimeType: 'text/csv', base64: Buffer.from(text, 'utf8').toString('base64') };
  }
  const workbook = new ExcelJS.Workbook();
  workbook.creator = 'Enclave';
  workbook.created = new Date(detail.run.createdAt);
  const sheet = workbook.addWorksheet(detail.run.taskName.slice(0, 31).replace(/[\\/?*[\]:]/g, '_') || 'Task');
  // Strings stay strings: ExcelJS writes no formula unless given one.
  for (const r of rows) sheet.addRow(r);
  sheet.getRow(1).font = { bold: true };
  sheet.views = [{ state: 'frozen', ySplit: 1 }];
  sheet.columns.forEach((c) => (c.width = 24));
  const buffer = await workbook.xlsx.writeBuffer();
  return {
    fileName: `${baseName(detail)}.xlsx`,
    mimeType: 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet',
    base64: Buffer.from(buffer as ArrayBuffer).toString('base64'),
  };
}
