// The office-server client against a small OpenAI-style server written here: a reply that takes
// longer than the silence limit but never falls silent that long streams to its end; one whose
// server goes quiet is called interrupted with what it wrote; only local addresses are accepted.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isLocalAddress, normalizeServerUrl, OfficeServerClient } from '../../electron/services/engine/office-server.ts';
import { Engine } from '../../electron/services/engine/engine.ts';
import { DEFAULT_SETTINGS } from '../../electron/services/store/settings-store.ts';

let server: Server;
let url: string;
/** The chat requests the server was sent, as JSON. */
const chatBodies: Record<string, unknown>[] = [];

beforeAll(async () => {
  server = createServer((req, res) => {
    if (req.url === '/engine/v1/models') {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ data: [{ id: 'm' }] }));
      return;
    }
    if (req.url?.startsWith('/engine/') && req.url !== '/engine/v1/chat/completions') {
      res.writeHead(404);
      res.end();
      return;
    }
    if (req.url === '/engine/v1/chat/completions') {
      let body = '';
      req.on('data', (d: Buffer) => (body += d.toString()));
      req.on('end', () => {
        chatBodies.push(JSON.parse(body) as Record<string, unknown>);
        res.writeHead(200, { 'content-type': 'text/event-stream' });
        res.write(`data: ${JSON.stringify({ choices: [{ delta: { content: 'Thirty days.' }, finish_reason: 'stop' }] })}\n\n`);
        res.end('data: [DONE]\n\n');
      });
      return;
    }
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    const event = (value: unknown) => res.write(`data: ${JSON.stringify(value)}\n\n`);
    // /slow: six words 100 ms apart (600 ms in all), then the end. /quiet: two words, then silence.
    const words = req.url?.startsWith('/slow') ? 6 : 2;
    let sent = 0;
    const timer = setInterval(() => {
      if (sent < words) {
        event({ choices: [{ delta: { content: `w${sent} ` }, finish_reason: null }] });
        sent++;
        return;
      }
      clearInterval(timer);
      if (req.url?.startsWith('/slow')) {
        event({ choices: [{ delta: {}, finish_reason: 'stop' }], usage: { prompt_tokens: 5, completion_tokens: 6 } });
        res.end('data: [DONE]\n\n');
      }
    }, 100);
    res.on('close', () => clearInterval(timer));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(() => {
  server.closeAllConnections();
  server.close();
});

const ask = (client: OfficeServerClient, onText: (t: string) => void = () => {}) =>
  client.chatStream('m', { messages: [{ role: 'user', content: 'hi' }], maxTokens: 10, temperature: 0, topP: 1, signal: new AbortController().signal, onText });

describe('the office-server client', () => {
  it('lets a reply run longer than the silence limit as long as words keep coming', async () => {
    const result = await ask(new OfficeServerClient(`${url}/slow`, '', { silenceMs: 350 }));
    expect(result).toMatchObject({ text: 'w0 w1 w2 w3 w4 w5 ', finishReason: 'stop', completionTokens: 6, promptTokens: 5 });
  });

  it('calls a server that falls silent mid-reply interrupted, and keeps what it wrote for the caller', async () => {
    let seen = '';
    await expect(ask(new OfficeServerClient(`${url}/quiet`, '', { silenceMs: 350 }), (t) => (seen += t))).rejects.toMatchObject({
      code: 'server/interrupted',
      message: expect.stringMatching(/stopped answering mid-reply \(silent for 0 s\)\. What it wrote is kept/),
    });
    expect(seen).toBe('w0 w1 ');
  });

  it('accepts only addresses of this computer or a local network', () => {
    for (const a of ['10.0.0.5', '172.16.4.1', '192.168.1.20', '127.0.0.1', '169.254.3.3', '::1', 'fd12::1', 'fe80::1', '::ffff:192.168.0.2']) expect(isLocalAddress(a), a).toBe(true);
    for (const a of ['8.8.8.8', '172.32.0.1', '1.1.1.1', '2001:4860:4860::8888', '::ffff:8.8.8.8', 'example.org']) expect(isLocalAddress(a), a).toBe(false);
    expect(normalizeServerUrl('10.0.0.5:8080/v1/').href).toBe('http://10.0.0.5:8080/');
    expect(() => normalizeServerUrl('http://user:pw@10.0.0.5')).toThrow(/API key in its own field/);
  });

  it('sends an answer from documents without a repeat penalty (llama-server would count the question and passages in it), plain chat with one', async () => {
    const engine = new Engine({ logger: { warn: () => {}, error: () => {} } });
    await engine.useServer({ baseUrl: `${url}/engine`, apiKey: '', model: 'm' }, DEFAULT_SETTINGS);
    const reply = (stopOnLoop: boolean) =>
      engine.generate({ conversationId: 'c', systemPrompt: '', turns: [{ role: 'user', text: 'Notice period?' }], settings: { temperature: 0, topP: 1, maxTokens: 20 }, signal: new AbortController().signal, onText: () => {}, stopOnLoop });
    expect((await reply(true)).text).toBe('Thirty days.');
    await reply(false);
    await engine.dispose();
    expect(chatBodies.map((b) => b.repeat_penalty ?? null)).toEqual([null, 1.1]);
  });
});
