// The rules that decide whether a task's value is shown as verified, and what a pack may declare.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { builtinPacksDir, parsePack } from '../../electron/services/assistants/packs.ts';
import { documentSentences, rankSentences, takeWithinBudget } from '../../electron/services/tasks/sentences.ts';
import { NOT_STATED, parseListAnswer, parseRecordAnswer } from '../../electron/services/tasks/structured-output.ts';
import { cueTerms, mentionsCue, valueInQuote, valueOfKind, verifyField } from '../../electron/services/tasks/verify-field.ts';

const PAGE = 'SERVICES AGREEMENT\n\nThis Agreement is made as of March 1, 2024 by and between Alder Corp and Birch LLC.\n\nThis Agreement shall be governed by the laws of the State of Delaware. Either party may terminate on thirty (30) days written notice.';

describe('verifying a field', () => {
  const law = { value: 'the State of Delaware', quote: 'This Agreement shall be governed by the laws of the State of Delaware.' };

  it('verifies a value that is in a quote found on the page, and gives the quote’s place', () => {
    const check = verifyField(law, PAGE);
    expect(check.status).toBe('verified');
    expect(PAGE.slice(check.charStart!, check.charEnd!)).toBe('This Agreement shall be governed by the laws of the State of Delaware');
  });

  it('catches a fabricated quote, a fabricated value, and a page the task did not read', () => {
    expect(verifyField({ ...law, quote: 'This Agreement shall be governed by the laws of California.' }, PAGE)).toMatchObject({ status: 'unverified', reason: 'The quoted words are not on the page cited.' });
    expect(verifyField({ ...law, value: 'the State of New York' }, PAGE)).toMatchObject({ status: 'unverified', reason: 'The value is not in the quoted words.' });
    expect(verifyField(law, null)).toMatchObject({ status: 'unverified', reason: 'It cites a page the task did not read.' });
  });

  it('a value must be of its field’s kind, and the quote about its field', () => {
    const date = { value: 'March 1, 2024', quote: 'This Agreement is made as of March 1, 2024 by and between Alder Corp and Birch LLC.' };
    expect(verifyField(date, PAGE, { kind: 'date' }).status).toBe('verified');
    expect(verifyField({ ...date, value: 'Alder Corp' }, PAGE, { kind: 'date' })).toMatchObject({ status: 'unverified', reason: 'The value is not a date.' });
    const notice = { value: 'thirty (30) days', quote: 'Either party may terminate on thirty (30) days written notice.' };
    expect(verifyField(notice, PAGE, { kind: 'number' }).status).toBe('verified');
    expect(verifyField({ ...notice, value: 'written notice' }, PAGE, { kind: 'number' })).toMatchObject({ reason: 'The value states no number.' });
    const cues = cueTerms('Governing law', ['governed by', 'laws of the state', 'construed in accordance']);
    expect(verifyField(law, PAGE, { cues, label: 'Governing law' }).status).toBe('verified');
    expect(verifyField(notice, PAGE, { cues, label: 'Governing law' })).toMatchObject({ status: 'unverified', reason: 'The quoted words do not mention the governing law.' });
    // A hint phrase counts whole: "in accordance with" a schedule is not "construed in accordance".
    expect(mentionsCue('The Company shall reimburse Consultant in accordance with Schedule B.', cues)).toBe(false);
    expect(mentionsCue('This Agreement shall be construed in accordance with Texas statutes.', cues)).toBe(true);
  });

  it('a value is in its quote when its words, numbers and names are', () => {
    expect(valueInQuote('December 14, 1997', 'executed as of the 14th day of December, 1997.')).toBe(true);
    expect(valueInQuote('December 15, 1997', 'executed as of the 14th day of December, 1997.')).toBe(false);
    expect(valueInQuote('Birch LLC', 'by and between Alder Corp and Birch LLC')).toBe(true);
    expect(valueInQuote('Cedar LLC', 'by and between Alder Corp and Birch LLC')).toBe(false);
    expect(valueInQuote('may not assign', 'Either party may assign this Agreement.')).toBe(false);
    expect(valueOfKind('1 March', 'date')).toBe(true);
    expect(valueOfKind('upon signature', 'date')).toBe(false);
  });
});

describe('reading the model’s structured answer', () => {
  it('tells a quoted value, a “not stated”, and an answer cut off or empty apart', () => {
    expect(parseRecordAnswer('{"quote": "A b c.", "value": "b"}', 'end')).toEqual({ kind: 'quoted', quote: 'A b c.', value: 'b' });
    expect(parseRecordAnswer(JSON.stringify({ quote: NOT_STATED, value: 'whatever' }), 'end')).toEqual({ kind: 'not-stated' });
    expect(parseRecordAnswer('{"quote": "A b', 'max-tokens')).toEqual({ kind: 'invalid', reason: 'The model’s answer was cut off before it was complete.' });
    expect(parseRecordAnswer('{"quote": "A b c.", "value": " , "}', 'end')).toMatchObject({ kind: 'invalid' });
    expect(parseListAnswer('{"items": [{"quote": "x", "drug": "y"}, 7, null]}', 'end')).toEqual({ kind: 'items', items: [{ quote: 'x', drug: 'y' }] });
  });
});

describe('choosing the sentences a field is read from', () => {
  it('ranks the sentence that states a field first, and gives them in reading order within the budget', () => {
    const units = documentSentences([
      { pageNumber: 1, text: PAGE },
      { pageNumber: 2, text: 'Signature: ____________________\n\nThe Supplier shall deliver the goods monthly.' },
    ]);
    expect(units.some((u) => u.text.startsWith('Signature'))).toBe(false);
    const ranked = rankSentences(units, { words: 'Governing law the law that governs the agreement', phrases: ['governed by', 'laws of the state'] });
    expect(ranked[0].unit.text).toBe('This Agreement shall be governed by the laws of the State of Delaware.');
    const taken = takeWithinBudget(ranked.map((r) => r.unit), 0, 40, (s) => s.split(' ').length, 10);
    expect(taken.map((u) => u.index)).toEqual([...taken.map((u) => u.index)].sort((a, b) => a - b));
    expect(taken.reduce((a, u) => a + u.text.split(' ').length + 8, 0)).toBeLessThanOrEqual(40);
  });
});

describe('task declarations in a pack', () => {
  const law = JSON.parse(readFileSync(join(builtinPacksDir(), 'law.json'), 'utf8'));

  it('refuses a field of a kind the grammar is not given, naming the field', () => {
    const bad = structuredClone(law);
    bad.tasks[0].fields[3].kind = 'object';
    expect(() => parsePack(bad, 'law.json')).toThrow(/law\.json is not a valid assistant pack: tasks\.0\.fields\.3\.kind: /);
  });

  it('a prose task has no fields; a record or list task needs one', () => {
    const prose = structuredClone(law);
    prose.tasks[3].fields = [{ key: 'x', label: 'X', description: 'x' }];
    expect(() => parsePack(prose, 'law.json')).toThrow('tasks.3.fields: a prose task has no fields (its points are its column).');
    const empty = structuredClone(law);
    empty.tasks[0].fields = [];
    expect(() => parsePack(empty, 'law.json')).toThrow('tasks.0.fields: a record task needs at least one field.');
  });

  it('refuses a raw schema, a repeated field key and the reserved key “quote”', () => {
    const raw = structuredClone(law);
    raw.tasks[0].fields[0].schema = { type: 'object', patternProperties: {} };
    expect(() => parsePack(raw, 'law.json')).toThrow(/tasks\.0\.fields\.0: Unrecognized key/);
    const twice = structuredClone(law);
    twice.tasks[1].fields[1].key = twice.tasks[1].fields[0].key;
    expect(() => parsePack(twice, 'law.json')).toThrow('tasks.1.fields.1.key: “date” is used twice.');
    const reserved = structuredClone(law);
    reserved.tasks[2].fields[0].key = 'quote';
    expect(() => parsePack(reserved, 'law.json')).toThrow('tasks.2.fields.0.key: “quote” is reserved for the source.');
  });
});
