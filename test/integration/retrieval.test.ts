// Grounded answers from the user's documents: indexing, hybrid retrieval quality, collection
// isolation, and the citation check, on real files, a real SQLite store and real GGUF models.
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { strFromU8, unzipSync } from 'fflate';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Message, ModelInfo } from '../../electron/contract/types.ts';
import { COPY_AGREEMENT, copyPays, Embedder } from '../../electron/services/retrieval/embedder.ts';
import { createEnclave, type Enclave } from '../../electron/core/app.ts';
import { ask as askAndWait, granter, routerCaller } from '../support/router-call.ts';
import { CORPUS, CORPUS_QUESTIONS } from '../fixtures/corpus.ts';
import { makePdf, writeCorpus } from '../fixtures/documents.ts';
import { until } from '../support/web-server.ts';
import { pdfWords } from '../support/pdf-text.ts';
import { EMBEDDING_MODEL, ENDLESS_MODEL, GROUNDED_MODEL, MINILM_MODEL, SHORT_EMBEDDING_MODEL } from '../fixtures/paths.ts';
import { cosine, paddingFrom } from '../../electron/services/retrieval/padded-question.ts';

let dir: string;
let enclave: Enclave;
const docIds: Record<string, string> = {};
const collectionIds: Record<string, string> = {};
let allId: string;
let groundedModelId: string;

const call = routerCaller(() => enclave);
const grant = granter(() => enclave);

async function indexed(): Promise<void> {
  for (let i = 0; i < 400; i++) {
    const s = await call('retrieval.status', {});
    if (s.state === 'idle' && s.chunks > 0 && (!s.embeddingModelId || s.embedded === s.chunks)) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error('index never caught up');
}

const ask = (conversationId: string, text: string): Promise<Message> => askAndWait(enclave, conversationId, text);

function recallAt5(hits: { documentId: string; pageNumber: number }[][]): number {
  let found = 0;
  CORPUS_QUESTIONS.forEach((q, i) => {
    if (hits[i].slice(0, 5).some((h) => h.documentId === docIds[q.key] && h.pageNumber === q.page)) found++;
  });
  return found / CORPUS_QUESTIONS.length;
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'enclave-rag-'));
  enclave = createEnclave({ dataDir: join(dir, 'data'), mode: 'web', version: 'test', settingsOverride: { threads: 1, contextSize: 2048, gpu: 'off' } });
  const paths = await writeCorpus(join(dir, 'corpus'));
  for (const doc of CORPUS) {
    const { document } = await call('documents.import', { file: grant(paths[doc.key]) });
    await enclave.documents.whenIdle(document.id);
    docIds[doc.key] = document.id;
    const collection = await call('collections.create', { name: doc.title });
    await call('collections.setMembership', { collectionId: collection.id, documentId: document.id, member: true });
    collectionIds[doc.key] = collection.id;
  }
  allId = (await call('collections.create', { name: 'Everything' })).id;
  for (const id of Object.values(docIds)) await call('collections.setMembership', { collectionId: allId, documentId: id, member: true });
  groundedModelId = (await call('models.add', { file: grant(GROUNDED_MODEL) })).id;
  await enclave.models.settled;
  await indexed();
});

afterAll(async () => {
  await enclave.shutdown();
  rmSync(dir, { recursive: true, force: true });
});

describe('indexing and retrieval', () => {
  it('chunks every document with its pages; with no embedding model, search is keyword only', async () => {
    const status = await call('retrieval.status', {});
    expect(status).toMatchObject({ embeddingModelId: null, embedded: 0 });
    expect(status.chunks).toBeGreaterThanOrEqual(CORPUS.reduce((n, d) => n + d.pages.length, 0));
  });

  it('recall@5 on the test corpus: BM25 alone, then hybrid with an embedding model', async () => {
    const bm25 = CORPUS_QUESTIONS.map((q) =>
      enclave.retrieval.chunks(enclave.retrieval.bm25(q.question, enclave.retrieval.documentsIn([allId]), 5).map((h) => h.chunkId)),
    );
    const bm25Recall = recallAt5(bm25);

    const embeddingModel = await call('models.add', { file: grant(EMBEDDING_MODEL) });
    const status = await call('models.setEmbedding', { modelId: embeddingModel.id });
    expect(status).toMatchObject({ embeddingModelName: 'Bag of Words Embedding', dimensions: 128 });
    await indexed();
    expect((await call('retrieval.status', {})).embedded).toBe((await call('retrieval.status', {})).chunks);

    const hybrid = [];
    for (const q of CORPUS_QUESTIONS) {
      const result = await enclave.retriever.search(q.question, [allId], 5);
      expect(result.mode).toBe('hybrid');
      hybrid.push(result.passages);
    }
    const hybridRecall = recallAt5(hybrid);
    console.log(`recall@5 on ${CORPUS_QUESTIONS.length} questions: BM25 ${bm25Recall.toFixed(2)}, hybrid ${hybridRecall.toFixed(2)}`);
    expect(bm25Recall).toBeGreaterThanOrEqual(0.8);
    expect(hybridRecall).toBeGreaterThanOrEqual(0.8);
  });

  it('searches run on a thread of their own, and find what main’s connection finds', async () => {
    expect(enclave.searchReader.threaded).toBe(true);
    const onMain: string[] = [];
    const store = enclave.retrieval;
    const originalBm25 = store.bm25.bind(store);
    const originalVector = store.vector.bind(store);
    store.bm25 = (...args) => (onMain.push('bm25'), originalBm25(...args));
    store.vector = (...args) => (onMain.push('vector'), originalVector(...args));
    try {
      for (const q of CORPUS_QUESTIONS) {
        const scope = store.documentsIn([allId]);
        const viaThread = await enclave.retriever.searchDocuments(q.question, scope, 5);
        expect(viaThread.mode).toBe('hybrid');
        // Neither search touched main's connection.
        expect(onMain).toEqual([]);
        const keywordOnThread = await enclave.searchReader.bm25(q.question, scope, 20);
        expect(keywordOnThread).toEqual(originalBm25(q.question, scope, 20));
      }
    } finally {
      store.bm25 = originalBm25;
      store.vector = originalVector;
    }
  });

  it('never looks outside the conversation’s collections', async () => {
    for (const q of CORPUS_QUESTIONS) {
      const wrong = CORPUS.find((d) => d.key !== q.key)!.key;
      const hits = enclave.retrieval.bm25(q.question, enclave.retrieval.documentsIn([collectionIds[wrong]]), 50);
      const chunks = enclave.retrieval.chunks(hits.map((h) => h.chunkId));
      for (const c of chunks) expect(c.documentId).toBe(docIds[wrong]);
    }
  });

  it('the collection filter is exact: a scoped search returns what the whole library holds within the scope, in the same order', async () => {
    const store = enclave.retrieval;
    const all = store.documentsIn([allId]);
    const keys = Object.keys(collectionIds);
    // One collection, two collections (two runs of chunk ids apart), everything.
    const scopes = [[collectionIds[keys[0]]], [collectionIds[keys[0]], collectionIds[keys[2]]], [allId]];
    let compared = 0;
    for (const q of CORPUS_QUESTIONS) {
      const everywhere = store.bm25(q.question, all, 100_000);
      const vector = await enclave.embedder.embedQuestion(q.question);
      const everywhereByVector = store.vector(vector, all, 100_000);
      const owner = new Map(store.chunks([...everywhere, ...everywhereByVector].map((h) => h.chunkId)).map((c) => [c.id, c.documentId]));
      for (const collections of scopes) {
        const scope = new Set(store.documentsIn(collections));
        const expected = (hits: { chunkId: number }[]) => hits.filter((h) => scope.has(owner.get(h.chunkId)!)).slice(0, 8).map((h) => h.chunkId);
        const keyword = await enclave.searchReader.bm25(q.question, [...scope], 8);
        expect(keyword.map((h) => h.chunkId)).toEqual(expected(everywhere));
        const nearest = await enclave.searchReader.vector(vector, [...scope], 8);
        expect(nearest.map((h) => h.chunkId)).toEqual(expected(everywhereByVector));
        if (keyword.length > 0) compared++;
      }
    }
    // Not vacuous: every question finds passages in the whole library, and some within smaller scopes.
    expect(compared).toBeGreaterThan(CORPUS_QUESTIONS.length);
  });
});

describe('grounded answers', () => {
  let conversationId: string;
  beforeAll(async () => {
    await call('models.activate', { modelId: groundedModelId });
    conversationId = (await call('conversations.create', {})).id;
    await call('conversations.setCollections', { conversationId, collectionIds: [collectionIds.lease] });
  });

  it('attributes every sentence: cited and uncited claims the passages support are linked; the rest are marked; failed citations are recorded', async () => {
    const reply = await ask(conversationId, 'What is the notice period for terminating the lease?');
    expect(reply.content).toBe('The notice period is thirty days. Rent doubles each year. The lease is between Harbor Properties and Maria Lopez. See also.');
    const sentences = reply.grounding!.sentences.map((s) => [reply.content.slice(s.start, s.end), s.support, s.source]);
    expect(sentences).toEqual([
      ['The notice period is thirty days.', 'verified', 1],
      ['Rent doubles each year.', 'unsupported', null],
      ['The lease is between Harbor Properties and Maria Lopez.', 'verified', 2],
      ['See also.', 'unsupported', null],
    ]);
    expect(reply.grounding!.modelCitations).toBe(3);
    // How its passages were found is kept with it: words and meaning, no reranking model.
    expect(reply.grounding!.search).toEqual({ mode: 'hybrid', rerankedBy: null, rerankFailed: false });
    expect(reply.sources.slice(0, 2)).toMatchObject([
      { number: 1, documentId: docIds.lease, documentTitle: 'Lease agreement', pageNumber: 3, quote: 'notice of thirty days' },
      { number: 2, documentId: docIds.lease, pageNumber: 1, quote: 'lease is made between Harbor Properties, the landlord, and Maria Lopez' },
    ]);
    // Each source's offsets are its quoted words on the page, for the reader to highlight.
    for (const source of reply.sources) {
      const page = (await call('documents.page', { documentId: source.documentId, pageNumber: source.pageNumber })).text;
      expect(page.slice(source.charStart, source.charEnd)).toBe(source.quote);
    }
    expect(reply.citationFailures).toBe(2);
    const failures = enclave.db.prepare('SELECT failure FROM message_sources WHERE message_id = ? AND verified = 0 ORDER BY number').pluck().all(reply.id) as string[];
    expect(failures[0]).toBe('[1] the quoted words are not in source 1');
    expect(failures[1]).toMatch(/^\[9\] cites source 9, but there were only \d$/);
    // Reloaded from the store, the same sources and attribution come back.
    const detail = await call('conversations.get', { conversationId });
    expect(detail.collectionIds).toEqual([collectionIds.lease]);
    expect(detail.messages[1].sources.slice(0, 2).map((s) => s.pageNumber)).toEqual([3, 1]);
    expect(detail.messages[1].grounding).toEqual(reply.grounding);
  });

  it('the audit trail records who asked what, the passages the model was given (document, page), and the answer with its checked sources', async () => {
    const [answer, passages, asked] = (await call('audit.list', { limit: 3 })).entries;
    expect(asked).toMatchObject({
      action: 'question.asked',
      summary: 'Asked: What is the notice period for terminating the lease?',
      details: { conversationId, question: 'What is the notice period for terminating the lease?', evaluation: false },
    });
    expect(asked.actor).toMatch(/ \(browser\)$/);
    expect(passages.action).toBe('passages.retrieved');
    const given = passages.details.passages as { documentId: string; document: string; page: number }[];
    expect(given.length).toBeGreaterThan(0);
    expect(given).toContainEqual({ documentId: docIds.lease, document: 'Lease agreement', page: 3 });
    expect(passages.summary).toMatch(/^Retrieved \d+ passages?: Lease agreement p\. \d/);
    expect(passages.details.search).toEqual({ mode: 'hybrid', rerankedBy: null, rerankFailed: false });
    const reply = (await call('conversations.get', { conversationId })).messages[1];
    expect(answer).toMatchObject({
      action: 'answer.produced',
      summary: 'Grounded Test Model answered (complete): 2 checked sources, 2 sentences without support',
      details: {
        messageId: reply.id,
        model: 'Grounded Test Model',
        fromDocuments: true,
        answer: reply.content,
        unsupportedSentences: 2,
        failedCitations: 2,
        verifiedCitations: [
          { documentId: docIds.lease, document: 'Lease agreement', page: 3, quote: 'notice of thirty days' },
          { documentId: docIds.lease, document: 'Lease agreement', page: 1, quote: 'lease is made between Harbor Properties, the landlord, and Maria Lopez' },
        ],
      },
    });
    expect(await call('audit.verify', {})).toMatchObject({ intact: true, headSeq: answer.seq, headHash: answer.hash });
  });

  it('the sources go in the question turn: the system prompt and earlier turns stay the same, so each turn reads a constant amount, not the whole history', async () => {
    const reads: number[] = [];
    const reused: number[] = [];
    for (let i = 0; i < 3; i++) {
      const before = enclave.engine.tokenUsage(conversationId)!.input;
      const reply = await ask(conversationId, 'What is the notice period for terminating the lease?');
      expect(reply.grounding).not.toBeNull();
      const read = enclave.engine.tokenUsage(conversationId)!.input - before;
      reads.push(read);
      // What was in the context and not read again: the cached conversation so far.
      reused.push(reply.contextTokens! - read - reply.tokenCount!);
    }
    // Each turn reads the previous answer, this turn's sources and question: the same amount each time…
    expect(Math.max(...reads) - Math.min(...reads)).toBeLessThanOrEqual(2);
    // …while the part reused from the cache grows by one exchange per turn.
    expect(reused[1]).toBeGreaterThan(reused[0]);
    expect(reused[2]).toBeGreaterThan(reused[1]);
  });

  it('says plainly when nothing relevant is found, without asking the model', async () => {
    const reply = await ask(conversationId, 'What is the capital of France?');
    expect(reply.content).toMatch(/^I could not find anything about this in “Lease agreement”/);
    expect(reply.tokenCount).toBeNull();
    expect(reply.sources).toEqual([]);
  });

  it('with general answers allowed, the model answers (no sources) when nothing matches', async () => {
    await call('settings.update', { allowGeneralAnswers: true });
    const reply = await ask(conversationId, 'What is the capital of France?');
    expect(reply.tokenCount).toBeGreaterThan(0);
    expect(reply.sources).toEqual([]);
    await call('settings.update', { allowGeneralAnswers: false });
  });

  it('the audit trail also holds the documents and models added, the model loaded, settings changed and files exported', async () => {
    const all = (await call('audit.list', { limit: 500 })).entries;
    const added = all.filter((e) => e.action === 'document.added');
    expect(added.map((e) => e.details.documentId).sort()).toEqual(Object.values(docIds).sort());
    const lease = added.find((e) => e.details.documentId === docIds.lease)!;
    expect(lease.details.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(all.find((e) => e.action === 'model.added' && e.details.modelId === groundedModelId)?.summary).toBe('Added the model Grounded Test Model (grounded-answer.gguf)');
    expect(all.find((e) => e.action === 'model.loaded' && e.details.modelId === groundedModelId)?.summary).toBe('Loaded the model Grounded Test Model');
    const changed = all.filter((e) => e.action === 'settings.changed').map((e) => e.details.changes);
    expect(changed.slice(0, 2)).toEqual([{ allowGeneralAnswers: { from: true, to: false } }, { allowGeneralAnswers: { from: false, to: true } }]);
    // A refusal made without the model is recorded as such.
    const refused = all.find((e) => e.action === 'answer.produced' && e.details.refusedWithoutModel === true);
    expect(refused?.summary).toMatch(/^Answered without the model: I could not find anything about this in “Lease agreement”/);
    // Exports: of the trail itself, and of a conversation the window saved (only one that exists).
    const file = await call('audit.export', {});
    expect(file.fileName).toMatch(/^enclave-audit-trail-\d{4}-\d{2}-\d{2}\.jsonl$/);
    const lines = Buffer.from(file.base64, 'base64').toString('utf8').trim().split('\n');
    expect(lines).toHaveLength(all.length);
    expect((await call('audit.list', { action: 'export' })).entries[0].summary).toBe(`Exported the audit trail as ${file.fileName}`);
    expect((await call('audit.list', { action: 'export' })).total).toBe(1);
    expect((await call('audit.verify', {})).intact).toBe(true);
  });

  it('exports the conversation as a record in Markdown, Word and PDF: checked sources with page and words, the model and documents by SHA-256, the file’s own SHA-256 in the audit trail', async () => {
    const target = { what: 'conversation' as const, conversationId };
    const model = (await call('models.list', {})).models.find((m) => m.id === groundedModelId)!;
    const leaseSha = enclave.db.prepare('SELECT sha256 FROM documents WHERE id = ?').pluck().get(docIds.lease) as string;
    const md = await call('records.export', { target, format: 'markdown', redact: [] });
    const text = Buffer.from(md.base64, 'base64').toString('utf8');
    expect(md.fileName).toMatch(/\.md$/);
    expect(text).toContain('The notice period is thirty days. [1]');
    expect(text).toContain('(not in the passages found)');
    expect(text).toContain('- [1] Lease agreement, page 3 — “notice of thirty days”');
    expect(text).toContain(`Grounded Test Model · SHA-256 ${model.sha256}`);
    expect(text).toContain(`| Lease agreement | lease.pdf |`);
    expect(text).toContain(leaseSha);
    expect(text).toMatch(/\*\*Exported:\*\* \d{4}-\d{2}-\d{2} \d{2}:\d{2} UTC by .+ \(browser\), from Enclave test/);
    expect(md.sha256).toBe(createHash('sha256').update(Buffer.from(md.base64, 'base64')).digest('hex'));

    const docx = await call('records.export', { target, format: 'docx', redact: [] });
    const xml = strFromU8(unzipSync(Buffer.from(docx.base64, 'base64'))['word/document.xml']);
    expect(xml).toContain('notice of thirty days');
    expect(xml).toContain(model.sha256);
    expect(xml).toContain(leaseSha);

    const pdf = await call('records.export', { target, format: 'pdf', redact: [] });
    const pdfText = await pdfWords(Buffer.from(pdf.base64, 'base64'));
    expect(pdfText).toContain('notice of thirty days');
    expect(pdfText).toContain('Lease agreement, page 3');
    expect(pdfText).toMatch(/page 1 of \d+/);

    const exports = (await call('audit.list', { action: 'export', limit: 3 })).entries;
    expect(exports.map((e) => [e.details.format, e.details.sha256])).toEqual([
      ['pdf', pdf.sha256],
      ['docx', docx.sha256],
      ['markdown', md.sha256],
    ]);
    expect(exports[0].summary).toMatch(/^Exported the conversation “.+” as .+\.pdf$/);
  });

  it('a redacted record: identifiers found by pattern are offered, a term of the person’s own is added, and none is left in the file', async () => {
    const c = await call('conversations.create', { title: 'Intake for Mr. John Carver' });
    enclave.conversations.appendMessage({ conversationId: c.id, role: 'user', content: 'Patient: John Carver, DOB: 03/14/1962, MRN: 00482913. Call (555) 201-3344. Does the lease with Maria Lopez allow pets?', status: 'complete' });
    const target = { what: 'conversation' as const, conversationId: c.id };
    const found = await call('records.identifiers', { target });
    expect(found.map((f) => [f.kind, f.text])).toEqual(expect.arrayContaining([
      ['name', 'John Carver'],
      ['date-of-birth', '03/14/1962'],
      ['record-number', '00482913'],
      ['phone', '(555) 201-3344'],
    ]));
    // A name with no title or label is not found by the patterns: the person adds it.
    expect(found.some((f) => f.text.includes('Maria'))).toBe(false);
    const terms = [...found.map((f) => f.text), 'Maria Lopez'];
    for (const format of ['markdown', 'docx', 'pdf'] as const) {
      const r = await call('records.export', { target, format, redact: terms });
      const bytes = Buffer.from(r.base64, 'base64');
      const words = format === 'markdown' ? bytes.toString('utf8') : format === 'docx' ? strFromU8(unzipSync(bytes)['word/document.xml']) : await pdfWords(bytes);
      for (const t of terms) expect(words, `${format}: ${t}`).not.toContain(t);
      expect(words).toContain('[REDACTED]');
      expect(words).toMatch(/occurrences of 5 personal identifiers reviewed by .+ replaced with \[REDACTED\]/);
      expect(r.fileName).toBe(`Intake for Mr_ _REDACTED_ (redacted).${format === 'markdown' ? 'md' : format}`);
      expect(r.redactions).toBe(6);
    }
    expect((await call('audit.list', { action: 'export', limit: 1 })).entries[0].details).toMatchObject({ redactedTerms: 5, redactions: 6, format: 'pdf' });
    // Characters the PDF font cannot show: refused with what to do; Markdown keeps them.
    enclave.conversations.appendMessage({ conversationId: c.id, role: 'user', content: '合同的租期是多久？', status: 'complete' });
    expect(await enclave.router.call('records.export', { target, format: 'pdf', redact: [] })).toMatchObject({ ok: false, error: { code: 'record/pdf-characters', message: expect.stringMatching(/^This record has characters the PDF's font cannot show \(合 同/) } });
    expect(Buffer.from((await call('records.export', { target, format: 'markdown', redact: [] })).base64, 'base64').toString('utf8')).toContain('合同的租期是多久？');
    // Only what exists.
    expect(await enclave.router.call('records.export', { target: { what: 'conversation', conversationId: 'no-such-conversation' }, format: 'markdown', redact: [] })).toMatchObject({ ok: false, error: { code: 'conversation/not-found' } });
    await call('conversations.delete', { conversationId: c.id });
  });

  it('a collection with no readable documents gets a clear answer; a conversation with no collection is plain chat', async () => {
    const empty = await call('collections.create', { name: 'Empty matter' });
    const c = await call('conversations.create', {});
    await call('conversations.setCollections', { conversationId: c.id, collectionIds: [empty.id] });
    expect((await ask(c.id, 'Anything?')).content).toMatch(/no readable documents in “Empty matter”/);
    await call('conversations.setCollections', { conversationId: c.id, collectionIds: [] });
    const plain = await ask(c.id, 'Anything?');
    expect(plain.tokenCount).toBeGreaterThan(0);
    expect(plain.citationFailures + plain.sources.length).toBe(0);
  });
});

describe('limits', () => {
  it('a collection of 10,000 documents is searched within it, and still finds the right page', async () => {
    const big = await call('collections.create', { name: 'Ten thousand' });
    const db = enclave.db;
    const ids: string[] = [];
    db.transaction(() => {
      const insertDoc = db.prepare(
        `INSERT INTO documents (id, title, file_name, kind, source_path, size_bytes, sha256, paginated, page_count, status, created_at, updated_at, chunked)
         VALUES (?, ?, ?, 'text', '', 1, ?, 1, 1, 'ready', 0, 0, 1)`,
      );
      const insertChunk = db.prepare('INSERT INTO chunks (document_id, page_number, char_start, char_end, text) VALUES (?, 1, 0, ?, ?)');
      const member = db.prepare('INSERT INTO collection_documents (collection_id, document_id) VALUES (?, ?)');
      for (let i = 0; i < 10_000; i++) {
        const id = `bulk-${i}`;
        const text = i === 7321 ? 'The boiler is serviced every autumn by the caretaker.' : `Routine correspondence number ${i} about office supplies.`;
        insertDoc.run(id, `Letter ${i}`, `letter-${i}.txt`, `sha-${i}`);
        insertChunk.run(id, text.length, text);
        member.run(big.id, id);
        ids.push(id);
      }
    })();
    const result = await enclave.retriever.search('When is the boiler serviced?', [big.id], 5);
    expect(result.relevant).toBe(true);
    expect(result.passages[0]).toMatchObject({ documentId: 'bulk-7321', pageNumber: 1 });
    for (const p of result.passages) expect(p.documentId.startsWith('bulk-')).toBe(true);
    // Until now FTS5 scored these new chunks; the indexer's pass puts them in the keyword postings,
    // and the search threads then score them from there: the same chunks, the same scores.
    const question = 'Is the boiler serviced by the caretaker, or is it routine correspondence?';
    const byFts = await enclave.searchReader.bm25(question, ids, 20);
    expect(byFts.length).toBe(20);
    expect(enclave.retrieval.postings.behind()).toBe(true);
    await enclave.indexer.kick();
    expect(enclave.retrieval.postings.behind()).toBe(false);
    expect(enclave.retrieval.postings.coveredUpTo()).toBe(db.prepare('SELECT MAX(id) FROM chunks').pluck().get());
    const byPostings = await enclave.searchReader.bm25(question, ids, 20);
    expect(byPostings.map((h) => h.chunkId)).toEqual(byFts.map((h) => h.chunkId));
    byPostings.forEach((h, i) => expect(h.score).toBeCloseTo(byFts[i].score, 9));
    expect((await enclave.retriever.search('When is the boiler serviced?', [big.id], 5)).passages[0]).toMatchObject({ documentId: 'bulk-7321' });
    db.prepare("DELETE FROM documents WHERE id LIKE 'bulk-%'").run();
    await call('collections.delete', { collectionId: big.id });
  });
});

describe('changing the embedding model', () => {
  it('re-embeds everything with the new model; vectors of different sizes never mix', async () => {
    const other = await call('models.add', { file: grant(ENDLESS_MODEL) });
    const status = await call('models.setEmbedding', { modelId: other.id });
    expect(status.dimensions).toBe(64);
    await indexed();
    const sizes = enclave.db.prepare('SELECT DISTINCT length(embedding) FROM chunk_embeddings').pluck().all();
    expect(sizes).toEqual([64 * 4]);
    expect((await call('retrieval.status', {})).embedded).toBe((await call('retrieval.status', {})).chunks);
    await call('models.setEmbedding', { modelId: null });
    expect(await call('retrieval.status', {})).toMatchObject({ embeddingModelId: null, embedded: 0 });
  });

  it('a model whose context is shorter than the passages still embeds every one of them (cut to fit, its special tokens counted)', async () => {
    const short = await call('models.add', { file: grant(SHORT_EMBEDDING_MODEL) });
    const longest = Math.max(...enclave.db.prepare('SELECT text FROM chunks').pluck().all().map((t) => enclave.engine.countTokens(t as string)));
    const status = await call('models.setEmbedding', { modelId: short.id });
    expect(status.dimensions).toBe(96);
    await indexed();
    const after = await call('retrieval.status', {});
    expect(longest).toBeGreaterThan(16); // the passages really are longer than its context
    expect(after).toMatchObject({ error: null, skipped: 0 });
    expect(after.embedded).toBe(after.chunks);
    // Search by meaning works with it.
    const result = await enclave.retriever.search('How much is the monthly rent?', [allId], 5);
    expect(result.mode).toBe('hybrid');
    await call('models.setEmbedding', { modelId: null });
  });

  it('a chunk the model cannot embed is recorded and skipped: it never stops the index, and it is counted', async () => {
    const chunkId = enclave.db.prepare('SELECT id FROM chunks ORDER BY id LIMIT 1').pluck().get() as number;
    enclave.retrieval.skipEmbedding(chunkId, 'Input is longer than the usable context size.');
    const status = await call('retrieval.status', {});
    expect(status).toMatchObject({ skipped: 1, skippedReason: 'Input is longer than the usable context size.' });
    expect(enclave.retrieval.chunksToEmbed(10_000).some((c) => c.id === chunkId)).toBe(false);
    // A new embedding space forgets what the old model could not take.
    enclave.retrieval.resetEmbeddings(null);
    expect((await call('retrieval.status', {})).skipped).toBe(0);
  });
});

describe('small contexts', () => {
  it('with a 512-token context, passages are fitted: the answer comes, never an error about the question', async () => {
    await call('settings.update', { contextSize: 512 });
    expect(enclave.engine.contextSize).toBe(512);
    const c = await call('conversations.create', {});
    await call('conversations.setCollections', { conversationId: c.id, collectionIds: [allId] });
    const reply = await ask(c.id, 'What is the notice period for terminating the lease?');
    expect(reply.status).toBe('complete');
    expect(reply.error).toBeNull();
    expect(reply.tokenCount).toBeGreaterThan(0);
    expect(reply.contextTokens!).toBeLessThanOrEqual(512);
    // Passages were given (fitted), and the answer was checked against them.
    expect(reply.grounding).not.toBeNull();
    expect(reply.sources.length).toBeGreaterThan(0);
    expect(reply.sources.every((s) => s.documentId === docIds.lease)).toBe(true);
    await call('settings.update', { contextSize: 2048 });
  });
});

describe('questions and indexing share the embedding model', () => {
  it('a question is embedded on its own context: the same vector, and it does not wait for a batch being indexed', async () => {
    const embedder = new Embedder();
    try {
      await embedder.load({ id: 'bag', name: 'Bag of Words Embedding', path: EMBEDDING_MODEL } as ModelInfo, 2);
      const question = 'Which notice period does the lease give the tenant?';
      const [viaBatch] = await embedder.embed([question]);
      expect(Array.from(await embedder.embedQuestion(question))).toEqual(Array.from(viaBatch));
      const order: string[] = [];
      const batch = embedder.embedEach(Array.from({ length: 500 }, (_, i) => `Passage ${i} about rent, notice and the deposit of the tenant.`)).then(() => order.push('batch'));
      const asked = embedder.embedQuestion(question).then(() => order.push('question'));
      await Promise.all([batch, asked]);
      expect(order).toEqual(['question', 'batch']);
    } finally {
      await embedder.dispose();
    }
  });
});

describe('questions while the embedding model is loaded again', () => {
  it('questions waiting for their turn when the model is loaded again are all answered, by the model loaded', async () => {
    const embedder = new Embedder({ padding: 'never' });
    try {
      const info = { id: 'bag', name: 'Bag of Words Embedding', path: EMBEDDING_MODEL } as ModelInfo;
      await embedder.load(info, 2);
      const question = 'Which notice period does the lease give the tenant?';
      const [expected] = await embedder.embed([question]);
      const asked = Array.from({ length: 6 }, () => embedder.embedQuestion(question));
      const reloaded = embedder.load(info, 2);
      // A question that found the model gone takes the main context once the load is done (it
      // must not wait for it while holding the question lock the load waits for).
      const answered = await Promise.race([Promise.all([...asked, reloaded]), new Promise<'stuck'>((r) => setTimeout(() => r('stuck'), 20_000))]);
      expect(answered).not.toBe('stuck');
      for (const v of await Promise.all(asked)) expect(Array.from(v)).toEqual(Array.from(expected));
    } finally {
      await embedder.dispose();
    }
  });
});

describe('questions padded to the fast batch', () => {
  // Questions of a few tokens, of about 40 (padded), and longer than the fast batch (never padded).
  const words = 'which notice period does the lease give the tenant before the landlord may end it for a breach of the rent or deposit terms that the parties agreed in the schedule attached to this agreement and its annexes'.split(' ');
  const questions = [words.slice(0, 4).join(' '), words.slice(0, 30).join(' '), `${words.join(' ')} ${words.join(' ')} ${words.join(' ')}`];

  // The seeded model is a llama decoder with a KV cache (padded by as many tokens as the question),
  // MiniLM a BERT encoder (padded to the fast batch).
  for (const [name, path, mode] of [['the seeded embedding model', EMBEDDING_MODEL, 'mirror'], ['all-MiniLM-L6-v2 (../shared)', MINILM_MODEL, 'fill']] as const) {
    it.runIf(existsSync(path))(`${name}: a padded question gets the vector of the question alone`, async () => {
      const padded = new Embedder({ padding: 'always' });
      const plain = new Embedder({ padding: 'never' });
      try {
        const info = { id: 'e', name, path } as ModelInfo;
        await padded.load(info, 1);
        await plain.load(info, 1);
        // The load-time check compared both ways on a probe of 48 tokens.
        expect(padded.paddingCheck).toMatchObject({ mode, probeTokens: 48, padFrom: 1 });
        expect(padded.paddingCheck!.agreement).toBeGreaterThan(0.9999);
        expect(plain.paddingCheck).toBeNull();
        for (const q of questions) {
          const [alone] = await plain.embed([q]);
          const viaPadding = await padded.embedQuestion(q);
          expect(viaPadding.length).toBe(alone.length);
          expect(cosine(viaPadding, alone)).toBeGreaterThan(0.9999);
        }
        // Each question was padded in turn and nothing was left behind in the padded context: asked
        // again, in another order, every vector is the same.
        const again = await Promise.all([...questions].reverse().map((q) => padded.embedQuestion(q)));
        for (const [i, q] of [...questions].reverse().entries()) {
          expect(cosine(again[i], (await plain.embed([q]))[0])).toBeGreaterThan(0.9999);
        }
      } finally {
        await padded.dispose();
        await plain.dispose();
      }
    });
  }

  it('padding is used only from the length where it measured faster here', () => {
    // Measured here (AVX-512): a 48-token probe took 44.4 ms plain and 21.5 ms padded to 64 tokens.
    expect(paddingFrom(44.4, 21.5, 48)).toBe(26);
    // A CPU without the slow path (AVX2 here: ~0.55 ms a token, linear): padding to 64 never pays.
    expect(paddingFrom(26.4, 35.2, 48)).toBeNull();
    // Padded about as fast as plain at 48 tokens: only the longest questions are padded.
    expect(paddingFrom(30, 30, 48)).toBe(53);
    expect(paddingFrom(0, 21.5, 48)).toBeNull();
    // Padded by as many tokens as the question: from 32 tokens (a batch of 64) where it measured faster.
    expect(paddingFrom(44.4, 33.8, 48, 'mirror')).toBe(32);
    expect(paddingFrom(26.4, 52.8, 48, 'mirror')).toBeNull();
  });
});

describe('pausing the index', () => {
  it('embedding can be paused (keyword search still finds every passage) and resumed where it stopped', async () => {
    const before = await call('retrieval.status', {});
    const paused = await call('retrieval.pause', {});
    expect(paused).toMatchObject({ paused: true, state: 'idle', etaMs: null });
    // Another embedding model while paused: its vectors start empty, and none are made.
    const other = (await call('models.list', {})).models.find((m) => m.name === 'Short Context Embedding' && m.id !== before.embeddingModelId)
      ?? (await call('models.list', {})).models.find((m) => m.name === 'Bag of Words Embedding' && m.id !== before.embeddingModelId)!;
    await call('models.setEmbedding', { modelId: other.id });
    await until(async () => (await call('retrieval.status', {})).state === 'idle', 20_000, 'the pass');
    const idle = await call('retrieval.status', {});
    expect(idle).toMatchObject({ paused: true, embedded: 0, embeddingModelId: other.id });
    const q = CORPUS_QUESTIONS[0];
    const found = await enclave.retriever.search(q.question, [allId], 5);
    expect(found.mode).toBe('keyword');
    expect(found.passages.length).toBeGreaterThan(0);

    const resumed = await call('retrieval.resume', {});
    expect(resumed.paused).toBe(false);
    await until(async () => {
      const s = await call('retrieval.status', {});
      return s.state === 'idle' && s.embedded + s.skipped === s.chunks;
    }, 60_000, 'the index after resuming');
    expect((await enclave.retriever.search(q.question, [allId], 5)).mode).toBe('hybrid');
  });
});

describe('progress while embedding', () => {
  it('progress is told every 250 ms without counting every chunk and vector each time; the counts hold', async () => {
    const path = join(dir, 'long-to-embed.pdf');
    writeFileSync(path, await makePdf(1200, { title: 'Long lease' }));
    const store = enclave.retrieval;
    const counted = store.chunkCounts.bind(store);
    let fullCounts = 0;
    store.chunkCounts = () => (fullCounts++, counted());
    const progress: { embedded: number; chunks: number; at: number; counts: number }[] = [];
    let embedded!: () => void;
    const finished = new Promise<void>((resolve) => (embedded = resolve));
    // Only the indexer's own reports are listened to (asking for the status counts in full).
    const off = enclave.events.subscribe((name, s) => {
      if (name !== 'retrieval.status') return;
      const status = s as { state: string; embedded: number; chunks: number; skipped: number };
      if (status.state === 'embedding') progress.push({ ...status, at: performance.now(), counts: fullCounts });
      if (status.state === 'idle' && progress.length > 0 && status.embedded + status.skipped === status.chunks) embedded();
    });
    try {
      const { document } = await call('documents.import', { file: grant(path) });
      await enclave.documents.whenIdle(document.id);
      await finished;
    } finally {
      off();
      store.chunkCounts = counted;
    }
    const embedding = progress.slice(1);
    expect(embedding.length).toBeGreaterThan(2);
    // Told as it goes, never more than there is, never going back.
    for (let i = 1; i < embedding.length; i++) {
      expect(embedding[i].embedded).toBeGreaterThanOrEqual(embedding[i - 1].embedded);
      expect(embedding[i].embedded).toBeLessThanOrEqual(embedding[i].chunks);
    }
    // Counted in full at most once per 5 s (and once at the start of the pass), not at every report.
    const span = embedding[embedding.length - 1].at - progress[0].at;
    expect(embedding[embedding.length - 1].counts - progress[0].counts).toBeLessThanOrEqual(1 + Math.ceil(span / 5000));
    const done = await call('retrieval.status', {});
    expect(done.embedded + done.skipped).toBe(done.chunks);
  }, 150_000);
});

describe('an 8-bit copy of the embedding model for questions', () => {
  const questions = ['notice period', 'Which notice period does the lease give the tenant before the landlord may end it?', CORPUS_QUESTIONS.map((q) => q.question).join(' ')];

  for (const [name, path] of [['the seeded embedding model', EMBEDDING_MODEL], ['all-MiniLM-L6-v2 (../shared)', MINILM_MODEL]] as const) {
    it.runIf(existsSync(path))(`${name}: made once, checked against the model, used for questions; passages keep the model's own vectors; gone when the model is unloaded`, async () => {
      const copyDir = join(dir, `copies-${name.length}`);
      const withCopy = new Embedder({ copyDir, questionCopy: 'always' });
      const plain = new Embedder();
      try {
        const info = { id: 'e', name, path } as ModelInfo;
        await withCopy.load(info, 2);
        await plain.load(info, 2);
        await withCopy.questionCopyReady;
        const check = withCopy.questionCopy!;
        expect(check).toMatchObject({ quantization: 'Q8_0', used: true });
        expect(check.agreement).toBeGreaterThanOrEqual(COPY_AGREEMENT);
        expect(check.modelMs).toBeGreaterThan(0);
        expect(check.copyMs).toBeGreaterThan(0);
        const [file] = readdirSync(copyDir);
        expect(file).toMatch(/^e-\d+-\d+\.q8_0\.gguf$/);
        // Smaller: the matrices are 8-bit now (the token embeddings, looked up, are kept as they were).
        expect(statSync(join(copyDir, file)).size).toBeLessThan(statSync(path).size * 0.8);
        for (const q of questions) {
          const [own] = await plain.embed([q]);
          expect(cosine(await withCopy.embedQuestion(q), own)).toBeGreaterThanOrEqual(COPY_AGREEMENT);
          // Passages are embedded by the model itself, exactly.
          expect(Array.from((await withCopy.embed([q]))[0])).toEqual(Array.from(own));
        }
        // Loaded again: the copy made before is checked again, not written again.
        const written = statSync(join(copyDir, file)).mtimeMs;
        await withCopy.load(info, 2);
        await withCopy.questionCopyReady;
        expect(withCopy.questionCopy!.used).toBe(true);
        expect(statSync(join(copyDir, file)).mtimeMs).toBe(written);
        // Another model, 8-bit already (the copy itself, elsewhere): it gets none, and the old copy goes.
        const eightBit = join(dir, `eight-bit-${name.length}.gguf`);
        copyFileSync(join(copyDir, file), eightBit);
        await withCopy.load({ id: 'q8', name: 'Eight-bit', path: eightBit } as ModelInfo, 2);
        await withCopy.questionCopyReady;
        expect(withCopy.questionCopy).toBeNull();
        expect(readdirSync(copyDir)).toEqual([]);
        await withCopy.unload();
        expect(existsSync(copyDir)).toBe(false);
        expect(withCopy.questionCopy).toBeNull();
      } finally {
        await withCopy.dispose();
        await plain.dispose();
      }
    });
  }

  it('the copy is used only where it agrees with the model and is faster here', () => {
    // all-MiniLM-L6-v2 measured here: agreement 0.99942, 19.2 ms the model's way, 9.2 ms the copy's.
    expect(copyPays(0.99942, 19.2, 9.2)).toBe(true);
    // A CPU where 8-bit weights are no faster: not used.
    expect(copyPays(0.99942, 19.2, 18)).toBe(false);
    // Vectors that drift from the model's: never used, even where asked to (tests).
    expect(copyPays(0.995, 19.2, 9.2)).toBe(false);
    expect(copyPays(0.995, 19.2, 9.2, true)).toBe(false);
    expect(copyPays(Number.NaN, 19.2, 9.2)).toBe(false);
    expect(copyPays(0.9999, 19.2, 25, true)).toBe(true);
  });
});
