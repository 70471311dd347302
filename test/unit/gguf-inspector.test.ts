import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { UserFacingError } from '../../electron/contract/errors.ts';
import { inspectModelFile } from '../../electron/services/engine/gguf-inspector.ts';
import { BROKEN_HEADER, EMPTY_FILE, ENDLESS_MODEL, FIXTURES, NOT_A_MODEL, TRUNCATED_MODEL } from '../fixtures/paths.ts';

const dir = mkdtempSync(join(tmpdir(), 'enclave-gguf-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function codeOf(path: string): Promise<string> {
  try {
    await inspectModelFile(path);
    return 'accepted';
  } catch (e) {
    expect(e).toBeInstanceOf(UserFacingError);
    expect((e as Error).message.length).toBeGreaterThan(20);
    return (e as UserFacingError).code;
  }
}

describe('inspectModelFile', () => {
  it('reads the metadata the library shows', async () => {
    const info = await inspectModelFile(ENDLESS_MODEL);
    expect(info).toMatchObject({
      name: 'Endless Test Model',
      architecture: 'llama',
      quantization: 'F32',
      contextLength: 4096,
      fileName: 'endless-chat.gguf',
    });
    expect(info.parameterCount).toBeGreaterThan(50_000);
    expect(info.fileSize).toBeGreaterThan(100_000);
  });

  it('accepts a real GGUF whatever its extension says', async () => {
    const renamed = join(dir, 'model.bin');
    copyFileSync(ENDLESS_MODEL, renamed);
    expect((await inspectModelFile(renamed)).architecture).toBe('llama');
  });

  it('gives each kind of bad file its own clear error', async () => {
    expect(await codeOf(NOT_A_MODEL)).toBe('model/not-gguf');
    expect(await codeOf(EMPTY_FILE)).toBe('model/not-gguf');
    expect(await codeOf(TRUNCATED_MODEL)).toBe('model/truncated');
    expect(await codeOf(BROKEN_HEADER)).toBe('model/truncated');
    expect(await codeOf(join(dir, 'missing.gguf'))).toBe('model/not-found');
    expect(await codeOf(FIXTURES)).toBe('model/unreadable');
  });
});
