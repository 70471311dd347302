// How an answer from documents is laid out: its text cut at the sentences the main process
// attributed, each with its support. Text between sentences (spaces, list markers) stays plain.
import type { AnswerSentence } from '../../electron/contract/types.ts';

export { attributedSegments, describeSearch, type Segment } from '../../electron/contract/segments.ts';

export function countSupport(sentences: AnswerSentence[]): { claims: number; verified: number; unsupported: number } {
  const verified = sentences.filter((s) => s.support === 'verified').length;
  const unsupported = sentences.filter((s) => s.support === 'unsupported').length;
  return { claims: verified + unsupported, verified, unsupported };
}
