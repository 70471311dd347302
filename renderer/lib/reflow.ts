// A PDF's text keeps the line breaks of its printed lines. For reading, a line that runs on into
// the next (no sentence end before the break, a lower-case word after it) is joined with a space.
// Only a newline becomes a space: the text keeps its length, so the character offsets of cited
// passages still point at the same words.
export function reflow(text: string): string {
  return text.replace(/([^\n.:;!?])\n(?=[\p{Ll}\d(“"‘'])/gu, '$1 ');
}
