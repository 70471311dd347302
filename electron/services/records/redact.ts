// Personal identifiers in a record, found by patterns for a person to review before export:
// names after a title or a label ("Mr.", "Patient:"), dates of birth, phone numbers, e-mail
// addresses, street addresses, record and identity numbers. Patterns miss some names and catch
// some words that are not identifiers: the list is a proposal the person checks, and they can add
// their own terms. Redaction replaces every occurrence of each approved term.
import type { IdentifierCandidate, IdentifierKind } from '../../contract/types.ts';

const NAME_WORD = String.raw`[A-Z][a-zà-öø-ÿ'’-]+`;
const FULL_NAME = String.raw`${NAME_WORD}(?:\s+[A-Z]\.)?(?:\s+${NAME_WORD}){0,2}`;
const DATE = String.raw`(?:\d{1,2}[/.-]\d{1,2}[/.-]\d{2,4}|\d{4}-\d{2}-\d{2}|(?:\d{1,2}\s+)?(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec)[a-z]*\.?\s+(?:\d{1,2},?\s+)?\d{4})`;
const STREET = String.raw`(?:Street|St|Avenue|Ave|Road|Rd|Boulevard|Blvd|Lane|Ln|Drive|Dr|Court|Ct|Way|Place|Pl|Terrace|Parkway|Pkwy|Highway|Hwy|Square|Sq)\.?`;

/** Each pattern's identifier is its first group when it has one (the label is not redacted). */
const PATTERNS: { kind: IdentifierKind; re: RegExp }[] = [
  { kind: 'name', re: new RegExp(String.raw`\b(?:Mr|Mrs|Ms|Miss|Mx|Dr|Prof)\.?\s+(${FULL_NAME})`, 'g') },
  {
    kind: 'name',
    re: new RegExp(String.raw`\b(?:Patient|Client|Name|Full name|Plaintiff|Defendant|Claimant|Petitioner|Respondent|Employee|Tenant|Insured|Member|Guardian|Witness)(?: name)?\s*:\s*(${FULL_NAME})`, 'g'),
  },
  { kind: 'name', re: new RegExp(String.raw`\bDear\s+(${FULL_NAME})`, 'g') },
  { kind: 'date-of-birth', re: new RegExp(String.raw`\b(?:DOB|D\.O\.B\.|Date of birth|Birth date|Born(?: on)?)\s*:?\s*(${DATE})`, 'gi') },
  { kind: 'email', re: /\b[\w.+-]+@[\w-]+(?:\.[\w-]+)+\b/g },
  { kind: 'id-number', re: /\b\d{3}-\d{2}-\d{4}\b/g },
  { kind: 'phone', re: /(?:\+\d{1,3}[\s.-]?)?(?:\(\d{3}\)\s?|\b\d{3}[\s.-])\d{3}[\s.-]\d{4}\b/g },
  { kind: 'phone', re: /\+\d{2}(?:[\s-]?\d{2,4}){3,5}\b/g },
  { kind: 'address', re: new RegExp(String.raw`\b\d{1,5}\s+(?:${NAME_WORD}\s+){1,3}${STREET}(?:,?\s+(?:Apt|Apartment|Suite|Unit|#)\.?\s*[\w-]+)?`, 'g') },
  { kind: 'address', re: /\b[A-Z]{2}\s+\d{5}(?:-\d{4})?\b/g },
  {
    kind: 'record-number',
    re: /\b(?:MRN|Medical record(?: number| no\.?)?|Record (?:number|no\.?)|Patient ID|Account (?:number|no\.?)|Case (?:number|no\.?)|Claim (?:number|no\.?)|Policy (?:number|no\.?)|Member ID|File (?:number|no\.?))\s*[:#]?\s*([A-Z0-9][A-Z0-9-]{3,})/gi,
  },
];

/** Words a name pattern catches that are not names ("Dear Sir", "Patient: The"). */
const NOT_NAMES = new Set(['Sir', 'Madam', 'The', 'A', 'An', 'This', 'All', 'Any', 'None', 'Not', 'Unknown', 'Customer', 'Client', 'Patient', 'Party', 'Parties']);

export function findIdentifiers(texts: string[]): IdentifierCandidate[] {
  const found = new Map<string, IdentifierCandidate>();
  for (const t of texts) {
    for (const { kind, re } of PATTERNS) {
      for (const m of t.matchAll(re)) {
        const value = (m[1] ?? m[0]).trim().replace(/[.,;:]+$/, '');
        if (value.length < 3) continue;
        if (kind === 'name' && NOT_NAMES.has(value.split(/\s+/)[0])) continue;
        const key = `${kind}\u0000${value}`;
        const at = m.index ?? 0;
        const entry = found.get(key) ?? { text: value, kind, count: 0, context: t.slice(Math.max(0, at - 40), at + m[0].length + 40).replace(/\s+/g, ' ').trim() };
        found.set(key, entry);
      }
    }
  }
  // Counted over every text, wherever the pattern's label was (a name found once is redacted everywhere).
  const all = texts.join('\n');
  for (const c of found.values()) c.count = occurrences(all, c.text);
  const order: IdentifierKind[] = ['name', 'date-of-birth', 'id-number', 'record-number', 'phone', 'email', 'address'];
  return [...found.values()].sort((a, b) => order.indexOf(a.kind) - order.indexOf(b.kind) || b.count - a.count || a.text.localeCompare(b.text));
}

const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** A term as a pattern: whole words at its word-character ends, any case, any run of spaces. */
function termPattern(term: string): RegExp {
  const body = term.trim().split(/\s+/).map(escape).join(String.raw`\s+`);
  const start = /^[\p{L}\p{N}_]/u.test(term.trim()) ? String.raw`(?<![\p{L}\p{N}_])` : '';
  const end = /[\p{L}\p{N}_]$/u.test(term.trim()) ? String.raw`(?![\p{L}\p{N}_])` : '';
  return new RegExp(`${start}${body}${end}`, 'giu');
}

function occurrences(text: string, term: string): number {
  return [...text.matchAll(termPattern(term))].length;
}

export const REDACTED = '[REDACTED]';

/** Replaces every occurrence of every term (longest first, so "John Smith" goes before "John"). */
export function redactor(terms: string[]): { apply(text: string): string; count(): number } {
  const patterns = [...new Set(terms.map((t) => t.trim()).filter((t) => t.length >= 2))].sort((a, b) => b.length - a.length).map(termPattern);
  let replaced = 0;
  return {
    apply(text: string): string {
      let out = text;
      for (const re of patterns) {
        out = out.replace(re, () => {
          replaced++;
          return REDACTED;
        });
      }
      return out;
    },
    count: () => replaced,
  };
}
