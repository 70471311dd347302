// Excel workbooks (.xlsx) with exceljs: each worksheet is a page, its rows as a table (cells as
// Excel shows them: dates, numbers and formula results as text). The package is first unpacked
// with the same cap as Word files, so a zip bomb is refused before exceljs inflates anything.
import ExcelJS from 'exceljs';
import { UserFacingError } from '../../../contract/errors.ts';
import { extractEntries } from './docx.ts';
import { tidyPageText, type PageSink } from './types.ts';

function cellText(cell: ExcelJS.Cell): string {
  const value = cell.value;
  if (value instanceof Date && !Number.isNaN(value.getTime())) {
    // Dates as a reader expects them, not as JavaScript prints them.
    const iso = value.toISOString();
    return iso.endsWith('T00:00:00.000Z') ? iso.slice(0, 10) : iso.slice(0, 16).replace('T', ' ');
  }
  try {
    return (cell.text ?? '').replace(/[\r\n]+/g, ' ').trim();
  } catch {
    return String(cell.value ?? '').trim();
  }
}

export async function readXlsx(data: Uint8Array, fileName: string, sink: PageSink): Promise<void> {
  const parts = extractEntries(data, (n) => n.endsWith('.xml'), fileName);
  if (![...parts.keys()].some((n) => n.startsWith('xl/'))) {
    throw new UserFacingError('document/unsupported', `“${fileName}” is a ZIP archive but not an Excel workbook (it has no worksheets).`);
  }
  const workbook = new ExcelJS.Workbook();
  try {
    await workbook.xlsx.load(Buffer.from(data.buffer, data.byteOffset, data.byteLength) as unknown as ArrayBuffer);
  } catch {
    throw new UserFacingError('document/corrupt', `“${fileName}” is a damaged workbook: Enclave cannot open it. Open it in Excel and save it again, or export it to PDF.`);
  }
  const sheets = workbook.worksheets;
  sink.meta({ pageCount: sheets.length, paginated: true, title: workbook.title?.trim() || null });
  const hidden: string[] = [];
  const charts: string[] = [];
  sheets.forEach((sheet, i) => {
    const lines: string[] = [`Sheet: ${sheet.name}`];
    if (sheet.state !== 'visible') hidden.push(sheet.name);
    sheet.eachRow({ includeEmpty: false }, (row) => {
      const cells: string[] = [];
      row.eachCell({ includeEmpty: true }, (cell) => cells.push(cellText(cell)));
      while (cells.length && !cells[cells.length - 1]) cells.pop();
      if (cells.some(Boolean)) lines.push(cells.join(' | '));
    });
    if ((sheet as unknown as { getImages?: () => unknown[] }).getImages?.().length) charts.push(sheet.name);
    sink.page(i + 1, tidyPageText(lines.join('\n')));
  });
  if (hidden.length) sink.notice(`${hidden.length === 1 ? 'The hidden sheet' : 'The hidden sheets'} ${hidden.map((s) => `“${s}”`).join(', ')} ${hidden.length === 1 ? 'was' : 'were'} read too.`);
  if (charts.length) sink.notice(`Pictures on ${charts.length === 1 ? 'the sheet' : 'the sheets'} ${charts.map((s) => `“${s}”`).join(', ')} were not read.`);
}
