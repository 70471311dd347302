// Summaries with the real chat model: do they finish, loop, keep empty points, cite pages that
// say what the point says?
import type { EventMap, Summary } from '../../electron/contract/types.ts';
import type { Enclave } from '../../electron/core/app.ts';
import { routerCaller } from '../support/router-call.ts';

export async function evalSummaries(enclave: Enclave, documentIds: string[]): Promise<void> {
  const call = routerCaller(() => enclave);
  console.log('\n## Legal summaries with the real chat model');
  console.log('| document | pages | status | points | verified points | marked "no source" | repeated lines | time |');
  console.log('| --- | --- | --- | --- | --- | --- | --- | --- |');
  for (const documentId of documentIds) {
    const doc = await call('documents.get', { documentId });
    const done = new Promise<Summary>((resolve) => {
      const off = enclave.events.subscribe((name, payload) => {
        const s = payload as EventMap['summaries.done'];
        if (name === 'summaries.done' && s.documentId === documentId) {
          off();
          resolve(s);
        }
      });
    });
    const t0 = performance.now();
    await call('summaries.start', { documentId, kind: 'legal' });
    const s = await done;
    // A point is any line of text that is not a heading (small models often write paragraphs).
    const points = s.content.split('\n').filter((l) => /[\p{L}\p{N}]/u.test(l) && !/^\s*#/.test(l));
    const unverified = points.filter((p) => p.includes('[no source]')).length;
    const seen = new Set<string>();
    let repeated = 0;
    for (const p of points) {
      const key = p.replace(/\[[^\]]*\]/g, '').trim().toLowerCase();
      if (seen.has(key)) repeated++;
      seen.add(key);
    }
    console.log(`| ${doc.title.slice(0, 40)} | ${doc.pageCount} | ${s.status}${s.error ? ` (${s.error})` : ''} | ${points.length} | ${points.length - unverified} | ${unverified} | ${repeated} | ${((performance.now() - t0) / 1000).toFixed(0)} s |`);
    if (documentId === documentIds[0]) console.log(`\nFirst summary as written:\n\n${s.content.split('\n').slice(0, 16).map((l) => `    ${l}`).join('\n')}\n`);
  }
}
