// Small models fall into loops: the same heading or point over and over until the token limit.
// `findLoop` says where a text starts repeating itself, so generation can be stopped there and
// the repetition cut, whatever the model (a repeat penalty alone does not stop a slow loop).

/** A line seen this many times is a loop; a short one ("Not stated.", a heading) may recur more. */
const LINE_REPEATS = 3;
const SHORT_LINE_REPEATS = 6;
const SHORT_LINE_WORDS = 3;
/** A run of this many words seen this many times is a loop. */
const NGRAM = 8;
const NGRAM_REPEATS = 3;

const normalizeLine = (line: string) =>
  line
    .toLowerCase()
    .replace(/\[[^\]]*\]/g, ' ')
    .replace(/^[\s>*#\-•\d.)]+/, '')
    .replace(/[^\p{L}\p{N}]+/gu, ' ')
    .trim();

/**
 * The offset where the text first repeats itself (the start of the first repeated line or word
 * run's second occurrence, once it has occurred often enough to be a loop), or null.
 */
export function findLoop(text: string): number | null {
  const seen = new Map<string, number[]>();
  let offset = 0;
  let cut: number | null = null;
  for (const line of text.split('\n')) {
    const key = normalizeLine(line);
    if (key) {
      const at = seen.get(key) ?? [];
      at.push(offset);
      seen.set(key, at);
      if (at.length >= (key.split(' ').length < SHORT_LINE_WORDS ? SHORT_LINE_REPEATS : LINE_REPEATS)) {
        cut = at[1];
        break;
      }
    }
    offset += line.length + 1;
  }
  const words = [...text.matchAll(/[\p{L}\p{N}]+/gu)];
  const runs = new Map<string, number[]>();
  for (let i = 0; i + NGRAM <= words.length; i++) {
    const key = words
      .slice(i, i + NGRAM)
      .map((w) => w[0].toLowerCase())
      .join(' ');
    const at = runs.get(key) ?? [];
    // Overlapping occurrences of one run ("a a a a …") count once per run length.
    if (at.length === 0 || i - at[at.length - 1] >= NGRAM) at.push(i);
    runs.set(key, at);
    if (at.length >= NGRAM_REPEATS) {
      const second = words[at[1]].index!;
      cut = cut === null ? second : Math.min(cut, second);
      break;
    }
  }
  return cut;
}

/** Checks a streamed text every so often; calls `onLoop` once when it starts repeating itself. */
export class LoopWatch {
  #text = '';
  #checkedAt = 0;
  #cut: number | null = null;
  readonly #onLoop: () => void;
  constructor(onLoop: () => void) {
    this.#onLoop = onLoop;
  }

  push(chunk: string): void {
    if (this.#cut !== null) return;
    this.#text += chunk;
    if (this.#text.length - this.#checkedAt < 40) return;
    this.#checkedAt = this.#text.length;
    this.#cut = findLoop(this.#text);
    if (this.#cut !== null) this.#onLoop();
  }

  /** Where the loop starts in the text pushed so far, or null. */
  get cut(): number | null {
    return this.#cut ?? findLoop(this.#text);
  }
}
