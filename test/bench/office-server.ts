// The office server's benchmark (not a test), with the same model and threads throughout:
//  - Enclave's in-process engine (node-llama-cpp) against Enclave through llama-server, one user;
//  - llama-server's aggregate tokens/s with 1, 4 and 8 conversations at once (continuous
//    batching: the reason a practice shares one server);
//  - llama-bench's generation speed for the same GGUF, as the ceiling.
// Uses SmolLM2-135M from ../shared when present, else the seeded fixture model.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { basename } from 'node:path';
import { Engine } from '../../electron/services/engine/engine.ts';
import { OfficeServerClient } from '../../electron/services/engine/office-server.ts';
import { DEFAULT_SETTINGS } from '../../electron/services/store/settings-store.ts';
import type { ModelInfo } from '../../electron/contract/types.ts';
import { ENDLESS_MODEL, generateFixtures, SMOLLM_MODEL } from '../fixtures/paths.ts';
import { llamaTools, startLlamaServer } from '../support/llama-server.ts';

const THREADS = 1;
const REPLY = 200;
const ROUNDS = 5;
const PROMPT = 'Write a short story about a lighthouse keeper who finds a message in a bottle.';

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

async function replies(engine: Engine, label: string): Promise<number> {
  const rates: number[] = [];
  for (let i = 0; i < ROUNDS + 1; i++) {
    const started = performance.now();
    const r = await engine.generate({
      conversationId: `bench-${label}-${i}`,
      systemPrompt: '',
      turns: [{ role: 'user', text: PROMPT }],
      settings: { temperature: 0.7, topP: 0.9, maxTokens: REPLY },
      signal: new AbortController().signal,
      onText: () => {},
    });
    engine.forgetConversation(`bench-${label}-${i}`);
    // Request to last token, prompt reading included; the first round warms up.
    if (i > 0) rates.push(r.tokenCount / ((performance.now() - started) / 1000));
  }
  return median(rates);
}

export async function benchOfficeServer(): Promise<void> {
  generateFixtures();
  const real = existsSync(SMOLLM_MODEL);
  const modelPath = real ? SMOLLM_MODEL : ENDLESS_MODEL;
  console.log(`\nOffice server (llama-server built from node-llama-cpp's bundled llama.cpp source): ${basename(modelPath)}, ${THREADS} thread, ${REPLY}-token replies`);
  const bin = llamaTools();
  const settings = { ...DEFAULT_SETTINGS, threads: THREADS, gpu: 'off' as const, contextSize: 2048 };
  const info: ModelInfo = { id: 'bench', path: modelPath, fileName: basename(modelPath), name: basename(modelPath), architecture: '', parameterCount: 0, quantization: '', contextLength: null, fileSize: 0, sha256: null, kind: 'chat', addedAt: 0 };

  const local = new Engine({ logger: { warn: () => {}, error: () => {} } });
  await local.load(info, settings);
  const inProcess = await replies(local, 'local');
  await local.dispose();

  const port = 18_700 + (process.pid % 200);
  const server = await startLlamaServer({ model: modelPath, port, args: ['--alias', 'bench', '--parallel', '8', '-c', String(8 * 2048), '-b', '512'] });
  try {
    const remote = new Engine({ logger: { warn: () => {}, error: () => {} } });
    await remote.useServer({ baseUrl: server.url, apiKey: '', model: 'bench' }, settings);
    const throughServer = await replies(remote, 'server');
    await remote.dispose();
    console.log(`  one user: Enclave in-process ${inProcess.toFixed(1)} tokens/s; Enclave through llama-server ${throughServer.toFixed(1)} tokens/s = ${((throughServer / inProcess) * 100).toFixed(0)}% of in-process`);

    const client = new OfficeServerClient(server.url, '');
    const aggregate: string[] = [];
    for (const users of [1, 4, 8]) {
      const started = performance.now();
      const results = await Promise.all(
        Array.from({ length: users }, (_, u) =>
          client.chatStream('bench', {
            messages: [{ role: 'user', content: `${PROMPT} (desk ${u + 1})` }],
            maxTokens: REPLY,
            temperature: 0.7,
            topP: 0.9,
            signal: new AbortController().signal,
            onText: () => {},
          }),
        ),
      );
      const tokens = results.reduce((a, r) => a + (r.completionTokens ?? r.chunks), 0);
      const rate = tokens / ((performance.now() - started) / 1000);
      aggregate.push(`${users} at once ${rate.toFixed(1)} tokens/s (${(rate / users).toFixed(1)} each)`);
    }
    console.log(`  llama-server aggregate: ${aggregate.join('; ')}`);
  } finally {
    await server.kill();
  }

  const bench = JSON.parse(execFileSync(`${bin}/llama-bench`, ['-m', modelPath, '-t', String(THREADS), '-p', '0', '-n', String(REPLY), '-r', '3', '-o', 'json'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] })) as { avg_ts: number }[];
  const ceiling = bench[0]?.avg_ts ?? NaN;
  console.log(`  llama-bench generation (the ceiling): ${ceiling.toFixed(1)} tokens/s; Enclave in-process is ${((inProcess / ceiling) * 100).toFixed(0)}% of it (prompt reading included in Enclave's figure)`);
}

if (process.argv[1] && import.meta.url.endsWith(basename(process.argv[1]))) await benchOfficeServer();
