// Whether a model fits this computer, before it is loaded: its weights and the context it would
// get (KV cache for the pool of sequences, and the compute graph), estimated from the GGUF header
// as llama.cpp lays them out, against the memory free now.
import { createHash } from 'node:crypto';
import { open, readFile } from 'node:fs/promises';
import { freemem } from 'node:os';
import { GgufInsights, readGgufFileInfo } from 'node-llama-cpp';
import type { ModelFit } from '../../contract/types.ts';

/** Memory the system can give now: MemAvailable on Linux (free memory alone misses the page cache). */
export async function availableMemory(): Promise<number> {
  try {
    const meminfo = await readFile('/proc/meminfo', 'utf8');
    const kb = /^MemAvailable:\s+(\d+) kB/m.exec(meminfo)?.[1];
    if (kb) return Number(kb) * 1024;
  } catch {
    // not Linux
  }
  return freemem();
}

/** Estimates the memory a model needs on the CPU with a context of `contextSize` tokens over `sequences` sequences. */
export async function estimateFit(path: string, wantedContext: number, sequences: number): Promise<ModelFit> {
  const info = await readGgufFileInfo(path, { readTensorInfo: true });
  const insights = await GgufInsights.from(info);
  const trained = insights.trainContextSize ?? wantedContext;
  const contextSize = Math.max(512, Math.min(wantedContext, trained > 0 ? trained : wantedContext));
  const model = await insights.estimateModelResourceRequirementsV2({ gpuLayers: 0 });
  const context = await insights.estimateContextResourceRequirementsV2({ contextSize, modelGpuLayers: 0, sequences });
  const modelBytes = model.cpuRam + model.gpuVram;
  const contextBytes = context.cpuRam + context.gpuVram;
  const availableBytes = await availableMemory();
  const totalBytes = modelBytes + contextBytes;
  // Model files are memory-mapped: the system pages them in as needed, so a model a little larger
  // than what is free still runs (slower). Past 1.5 times what is free it thrashes.
  const verdict = totalBytes <= availableBytes * 0.85 ? 'fits' : totalBytes <= availableBytes * 1.5 ? 'tight' : 'too-large';
  return { contextSize, modelBytes, contextBytes, totalBytes, availableBytes, verdict };
}

/** A quick fingerprint of a file: its size and the SHA-256 of its first and last 4 MB. */
export async function quickFingerprint(path: string, size: number): Promise<string> {
  const span = 4 * 1024 * 1024;
  const hash = createHash('sha256').update(String(size));
  const handle = await open(path, 'r');
  try {
    const head = Buffer.alloc(Math.min(span, size));
    await handle.read(head, 0, head.length, 0);
    hash.update(head);
    if (size > span) {
      const tail = Buffer.alloc(Math.min(span, size - span));
      await handle.read(tail, 0, tail.length, size - tail.length);
      hash.update(tail);
    }
  } finally {
    await handle.close();
  }
  return hash.digest('hex');
}
