// llama.cpp's llama-server, built from the source node-llama-cpp ships (build/llama-tools.sh,
// cached outside the clone by llama.cpp commit) and started on a given address with a GGUF.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { REPO_ROOT } from '../fixtures/paths.ts';

let binDir: string | null = null;

/** The folder holding llama-server and llama-bench (built on first use: minutes). */
export function llamaTools(): string {
  binDir ??= execFileSync('bash', [join(REPO_ROOT, 'build', 'llama-tools.sh')], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], timeout: 40 * 60_000 }).trim().split('\n').at(-1)!;
  return binDir;
}

export interface RunningLlamaServer {
  url: string;
  process: ChildProcess;
  output(): string;
  kill(signal?: NodeJS.Signals): Promise<void>;
}

/** Starts llama-server and waits until /health says it is ready. `command` wraps it (a network namespace). */
export async function startLlamaServer(options: { model: string; host?: string; port: number; args?: string[]; wrap?: (command: string[]) => string[]; apiKey?: string }): Promise<RunningLlamaServer> {
  const host = options.host ?? '127.0.0.1';
  const command = [join(llamaTools(), 'llama-server'), '-m', options.model, '--host', host, '--port', String(options.port), '-t', '1', '--no-webui', ...(options.apiKey ? ['--api-key', options.apiKey] : []), ...(options.args ?? [])];
  const [program, ...args] = options.wrap ? options.wrap(command) : command;
  const child = spawn(program, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  child.stdout!.on('data', (d: Buffer) => (log += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (log += d.toString()));
  const url = `http://${host}:${options.port}`;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`llama-server exited (${child.exitCode}):\n${log.slice(-2000)}`);
    const ok = await (options.wrap ? Promise.resolve(/listening on http|server is listening|all slots are idle/.test(log)) : fetch(`${url}/health`).then((r) => r.ok, () => false));
    if (ok) break;
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`llama-server did not become ready:\n${log.slice(-2000)}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  return {
    url,
    process: child,
    output: () => log,
    async kill(signal = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      await exited;
    },
  };
}
