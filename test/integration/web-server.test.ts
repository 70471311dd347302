// The browser-mode server as a real process: its WebSocket transport's guards, and what a crash
// in the middle of a reply leaves behind.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { EMBEDDING_MODEL, ENDLESS_MODEL } from '../fixtures/paths.ts';
import { makePdf } from '../fixtures/documents.ts';
import { writeFileSync } from 'node:fs';
import { startWebServer, until, type RunningServer } from '../support/web-server.ts';
import { WireClient } from '../support/ws-client.ts';

const dir = mkdtempSync(join(tmpdir(), 'enclave-web-'));
const servers: RunningServer[] = [];
afterAll(async () => {
  for (const s of servers) await s.kill();
  rmSync(dir, { recursive: true, force: true });
});

async function start(args: string[]): Promise<RunningServer> {
  const s = await startWebServer(args);
  servers.push(s);
  return s;
}

describe('browser-mode transport', () => {
  it('refuses a connection without this launch’s token or from another origin', async () => {
    const server = await start(['--data-dir', join(dir, 'guards'), '--threads', '1']);
    await expect(WireClient.connect(server.origin, 'wrong-token')).rejects.toThrow(/refused|401|Unexpected/);
    await expect(WireClient.connect(server.origin, server.token, { origin: 'http://evil.example' })).rejects.toThrow();
    const client = await WireClient.connect(server.origin, server.token);
    // Malformed frames neither crash the server nor break the connection.
    client.sendText('{not json');
    client.sendText('[1,2,3]');
    client.sendText('x'.repeat(2 * 1024 * 1024 - 10).slice(0, 10));
    expect(await client.raw('conversations.create', { title: 3 })).toMatchObject({ ok: false, error: { code: 'ipc/invalid-input' } });
    expect(await client.raw('no.such.method', {})).toMatchObject({ ok: false, error: { code: 'ipc/unknown-method' } });
    expect((await client.call('conversations.list', {})).length).toBe(0);
    // The renderer is served with a strict CSP.
    const page = await fetch(server.origin + '/');
    expect(page.headers.get('content-security-policy')).toMatch(/script-src 'self'/);
    expect(page.headers.get('content-security-policy')).toMatch(/default-src 'none'/);
    // Uploads need the token, and must be GGUF.
    const noToken = await fetch(`${server.origin}/api/upload?name=x.gguf`, { method: 'POST', body: 'GGUF', headers: { origin: server.origin } });
    expect(noToken.status).toBe(403);
    const notModel = await fetch(`${server.origin}/api/upload?name=notes.gguf`, {
      method: 'POST',
      body: 'just some text',
      headers: { origin: server.origin, 'x-enclave-token': server.token },
    });
    expect(notModel.status).toBe(400);
    expect(((await notModel.json()) as { error: { code: string } }).error.code).toBe('model/not-gguf');
    client.close();
    await server.stop();
  });

  it('indexing resumes after a crash: vectors already made are kept, the rest are made', async () => {
    const dataDir = join(dir, 'index-crash');
    const pdf = join(dir, 'long-for-index.pdf');
    writeFileSync(pdf, await makePdf(1200, { title: 'Long for indexing' }));
    const server = await start(['--data-dir', dataDir, '--threads', '1']);
    const client = await WireClient.connect(server.origin, server.token);
    const model = await client.call('models.add', { file: await upload(server, EMBEDDING_MODEL, 'model') });
    await client.call('models.setEmbedding', { modelId: model.id });
    await client.call('documents.import', { file: await upload(server, pdf, 'document') });
    let atKill = 0;
    await until(async () => {
      const s = await client.call('retrieval.status', {});
      atKill = s.embedded;
      return s.chunks > 0 && s.embedded > 50 && s.embedded < s.chunks;
    }, 60_000, 'embedding under way');
    await server.kill();

    const restarted = await start(['--data-dir', dataDir, '--threads', '1']);
    const after = await WireClient.connect(restarted.origin, restarted.token);
    const first = await after.call('retrieval.status', {});
    expect(first.embedded).toBeGreaterThanOrEqual(atKill);
    await until(async () => {
      const s = await after.call('retrieval.status', {});
      return s.state === 'idle' && s.embeddingModelId !== null && s.embedded === s.chunks;
    }, 120_000, 'embedding resumed to the end');
    expect((await after.call('retrieval.status', {})).embeddingModelName).toBe('Bag of Words Embedding');
    after.close();
    await restarted.stop();
  }, 240_000);

  it('after a crash mid-reply, the reply is there, marked interrupted, losing at most about a second', async () => {
    const dataDir = join(dir, 'crash');
    const server = await start(['--data-dir', dataDir, '--threads', '1', '--model', ENDLESS_MODEL]);
    const client = await WireClient.connect(server.origin, server.token);
    await until(async () => (await client.call('engine.status', {})).state === 'ready', 30_000, 'model ready');
    await client.call('settings.update', { maxTokens: 65_536 });
    const conversation = await client.call('conversations.create', {});

    const arrivals: { at: number; chars: number }[] = [];
    client.on('chat.delta', (d) => arrivals.push({ at: performance.now(), chars: d.text.length }));
    const turn = await client.call('chat.send', { conversationId: conversation.id, text: 'Write for a long time' });
    await until(() => arrivals.length > 0 && performance.now() - arrivals[0].at > 1600, 20_000, 'streaming for 1.6 s');
    await server.kill();
    const killedAt = performance.now();
    const streamedChars = arrivals.reduce((n, a) => n + a.chars, 0);
    const lastSecondChars = arrivals.filter((a) => a.at > killedAt - 1000).reduce((n, a) => n + a.chars, 0);

    const restarted = await start(['--data-dir', dataDir, '--threads', '1']);
    const after = await WireClient.connect(restarted.origin, restarted.token);
    const detail = await after.call('conversations.get', { conversationId: conversation.id });
    const reply = detail.messages.find((m) => m.id === turn.assistantMessage.id)!;
    expect(reply.status).toBe('interrupted');
    expect(reply.content.length).toBeGreaterThan(0);
    expect(reply.content.length).toBeLessThanOrEqual(streamedChars);
    expect(streamedChars - reply.content.length).toBeLessThanOrEqual(lastSecondChars);
    expect(detail.messages[0]).toMatchObject({ role: 'user', content: 'Write for a long time', status: 'complete' });
    after.close();
    await restarted.stop();
  });
});

/** A file sent as browser mode sends it: uploaded, answered with main's one-time handle. */
async function upload(server: { origin: string; token: string }, path: string, purpose: 'model' | 'document'): Promise<string> {
  const res = await fetch(`${server.origin}/api/upload?purpose=${purpose}&name=${encodeURIComponent(basename(path))}`, {
    method: 'POST',
    body: readFileSync(path),
    headers: { origin: server.origin, 'x-enclave-token': server.token },
  });
  const body = (await res.json()) as { file?: string; error?: { message: string } };
  if (!body.file) throw new Error(body.error?.message ?? `upload failed (${res.status})`);
  return body.file;
}
