// A record written as Markdown, Word (docx) or PDF (pdfkit). The PDF embeds Liberation Sans (from
// pdfjs-dist, already installed); a record with characters that font cannot show is refused with
// a message, never written with missing letters (Markdown and Word keep every character).
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { readFileSync } from 'node:fs';
import { AlignmentType, BorderStyle, Document, HeadingLevel, Packer, Paragraph, Table, TableCell, TableRow, TextRun, WidthType } from 'docx';
import PDFDocument from 'pdfkit';
import * as fontkit from 'fontkit';
import { UserFacingError } from '../../contract/errors.ts';
import type { RecordFormat } from '../../contract/types.ts';
import { recordTexts, type Block, type RecordDoc, type Run } from './record.ts';

const require = createRequire(import.meta.url);

// Markdown -----------------------------------------------------------------------------------

/** Markdown's own characters in text are escaped: a document's words never become markup. */
const md = (t: string) => t.replace(/([\\`*_<>|~])/g, '\\$1').replace(/\]\(/g, ']\\(');
/** What would start a heading, a list, a quote or a link definition at the start of a line. */
const lineStart = (t: string) => t.replace(/^(\s*)([#+=-]|\d+[.)]|\[[^\]]*\]:)/, '$1\\$2');
const mdRuns = (runs: Run[]) =>
  lineStart(
    runs
      .map((r) => {
        if (r.mark !== 'strong' && r.mark !== 'note') return md(r.text);
        // Emphasis around the words; the spaces around them stay outside.
        const [, before, words, after] = /^(\s*)([\s\S]*?)(\s*)$/.exec(r.text)!;
        const fence = r.mark === 'strong' ? '**' : '*';
        return words ? `${before}${fence}${md(words)}${fence}${after}` : r.text;
      })
      .join('')
      .replace(/\s*\n+\s*/g, ' ')
      .trim(),
  );

export function toMarkdown(doc: RecordDoc): string {
  const out: string[] = [];
  for (const b of doc.blocks) {
    if (b.type === 'heading') out.push(`${'#'.repeat(b.level)} ${md(b.text)}`);
    else if (b.type === 'paragraph') out.push(mdRuns(b.runs));
    else if (b.type === 'list') out.push(b.items.map((i) => `- ${mdRuns(i)}`).join('\n'));
    else {
      const cell = (c: string) => md(c).replace(/\n+/g, ' ');
      out.push([`| ${b.header.map(cell).join(' | ')} |`, `| ${b.header.map(() => '---').join(' | ')} |`, ...b.rows.map((r) => `| ${r.map(cell).join(' | ')} |`)].join('\n'));
    }
  }
  return `${out.join('\n\n')}\n`;
}

// Word ---------------------------------------------------------------------------------------

const docxRun = (r: Run) =>
  new TextRun({
    text: r.text,
    bold: r.mark === 'strong',
    italics: r.mark === 'note' || r.mark === 'quote',
    color: r.mark === 'unsupported' ? '9A3412' : r.mark === 'note' ? '555555' : undefined,
  });

function docxBlock(b: Block): (Paragraph | Table)[] {
  if (b.type === 'heading') {
    return [new Paragraph({ text: b.text, heading: b.level === 1 ? HeadingLevel.HEADING_1 : b.level === 2 ? HeadingLevel.HEADING_2 : HeadingLevel.HEADING_3 })];
  }
  if (b.type === 'paragraph') return [new Paragraph({ children: b.runs.map(docxRun), spacing: { after: 120 } })];
  if (b.type === 'list') return b.items.map((item) => new Paragraph({ children: item.map(docxRun), bullet: { level: 0 } }));
  const total = b.widths.reduce((a, w) => a + w, 0);
  const border = { style: BorderStyle.SINGLE, size: 4, color: 'BBBBBB' };
  const row = (cells: string[], header: boolean) =>
    new TableRow({
      tableHeader: header,
      children: cells.map(
        (c, i) =>
          new TableCell({
            width: { size: Math.round((b.widths[i] / total) * 100), type: WidthType.PERCENTAGE },
            borders: { top: border, bottom: border, left: border, right: border },
            children: [new Paragraph({ children: [new TextRun({ text: c, bold: header, size: 18 })], alignment: AlignmentType.LEFT })],
          }),
      ),
    });
  return [new Table({ width: { size: 100, type: WidthType.PERCENTAGE }, rows: [row(b.header, true), ...b.rows.map((r) => row(r, false))] }), new Paragraph({ text: '' })];
}

export async function toDocx(doc: RecordDoc): Promise<Buffer> {
  const file = new Document({
    title: doc.title,
    creator: 'Enclave',
    description: 'Exported from Enclave, offline',
    styles: { default: { document: { run: { font: 'Calibri', size: 22 } } } },
    sections: [{ children: doc.blocks.flatMap(docxBlock) }],
  });
  return Buffer.from(await Packer.toBuffer(file));
}

// PDF ----------------------------------------------------------------------------------------

function fontFile(name: string): string {
  return join(dirname(require.resolve('pdfjs-dist/package.json')), 'standard_fonts', name);
}

let glyphCheck: ((cp: number) => boolean) | null = null;
function hasGlyph(cp: number): boolean {
  if (!glyphCheck) {
    const font = fontkit.create(readFileSync(fontFile('LiberationSans-Regular.ttf'))) as fontkit.Font;
    glyphCheck = (c) => font.hasGlyphForCodePoint(c);
  }
  return glyphCheck(cp);
}

/** The characters of a record the PDF font cannot show (spaces and control characters aside). */
export function missingGlyphs(doc: RecordDoc): string[] {
  const missing = new Set<string>();
  for (const t of recordTexts(doc)) {
    for (const ch of t) {
      const cp = ch.codePointAt(0)!;
      if (cp < 0x20 || /\s/u.test(ch) || (cp >= 0xfe00 && cp <= 0xfe0f)) continue;
      if (!hasGlyph(cp)) missing.add(ch);
    }
  }
  return [...missing];
}

export async function toPdf(doc: RecordDoc, exportedAt: number): Promise<Buffer> {
  const missing = missingGlyphs(doc);
  if (missing.length) {
    throw new UserFacingError(
      'record/pdf-characters',
      `This record has characters the PDF's font cannot show (${missing.slice(0, 8).join(' ')}${missing.length > 8 ? ' …' : ''}): export it as Word or Markdown, which keep every character.`,
    );
  }
  const pdf = new PDFDocument({ size: 'A4', margin: 56, bufferPages: true, info: { Title: doc.title, Creator: 'Enclave', Producer: 'Enclave (offline)', CreationDate: new Date(exportedAt) }, lang: 'en' });
  pdf.registerFont('body', fontFile('LiberationSans-Regular.ttf'));
  pdf.registerFont('bold', fontFile('LiberationSans-Bold.ttf'));
  pdf.registerFont('italic', fontFile('LiberationSans-Italic.ttf'));
  const chunks: Buffer[] = [];
  pdf.on('data', (c: Buffer) => chunks.push(c));
  const done = new Promise<void>((resolve, reject) => {
    pdf.on('end', () => resolve());
    pdf.on('error', reject);
  });
  const width = pdf.page.width - 112;
  const runs = (rs: Run[], indent = 0) => {
    rs.forEach((r, i) => {
      const font = r.mark === 'strong' ? 'bold' : r.mark === 'note' || r.mark === 'quote' ? 'italic' : 'body';
      pdf.font(font).fontSize(10.5).fillColor(r.mark === 'unsupported' ? '#9a3412' : r.mark === 'note' ? '#555555' : '#111111');
      pdf.text(r.text.replace(/\n+/g, ' '), { continued: i < rs.length - 1, width: width - indent, indent: i === 0 ? indent : 0 });
    });
    if (rs.length === 0) pdf.text('');
  };
  for (const b of doc.blocks) {
    if (b.type === 'heading') {
      pdf.moveDown(b.level === 1 ? 0 : 0.6);
      pdf.font('bold').fontSize(b.level === 1 ? 16 : b.level === 2 ? 13 : 11.5).fillColor('#111111').text(b.text, { width });
      pdf.moveDown(0.3);
    } else if (b.type === 'paragraph') {
      runs(b.runs);
      pdf.moveDown(0.4);
    } else if (b.type === 'list') {
      for (const item of b.items) {
        runs([{ text: '• ' }, ...item], 0);
        pdf.moveDown(0.15);
      }
      pdf.moveDown(0.3);
    } else {
      const total = b.widths.reduce((a, w) => a + w, 0);
      pdf.fontSize(8.5);
      pdf.table({
        columnStyles: b.widths.map((w) => (w / total) * width),
        data: [b.header.map((h) => ({ text: h, font: { src: 'bold' }, type: 'TH' as const })), ...b.rows.map((r) => r.map((c) => ({ text: c, font: { src: 'body' } })))],
      });
      pdf.moveDown(0.6);
    }
  }
  // Page numbers, so a printed record can be checked for missing pages.
  const range = pdf.bufferedPageRange();
  for (let i = range.start; i < range.start + range.count; i++) {
    pdf.switchToPage(i);
    // Below the bottom margin pdfkit would start a new page: the footer is written with none.
    pdf.page.margins.bottom = 0;
    pdf.font('body').fontSize(8).fillColor('#555555').text(`${doc.title.slice(0, 80)} · page ${i + 1} of ${range.count}`, 56, pdf.page.height - 40, { width, align: 'center', lineBreak: false });
  }
  pdf.end();
  await done;
  return Buffer.concat(chunks);
}

export const MIME: Record<RecordFormat, string> = {
  markdown: 'text/markdown;charset=utf-8',
  docx: 'application/vnd.openxmlformats-officedocument.wordprocessingml.document',
  pdf: 'application/pdf',
};
export const EXTENSION: Record<RecordFormat, string> = { markdown: 'md', docx: 'docx', pdf: 'pdf' };

export async function renderRecord(doc: RecordDoc, format: RecordFormat, exportedAt: number): Promise<Buffer> {
  if (format === 'markdown') return Buffer.from(toMarkdown(doc), 'utf8');
  if (format === 'docx') return toDocx(doc);
  return toPdf(doc, exportedAt);
}
