// Judging evaluation answers and adding them up, on fixed answers with exact expected figures;
// and the CSV an evaluation set is imported from.
import { describe, expect, it } from 'vitest';
import type { AnswerGrounding, EvalQuestion, MessageSource, SentenceSupport } from '../../electron/contract/types.ts';
import { parseQuestionsCsv, questionsTemplate } from '../../electron/services/evals/questions-csv.ts';
import { expectationOf, isRefusal, scoreboard, type AnswerRecord } from '../../electron/services/evals/scoring.ts';

const q = (id: string, fields: Partial<EvalQuestion>): EvalQuestion => ({ id, assistantId: 'a', position: 0, question: id, expected: '', pages: [], shouldRefuse: false, ...fields });
const source = (number: number, pageNumber: number): MessageSource => ({ number, documentId: 'd', documentTitle: 'Lease', pageNumber, charStart: 0, charEnd: 5, passage: 'p', quote: 'q' });
const grounding = (...support: SentenceSupport[]): AnswerGrounding => ({
  sentences: support.map((s, i) => ({ start: i, end: i + 1, support: s, source: s === 'verified' ? 1 : null })),
  evidence: [],
  evidenceCoverage: 1,
  modelCitations: 0,
});
const answer = (modelIndex: number, questionId: string, fields: Partial<AnswerRecord>): AnswerRecord => ({
  modelIndex, questionId, status: 'answered', answer: '', sources: [], grounding: null, citationFailures: 0,
  firstTokenMs: null, tokensPerSecond: null, tokenCount: 20, durationMs: 100, peakMemoryBytes: null, error: null, ...fields,
});

describe('what a right answer holds', () => {
  it('words (all, any case, separated by ;) or a /pattern/; an invalid pattern is taken as words; nothing: not checked', () => {
    expect(expectationOf('Delaware; New  Castle')!('Governed by the laws of DELAWARE, New Castle county.')).toBe(true);
    expect(expectationOf('Delaware; New Castle')!('Governed by Delaware law.')).toBe(false);
    expect(expectationOf('/\\b(30|thirty) days\\b/')!('Notice of Thirty days.')).toBe(true);
    expect(expectationOf('/\\b(30|thirty) days\\b/')!('Notice of 300 days.')).toBe(false);
    expect(expectationOf('/[unclosed/')!('see /[unclosed/ here')).toBe(true);
    expect(expectationOf('  ')).toBeNull();
  });

  it('a refusal: Enclave answering without the model, sentences all marked as refusals, or a plain reply saying so', () => {
    expect(isRefusal('I could not find anything about this in “Leases”.', null, [], null)).toBe(true);
    expect(isRefusal('The documents do not mention a pet policy.', grounding('refusal'), [], 12)).toBe(true);
    expect(isRefusal('The documents do not mention pets. Rent is 5.', grounding('refusal', 'unsupported'), [], 12)).toBe(false);
    expect(isRefusal('It does not say.', null, [], 4)).toBe(true);
    expect(isRefusal('Pets are allowed.', null, [], 4)).toBe(false);
  });
});

describe('the scoreboard', () => {
  it('counts each model out of what could be checked, on fixed answers', () => {
    const questions = [
      q('q1', { expected: 'Delaware', pages: [12] }),
      q('q2', { expected: '/\\b30 days\\b/' }),
      q('q3', { shouldRefuse: true }),
      q('q4', { pages: [3] }),
    ];
    const models = [{ modelId: 'm0', name: 'Small', sha256: 'a'.repeat(64) }, { modelId: 'm1', name: 'Other', sha256: 'b'.repeat(64) }];
    const answers: AnswerRecord[] = [
      // Right, cited on the expected page.
      answer(0, 'q1', { answer: 'It is governed by Delaware law [1].', sources: [source(1, 12)], grounding: grounding('verified'), tokensPerSecond: 10, firstTokenMs: 300, peakMemoryBytes: 1000 }),
      // Wrong, but marked as not supported: not "confident".
      answer(0, 'q2', { answer: 'Notice of 60 days.', grounding: grounding('unsupported'), tokensPerSecond: 20, firstTokenMs: 500, peakMemoryBytes: 3000 }),
      // Enclave found nothing: a refusal without the model.
      answer(0, 'q3', { answer: 'I could not find anything about this.', tokenCount: null }),
      // A citation failed its check; its page is not an expected one.
      answer(0, 'q4', { answer: 'Page three says so [1]. And [2].', sources: [source(1, 4)], citationFailures: 1, grounding: grounding('verified', 'unsupported'), tokensPerSecond: 30 }),
      // Wrong and confident.
      answer(1, 'q1', { answer: 'It is governed by New York law [1].', sources: [source(1, 5)], grounding: grounding('verified'), tokensPerSecond: 5 }),
      answer(1, 'q2', { status: 'failed', error: 'The model could not be loaded.', tokenCount: null }),
      // Answers what the documents do not say, confidently.
      answer(1, 'q3', { answer: 'The fee is 5 euros.', grounding: grounding('verified'), sources: [source(1, 9)] }),
      // Refuses a question the documents answer.
      answer(1, 'q4', { answer: 'The documents do not mention it.', grounding: grounding('refusal') }),
    ];
    const { scores, answers: judged } = scoreboard(models, questions, answers);
    expect(scores[0]).toMatchObject({
      answered: 4, failed: 0,
      expected: { met: 1, of: 2 },
      citationsVerified: { met: 1, of: 3 },
      onExpectedPage: { met: 1, of: 2 },
      correctRefusals: { met: 1, of: 1 },
      wrongRefusals: 0,
      confidentWrong: 0,
      tokensPerSecond: 20,
      firstTokenMs: 400,
      peakMemoryBytes: 3000,
    });
    expect(scores[1]).toMatchObject({
      answered: 3, failed: 1,
      expected: { met: 0, of: 2 },
      citationsVerified: { met: 1, of: 3 },
      onExpectedPage: { met: 0, of: 2 },
      correctRefusals: { met: 0, of: 1 },
      wrongRefusals: 1,
      confidentWrong: 2,
      tokensPerSecond: 5,
      firstTokenMs: null,
      peakMemoryBytes: null,
    });
    expect(judged.find((a) => a.modelIndex === 1 && a.questionId === 'q1')!.verdict).toEqual({
      expected: false, citationsVerified: true, onExpectedPage: false, refused: false, correctRefusal: null, confidentWrong: true,
    });
  });
});

describe('an evaluation set from CSV', () => {
  it('reads the template it offers', () => {
    const parsed = parseQuestionsCsv(questionsTemplate().text, 100);
    expect(parsed).toEqual([
      { question: 'Which law governs the agreement?', expected: 'Delaware', pages: [12], shouldRefuse: false },
      { question: 'How much notice is needed to terminate?', expected: '/\\b(30|thirty) days\\b/', pages: [], shouldRefuse: false },
      { question: 'What is the tenant’s pet policy?', expected: '', pages: [], shouldRefuse: true },
    ]);
  });

  it('takes columns in any order and case, a BOM, quoted commas and line breaks; pages as "p. 3, 5"', () => {
    const text = '\uFEFFShould Refuse,Question,Pages\r\nno,"Who signs, and when?\nBoth parties",p. 3; 5\r\nyes,Any pets?,\r\n';
    expect(parseQuestionsCsv(text, 10)).toEqual([
      { question: 'Who signs, and when?\nBoth parties', expected: '', pages: [3, 5], shouldRefuse: false },
      { question: 'Any pets?', expected: '', pages: [], shouldRefuse: true },
    ]);
  });

  it('refuses bad files with the line at fault, and adds nothing', () => {
    const error = (text: string, room = 10) => {
      try {
        parseQuestionsCsv(text, room);
      } catch (e) {
        return (e as Error & { code: string }).code + ': ' + (e as Error).message;
      }
      return 'no error';
    };
    expect(error('expected,pages\nDelaware,3\n')).toMatch(/^eval\/bad-csv: The file has no “question” column/);
    expect(error('question,should_refuse\nA?,maybe\n')).toBe('eval/bad-csv: Line 2: should_refuse is “maybe”; write yes or no.');
    expect(error('question,pages\nA?,three\n')).toMatch(/^eval\/bad-csv: Line 2: pages is “three”/);
    expect(error('question\nA?\n,\n')).toBe('eval/bad-csv: Line 3 has no question.');
    expect(error('question\n"unclosed\n')).toMatch(/^eval\/bad-csv: The file is not a readable CSV/);
    expect(error('')).toBe('eval/bad-csv: The file is empty.');
    const many = `question\n${Array.from({ length: 50_000 }, (_, i) => `Q${i}?`).join('\n')}\n`;
    expect(error(many, 1990)).toBe('eval/bad-csv: The file has 50,000 questions; 1,990 more fit in this set (at most 2,000).');
  });
});
