// An evaluation set from a CSV file (a spreadsheet's "Save as CSV"), and the template offered.
// Columns, by header: question (required), expected, pages, should_refuse. The file is untrusted:
// every problem is reported with its line, and nothing is added unless all of it is good.
import { parse } from 'csv-parse/sync';
import { stringify } from 'csv-stringify/sync';
import { UserFacingError } from '../../contract/errors.ts';
import type { EvalQuestionFields } from '../../contract/types.ts';

export const CSV_COLUMNS = ['question', 'expected', 'pages', 'should_refuse'] as const;

export function questionsTemplate(): { fileName: string; text: string } {
  const rows = [
    [...CSV_COLUMNS],
    ['Which law governs the agreement?', 'Delaware', '12', 'no'],
    ['How much notice is needed to terminate?', '/\\b(30|thirty) days\\b/', '', 'no'],
    ['What is the tenant’s pet policy?', '', '', 'yes'],
  ];
  return {
    fileName: 'evaluation-set-template.csv',
    text: `${stringify(rows)}`,
  };
}

const bad = (message: string) => new UserFacingError('eval/bad-csv', message);

function yes(value: string, line: number): boolean {
  const v = value.trim().toLowerCase();
  if (['', 'no', 'n', 'false', '0'].includes(v)) return false;
  if (['yes', 'y', 'true', '1', 'x'].includes(v)) return true;
  throw bad(`Line ${line}: should_refuse is “${value.slice(0, 40)}”; write yes or no.`);
}

function pages(value: string, line: number): number[] {
  const numbers = (value.match(/\d+/g) ?? []).map(Number);
  if (value.trim() && numbers.length === 0) throw bad(`Line ${line}: pages is “${value.slice(0, 40)}”; write page numbers, such as 3, 5.`);
  if (numbers.some((n) => n < 1 || n > 1_000_000)) throw bad(`Line ${line}: a page number must be between 1 and 1,000,000.`);
  return [...new Set(numbers)].slice(0, 200);
}

/** The questions of a CSV file's text; throws with the line of the first problem. At most `room` questions. */
export function parseQuestionsCsv(text: string, room: number): EvalQuestionFields[] {
  let records: string[][];
  try {
    records = parse(text.replace(/^\uFEFF/, ''), { relax_column_count: true, skip_empty_lines: true, bom: true, max_record_size: 100_000 }) as string[][];
  } catch (e) {
    throw bad(`The file is not a readable CSV: ${(e as Error).message}`);
  }
  if (records.length === 0) throw bad('The file is empty.');
  const header = records[0].map((h) => h.trim().toLowerCase().replace(/\s+/g, '_'));
  const at = (name: string) => header.indexOf(name);
  if (at('question') < 0) throw bad(`The file has no “question” column. Its first line must name the columns: ${CSV_COLUMNS.join(', ')} (download the template).`);
  const rows = records.slice(1);
  if (rows.length > room) {
    throw bad(`The file has ${rows.length.toLocaleString('en')} questions; ${room <= 0 ? 'the set is full' : `${room.toLocaleString('en')} more fit in this set`} (at most 2,000).`);
  }
  const cell = (row: string[], name: string) => (at(name) >= 0 ? (row[at(name)] ?? '') : '');
  return rows.map((row, i) => {
    const line = i + 2;
    const question = cell(row, 'question').trim();
    if (!question) throw bad(`Line ${line} has no question.`);
    if (question.length > 4000) throw bad(`Line ${line}: the question is longer than 4,000 characters.`);
    const expected = cell(row, 'expected').trim();
    if (expected.length > 2000) throw bad(`Line ${line}: expected is longer than 2,000 characters.`);
    return { question, expected, pages: pages(cell(row, 'pages'), line), shouldRefuse: yes(cell(row, 'should_refuse'), line) };
  });
}
