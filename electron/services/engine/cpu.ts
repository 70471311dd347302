import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';

let cached: number | null = null;

/**
 * Physical cores: llama.cpp's threads spin, and on hyper-threaded or oversubscribed cores more
 * threads than physical cores make generation far slower, so that is the default.
 */
export function physicalCoreCount(): number {
  if (cached !== null) return cached;
  const logical = availableParallelism();
  let physical = logical;
  try {
    const cpuinfo = readFileSync('/proc/cpuinfo', 'utf8');
    const cores = new Set<string>();
    let physicalId = '0';
    for (const line of cpuinfo.split('\n')) {
      const [key, value] = line.split(':').map((s) => s?.trim());
      if (key === 'physical id') physicalId = value;
      if (key === 'core id') cores.add(`${physicalId}:${value}`);
    }
    if (cores.size > 0) physical = Math.min(cores.size, logical);
  } catch {
    // Not Linux: logical cores is the best cheap answer.
  }
  cached = Math.max(1, physical);
  return cached;
}
