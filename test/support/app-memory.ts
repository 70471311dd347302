// The app's whole resident memory: this process and every process it started (the document
// reader among them), read from /proc. Linux only, as the tests and benchmarks run here.
import { readdirSync, readFileSync } from 'node:fs';

function children(pid: number): number[] {
  try {
    return readdirSync(`/proc/${pid}/task`).flatMap((tid) =>
      readFileSync(`/proc/${pid}/task/${tid}/children`, 'utf8').split(' ').filter(Boolean).map(Number),
    );
  } catch {
    return []; // it ended meanwhile
  }
}

function rssOf(pid: number): number {
  try {
    const kb = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
    return kb ? Number(kb) * 1024 : 0;
  } catch {
    return 0;
  }
}

/** Bytes resident in this process and all its descendants. */
export function appRss(pid = process.pid): number {
  return rssOf(pid) + children(pid).reduce((sum, child) => sum + appRss(child), 0);
}
