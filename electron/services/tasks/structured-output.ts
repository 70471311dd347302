// The JSON a task's generation is constrained to. Every value comes with the sentence it was
// read from, chosen from the sentences the model was shown (an enum in the grammar), so a small
// model cannot invent a quote; it can still write a value its quote does not state, which the
// check after generation catches. Pure functions.
import type { GbnfJsonSchema } from 'node-llama-cpp';
import type { TaskField } from '../../contract/types.ts';

/** The quote that means "none of these sentences states it". */
export const NOT_STATED = 'Not stated in these sentences.';
export const MAX_VALUE_CHARS = 200;
export const MAX_ITEM_VALUE_CHARS = 100;

/** One field of a record: the source sentence, then the value read from it. */
export function recordFieldSchema(options: string[]): GbnfJsonSchema {
  return {
    type: 'object',
    properties: {
      quote: { enum: [...options, NOT_STATED] },
      value: { type: 'string', maxLength: MAX_VALUE_CHARS },
    },
  };
}

/** A list: items, each with its source sentence and its fields (an empty string: not stated). */
export function listSchema(fields: TaskField[], options: string[], maxItems: number): GbnfJsonSchema {
  const properties: Record<string, GbnfJsonSchema> = { quote: { enum: options } };
  for (const f of fields) properties[f.key] = { type: 'string', maxLength: MAX_ITEM_VALUE_CHARS };
  return { type: 'object', properties: { items: { type: 'array', maxItems, items: { type: 'object', properties } } } };
}

export type RecordAnswer = { kind: 'quoted'; quote: string; value: string } | { kind: 'not-stated' } | { kind: 'invalid'; reason: string };

export function parseRecordAnswer(text: string, stopReason: string): RecordAnswer {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return { kind: 'invalid', reason: stopReason === 'max-tokens' ? 'The model’s answer was cut off before it was complete.' : 'The model did not give a usable answer.' };
  }
  const o = parsed as { quote?: unknown; value?: unknown };
  if (typeof o?.quote !== 'string' || typeof o.value !== 'string') return { kind: 'invalid', reason: 'The model did not give a usable answer.' };
  if (o.quote === NOT_STATED) return { kind: 'not-stated' };
  const value = o.value.trim();
  if (!/[\p{L}\p{N}]/u.test(value)) return { kind: 'invalid', reason: 'The model quoted a sentence but gave no value.' };
  return { kind: 'quoted', quote: o.quote, value };
}

export type ListAnswer = { kind: 'items'; items: Record<string, string>[] } | { kind: 'invalid'; reason: string };

export function parseListAnswer(text: string, stopReason: string): ListAnswer {
  try {
    const o = JSON.parse(text) as { items?: unknown };
    if (!Array.isArray(o.items)) return { kind: 'invalid', reason: 'The model did not give a usable answer.' };
    return { kind: 'items', items: o.items.filter((i): i is Record<string, string> => typeof i === 'object' && i !== null && typeof (i as { quote?: unknown }).quote === 'string') };
  } catch {
    return { kind: 'invalid', reason: stopReason === 'max-tokens' ? 'The model’s answer was cut off before it was complete.' : 'The model did not give a usable answer.' };
  }
}
