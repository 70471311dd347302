// The words of a PDF as pdf.js reads them (a viewer's view of a file Enclave wrote).
import { getDocument } from 'pdfjs-dist/legacy/build/pdf.mjs';

export async function pdfWords(bytes: Buffer): Promise<string> {
  const task = getDocument({ data: new Uint8Array(bytes), useSystemFonts: false, verbosity: 0 });
  const pdf = await task.promise;
  const pages: string[] = [];
  for (let n = 1; n <= pdf.numPages; n++) {
    const content = await (await pdf.getPage(n)).getTextContent();
    pages.push(content.items.map((i) => ('str' in i ? i.str + (i.hasEOL ? '\n' : '') : '')).join(''));
  }
  await task.destroy();
  // Lines a table or a paragraph wrapped are joined, so phrases can be looked for across them.
  return pages.join('\n').replace(/\s+/g, ' ');
}
