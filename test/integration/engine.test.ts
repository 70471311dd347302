// The engine on real GGUF files (seeded fixtures), one thread, one test at a time.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EngineStatus, ModelInfo, Settings } from '../../electron/contract/types.ts';
import { Engine, type ChatTurn } from '../../electron/services/engine/engine.ts';
import { inspectModelFile } from '../../electron/services/engine/gguf-inspector.ts';
import { DEFAULT_SETTINGS } from '../../electron/services/store/settings-store.ts';
import { ENDLESS_MODEL, HOSTILE_MODEL, STORIES_MODEL, storiesModelPresent, TRUNCATED_MODEL } from '../fixtures/paths.ts';

const settings: Settings = { ...DEFAULT_SETTINGS, threads: 1, contextSize: 1024, gpu: 'off', temperature: 0, maxTokens: 64 };
const statuses: EngineStatus[] = [];
const engine = new Engine({ onStatus: (s) => statuses.push(s), logger: { warn: () => {}, error: () => {} } });
let endless: ModelInfo;
let hostile: ModelInfo;

async function modelInfo(path: string, id: string): Promise<ModelInfo> {
  return { ...(await inspectModelFile(path)), id, sha256: null, addedAt: Date.now() };
}

function generate(conversationId: string, turns: ChatTurn[], options: { maxTokens?: number; signal?: AbortSignal; onText?: (t: string) => void } = {}) {
  return engine.generate({
    conversationId,
    systemPrompt: '',
    turns,
    settings: { ...settings, maxTokens: options.maxTokens ?? settings.maxTokens },
    signal: options.signal ?? new AbortController().signal,
    onText: options.onText ?? (() => {}),
  });
}

beforeAll(async () => {
  endless = await modelInfo(ENDLESS_MODEL, 'endless');
  hostile = await modelInfo(HOSTILE_MODEL, 'hostile');
  await engine.load(endless, settings);
});

afterAll(async () => {
  await engine.dispose();
});

describe('Engine', () => {
  it('loads with progress, the thread count asked for, and a context no larger than asked', () => {
    expect(engine.status).toMatchObject({ state: 'ready', modelId: 'endless', threads: 1, contextSize: 1024 });
    const loading = statuses.filter((s) => s.state === 'loading');
    expect(loading.length).toBeGreaterThan(0);
    expect(loading[loading.length - 1].loadProgress).toBeGreaterThan(0);
  });

  it('streams a reply chunk by chunk, using the chat template from the model', async () => {
    const chunks: string[] = [];
    const result = await generate('c-stream', [{ role: 'user', text: 'Hello there' }], { maxTokens: 40, onText: (t) => chunks.push(t) });
    expect(chunks.length).toBeGreaterThan(10);
    expect(chunks.join('')).toBe(result.text);
    expect(result.text.startsWith('The quick brown fox jumps over a lazy dog!')).toBe(true);
    expect(result).toMatchObject({ stopReason: 'max-tokens', tokenCount: 40, contextSize: 1024, modelName: 'Endless Test Model' });
    expect(result.tokensPerSecond).toBeGreaterThan(0);
  });

  it('stops when aborted and keeps the partial reply', async () => {
    const controller = new AbortController();
    let seen = 0;
    const result = await generate('c-stop', [{ role: 'user', text: 'Go on forever' }], {
      maxTokens: 900,
      signal: controller.signal,
      onText: () => {
        if (++seen === 25) controller.abort();
      },
    });
    expect(result.stopReason).toBe('aborted');
    expect(result.tokenCount).toBeGreaterThanOrEqual(25);
    expect(result.tokenCount).toBeLessThan(900);
    expect(result.text.length).toBeGreaterThan(20);
    expect(engine.status.state).toBe('ready');
  });

  it('regenerates a reply for the same history', async () => {
    const turns: ChatTurn[] = [{ role: 'user', text: 'Tell me' }];
    const first = await generate('c-regen', turns, { maxTokens: 20 });
    const second = await generate('c-regen', turns, { maxTokens: 20 });
    expect(second.text).toBe(first.text);
    expect(second.tokenCount).toBe(20);
  });

  it('reuses the KV cache on a follow-up turn: only the new tokens are evaluated', async () => {
    const id = 'c-follow';
    const turns: ChatTurn[] = [{ role: 'user', text: 'First question about the contract' }];
    const first = await generate(id, turns, { maxTokens: 30 });
    const afterFirst = engine.tokenUsage(id)!;
    turns.push({ role: 'assistant', text: first.text }, { role: 'user', text: 'And then?' });
    const second = await generate(id, turns, { maxTokens: 30 });
    const afterSecond = engine.tokenUsage(id)!;
    const newInput = afterSecond.input - afterFirst.input;
    // Turn 2's prompt is everything in context minus what it generated; of that, the first
    // turn's prompt and reply were already in the sequence. Only the rest may be evaluated.
    const wholePrompt = second.contextTokens - second.tokenCount;
    const alreadyCached = first.contextTokens;
    expect(wholePrompt).toBeGreaterThan(alreadyCached);
    expect(newInput).toBeGreaterThan(0);
    expect(newInput).toBeLessThanOrEqual(wholePrompt - alreadyCached + 1);
    expect(newInput).toBeLessThan(wholePrompt / 2);
  });

  it('keeps a second conversation warm in its own sequence', async () => {
    const a: ChatTurn[] = [{ role: 'user', text: 'Conversation A' }];
    const b: ChatTurn[] = [{ role: 'user', text: 'Conversation B' }];
    const ra = await generate('c-a', a, { maxTokens: 10 });
    await generate('c-b', b, { maxTokens: 10 });
    const before = engine.tokenUsage('c-a')!;
    a.push({ role: 'assistant', text: ra.text }, { role: 'user', text: 'Back to A' });
    const again = await generate('c-a', a, { maxTokens: 10 });
    const newInput = engine.tokenUsage('c-a')!.input - before.input;
    expect(newInput).toBeLessThanOrEqual(again.contextTokens - again.tokenCount - ra.contextTokens + 1);
  });

  it('keeps answering when the conversation outgrows the context (context shift), without an error', async () => {
    const id = 'c-overflow';
    const turns: ChatTurn[] = [];
    let last = null;
    for (let i = 0; i < 8; i++) {
      turns.push({ role: 'user', text: `Question number ${i}: please continue the story.` });
      last = await generate(id, turns, { maxTokens: 200 });
      expect(last.tokenCount).toBe(200);
      turns.push({ role: 'assistant', text: last.text });
    }
    // Eight turns of 200+ tokens cannot all fit in 1024: the history was shifted, not refused.
    expect(turns.reduce((n, t) => n + t.text.length, 0)).toBeGreaterThan(1024 * 3);
    expect(last!.contextTokens).toBeLessThanOrEqual(1024);
  });

  it('answers even a single message longer than the whole context (its start is shifted out)', async () => {
    const huge = 'word '.repeat(3000);
    const result = await generate('c-huge', [{ role: 'user', text: huge }], { maxTokens: 20 });
    expect(result.tokenCount).toBe(20);
    expect(result.contextTokens).toBeLessThanOrEqual(1024);
    expect(engine.status.state).toBe('ready');
  });

  it('refuses a second generation while one runs', async () => {
    const controller = new AbortController();
    const running = generate('c-busy', [{ role: 'user', text: 'long' }], { maxTokens: 600, signal: controller.signal });
    await expect(generate('c-busy2', [{ role: 'user', text: 'other' }])).rejects.toMatchObject({ code: 'chat/busy' });
    // Stopped before the first token: an empty, stopped reply, not an exception.
    controller.abort();
    expect(await running).toMatchObject({ stopReason: 'aborted' });
    expect(engine.status.state).toBe('ready');
  });

  it('a reply asked for while the model is being loaded again waits for it: never “ready” without a model', async () => {
    const seen: string[] = [];
    // New settings: the model is loaded again.
    const reload = engine.load(endless, { ...settings, contextSize: 768 });
    const result = await generate('c-reload', [{ role: 'user', text: 'Hello there' }], { maxTokens: 8, onText: (t) => seen.push(t) });
    await reload;
    expect(result.tokenCount).toBe(8);
    expect(result.contextSize).toBe(768);
    expect(seen.join('')).toBe(result.text);
    expect(engine.status).toMatchObject({ state: 'ready', modelId: 'endless', contextSize: 768 });
    await engine.load(endless, settings);
  });

  it('choosing the loaded model again with the same settings changes nothing (no reload)', async () => {
    const before = statuses.length;
    await engine.load(endless, settings);
    expect(statuses.slice(before)).toEqual([]);
    expect(engine.status).toMatchObject({ state: 'ready', modelId: 'endless', contextSize: 1024 });
  });

  it('switches models cleanly: the old one is unloaded, the new one answers', async () => {
    await engine.load(hostile, settings);
    expect(engine.status).toMatchObject({ state: 'ready', modelId: 'hostile' });
    const result = await generate('c-hostile', [{ role: 'user', text: 'Report' }], { maxTokens: 200 });
    expect(result.stopReason).toBe('end');
    expect(result.text).toContain('<script>');
    await engine.unload();
    expect(engine.status).toMatchObject({ state: 'no-model', modelId: null });
    await expect(generate('c-hostile', [{ role: 'user', text: 'again' }])).rejects.toMatchObject({ code: 'model/not-loaded' });
    await engine.load(endless, settings);
    expect(engine.status.state).toBe('ready');
  });

  it('reports a model that fails to load as an error state, and can load another after', async () => {
    const broken: ModelInfo = { ...endless, id: 'broken', path: TRUNCATED_MODEL, name: 'Broken' };
    await expect(engine.load(broken, settings)).rejects.toMatchObject({ code: 'model/load-failed' });
    expect(engine.status).toMatchObject({ state: 'error', modelId: 'broken' });
    expect(engine.status.error?.message).toMatch(/could not be loaded/);
    await engine.load(endless, settings);
    expect(engine.status.state).toBe('ready');
  });

  it.skipIf(!storiesModelPresent())('streams coherent English from a real model (stories260K, when ../shared has it)', async () => {
    const stories = await modelInfo(STORIES_MODEL, 'stories');
    await engine.load(stories, { ...settings, contextSize: 2048 });
    const result = await generate('c-stories', [{ role: 'user', text: 'Once upon a time' }], { maxTokens: 60 });
    const words = result.text.toLowerCase().match(/[a-z]+/g) ?? [];
    const common = words.filter((w) => ['the', 'a', 'was', 'she', 'he', 'to', 'and', 'said', 'her', 'his', 'little', 'day'].includes(w));
    expect(words.length).toBeGreaterThan(15);
    expect(common.length).toBeGreaterThan(3);
  });
});
