/** Saves bytes or text as a file the user keeps (a download: main writes no file for the window). */
export function saveFile(fileName: string, content: BlobPart, type: string): void {
  const a = document.createElement('a');
  a.href = URL.createObjectURL(new Blob([content], { type }));
  a.download = fileName;
  a.click();
  setTimeout(() => URL.revokeObjectURL(a.href), 1000);
}
