// The desktop app's document reader: an Electron utility process (Chromium's service launcher,
// Node inside), so reading needs no Node-mode Electron binary (the RunAsNode fuse can stay off).
import { utilityProcess } from 'electron';
import { outOfMemoryIn, stderrTail, type ReaderExit, type SpawnReader } from '../services/documents/reader-process.ts';
import type { WorkerMessage } from '../services/documents/worker-protocol.ts';

export const utilityReader: SpawnReader = (modulePath, { heapMb }) => {
  const child = utilityProcess.fork(modulePath, [], {
    execArgv: [`--max-old-space-size=${heapMb}`],
    stdio: ['ignore', 'inherit', 'pipe'],
    serviceName: 'Enclave document reader',
  });
  const stderr = stderrTail(child.stderr);
  let fatal = false;
  child.on('error', () => (fatal = true));
  let running = true;
  const exited = new Promise<ReaderExit>((resolve) => {
    child.once('exit', (code) => {
      running = false;
      setImmediate(() => resolve({ outOfMemory: fatal || outOfMemoryIn(stderr()), how: `code ${code}` }));
    });
  });
  return {
    get pid() {
      return child.pid;
    },
    send(job) {
      if (running) child.postMessage(job);
    },
    onMessage(listener) {
      child.on('message', (m: unknown) => listener(m as WorkerMessage));
    },
    onExit(listener) {
      void exited.then(listener);
    },
    async kill() {
      if (running) child.kill();
      await exited;
    },
  };
};
