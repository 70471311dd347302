// The 8-bit copy of an embedding model for questions: half floats rounded as ggml rounds them,
// ggml's reference Q8_0 blocks, and a copy of a real GGUF that node-llama-cpp reads, whose every
// quantized weight is within half a step of the source's and whose other bytes are the source's.
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GgmlType, readGgufFileInfo } from 'node-llama-cpp';
import { afterAll, describe, expect, it } from 'vitest';
import { quantizeRowQ8, toHalf, worthCopying, writeQ8Copy } from '../../electron/services/retrieval/q8-copy.ts';
import { BROKEN_HEADER, EMBEDDING_MODEL, NOT_A_MODEL, TRUNCATED_MODEL } from '../fixtures/paths.ts';

const dir = mkdtempSync(join(tmpdir(), 'enclave-q8-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const halfToFloat = (h: number) => {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  return exp === 0 ? sign * 2 ** -14 * (frac / 1024) : exp === 31 ? (frac ? NaN : sign * Infinity) : sign * 2 ** (exp - 15) * (1 + frac / 1024);
};

describe('half floats', () => {
  it('round to the nearest half, ties to even, as ggml does', () => {
    expect(toHalf(1)).toBe(0x3c00);
    expect(toHalf(-2)).toBe(0xc000);
    expect(toHalf(0)).toBe(0);
    expect(toHalf(65504)).toBe(0x7bff);
    expect(toHalf(65520)).toBe(0x7c00); // halfway to the next: rounds to even, which is infinity
    expect(toHalf(2 ** -24)).toBe(0x0001); // the smallest subnormal
    expect(toHalf(2 ** -26)).toBe(0); // below half of it
    expect(toHalf(0.1)).toBe(0x2e66);
    expect(toHalf(1 / 3)).toBe(0x3555);
    // 1 + 2^-11 lies halfway between 1 and the next half: ties go to the even one (1).
    expect(toHalf(1 + 2 ** -11)).toBe(0x3c00);
    expect(toHalf(1 + 3 * 2 ** -11)).toBe(0x3c02);
    // Every half converts back to itself.
    for (let h = 0; h < 0x7c00; h += 7) expect(toHalf(halfToFloat(h))).toBe(h);
  });
});

describe('Q8_0 blocks', () => {
  it('a block is a half scale of max|x| / 127 and 32 values rounded half away from zero', () => {
    const row = new Float32Array(64);
    for (let i = 0; i < 32; i++) row[i] = (i - 16) / 8; // max |x| = 2
    row[40] = -0.5; // the second block: max |x| = 0.5
    const out = Buffer.alloc(68);
    expect(quantizeRowQ8(row, new DataView(out.buffer), 0)).toBe(68);
    const d = halfToFloat(out.readUInt16LE(0));
    expect(d).toBeCloseTo(2 / 127, 4);
    expect(out.readInt8(2)).toBe(-127); // -2
    expect(out.readInt8(2 + 16)).toBe(0);
    expect(out.readInt8(2 + 31)).toBe(Math.round((15 / 8) * (127 / 2)));
    // -0.25 · 63.5 = -15.875 → -16; ties: x · id = ±k.5 go away from zero.
    expect(out.readInt8(2 + 14)).toBe(-16);
    expect(out.readInt8(34 + 2 + 8)).toBe(-127);
    expect(halfToFloat(out.readUInt16LE(34))).toBeCloseTo(0.5 / 127, 5);
    // An all-zero block: scale 0, values 0 (no division by zero).
    const zeros = Buffer.alloc(34, 0xff);
    quantizeRowQ8(new Float32Array(32), new DataView(zeros.buffer), 0);
    expect([...zeros]).toEqual(Array(34).fill(0));
  });
});

describe('writeQ8Copy', () => {
  it('copies a real GGUF: its matrices in Q8_0 within half a step of the source, everything else byte for byte; node-llama-cpp reads it', async () => {
    const target = join(dir, 'copy.gguf');
    expect(await worthCopying(EMBEDDING_MODEL)).toBe(true);
    const quantized = await writeQ8Copy(EMBEDDING_MODEL, target);
    const source = await readGgufFileInfo(EMBEDDING_MODEL);
    const copy = await readGgufFileInfo(target);
    expect(copy.metadata.general.architecture).toBe(source.metadata.general.architecture);
    expect(JSON.stringify(copy.metadata.tokenizer)).toBe(JSON.stringify(source.metadata.tokenizer));
    const src = readFileSync(EMBEDDING_MODEL);
    const out = readFileSync(target);
    const srcTensors = new Map(source.tensorInfo!.map((t) => [t.name, t]));
    let seen = 0;
    for (const t of copy.tensorInfo!) {
      const from = srcTensors.get(t.name)!;
      expect(t.dimensions.map(Number)).toEqual(from.dimensions.map(Number));
      const values = t.dimensions.reduce((n: number, d) => n * Number(d), 1);
      if (t.ggmlType !== GgmlType.Q8_0) {
        // Copied as it is (embeddings looked up by token, norms, biases).
        expect(t.ggmlType).toBe(from.ggmlType);
        const bytes = values * 4;
        expect(out.subarray(Number(t.fileOffset), Number(t.fileOffset) + bytes).equals(src.subarray(Number(from.fileOffset), Number(from.fileOffset) + bytes))).toBe(true);
        continue;
      }
      seen++;
      expect(from.ggmlType).toBe(GgmlType.F32);
      expect(t.name.endsWith('.weight') && t.dimensions.length === 2 && !t.name.startsWith('token_embd')).toBe(true);
      for (let b = 0; b < values / 32; b++) {
        const at = Number(t.fileOffset) + b * 34;
        const d = halfToFloat(out.readUInt16LE(at));
        const xs = Array.from({ length: 32 }, (_, j) => src.readFloatLE(Number(from.fileOffset) + (b * 32 + j) * 4));
        const exact = Math.max(...xs.map(Math.abs)) / 127;
        // The scale is the exact one rounded to a half float (2^-11 of it, or 2^-25 among subnormals)…
        const scaleError = Math.max(exact * 2 ** -11, 2 ** -25);
        expect(Math.abs(d - exact)).toBeLessThanOrEqual(scaleError);
        // …and each value is within half a step, plus that rounding 127 times over.
        xs.forEach((x, j) => expect(Math.abs(out.readInt8(at + 2 + j) * d - x)).toBeLessThanOrEqual(exact / 2 + 127 * scaleError + 1e-12));
      }
    }
    expect(seen).toBe(quantized);
    expect(quantized).toBeGreaterThan(3);
    // An 8-bit model (this copy) has nothing left to make faster: no copy of it would be made.
    expect(await worthCopying(target)).toBe(false);
    expect(readdirSync(dir)).toEqual(['copy.gguf']);
  });

  it('a file that is not a GGUF, a cut-off one and a broken header: a clear error, nothing left behind', async () => {
    const bogus = join(dir, 'notes.gguf');
    writeFileSync(bogus, 'not a model at all');
    await expect(writeQ8Copy(bogus, join(dir, 'a.gguf'))).rejects.toThrow('not a GGUF file');
    await expect(writeQ8Copy(NOT_A_MODEL, join(dir, 'a.gguf'))).rejects.toThrow(/not a GGUF file|header ends early/);
    await expect(writeQ8Copy(TRUNCATED_MODEL, join(dir, 'b.gguf'))).rejects.toThrow(/lies outside the file|header ends early/);
    await expect(writeQ8Copy(BROKEN_HEADER, join(dir, 'c.gguf'))).rejects.toThrow(/header ends early|unknown GGUF value type/);
    for (const name of ['a.gguf', 'b.gguf', 'c.gguf']) {
      expect(existsSync(join(dir, name))).toBe(false);
      expect(existsSync(join(dir, `${name}.partial`))).toBe(false);
    }
  });

  it('a header that claims a string of a terabyte: refused after reading at most 64 MB of a large file', async () => {
    const huge = join(dir, 'huge.gguf');
    const head = Buffer.alloc(32);
    head.write('GGUF', 0, 'ascii');
    head.writeUInt32LE(3, 4);
    head.writeBigUInt64LE(0n, 8); // tensors
    head.writeBigUInt64LE(1n, 16); // key/value pairs
    head.writeBigUInt64LE(2n ** 40n, 24); // the first key's length
    writeFileSync(huge, head);
    truncateSync(huge, 200 * 1024 * 1024); // sparse: 200 MB on paper
    await expect(writeQ8Copy(huge, join(dir, 'd.gguf'))).rejects.toThrow('the GGUF header is damaged (or larger than 64 MB)');
    expect(existsSync(join(dir, 'd.gguf.partial'))).toBe(false);
    rmSync(huge);
  });

  it('stopped part way: no copy and no partial file', async () => {
    let asked = 0;
    await expect(writeQ8Copy(EMBEDDING_MODEL, join(dir, 'stopped.gguf'), () => ++asked > 2)).rejects.toThrow('stopped');
    expect(asked).toBe(3);
    expect(existsSync(join(dir, 'stopped.gguf'))).toBe(false);
    expect(existsSync(join(dir, 'stopped.gguf.partial'))).toBe(false);
  });
});
