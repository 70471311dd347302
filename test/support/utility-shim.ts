// Loaded (--import) into a Node child that stands in for an Electron utility process in the
// Electron main test: it gives the child the `process.parentPort` a utility process has, over
// Node's own channel, so the reader's utility-process path is the one that runs.
type Listener = (e: { data: unknown }) => void;
(process as unknown as { parentPort: unknown }).parentPort = {
  postMessage: (message: unknown) => process.send!(message),
  on: (_event: 'message', listener: Listener) => process.on('message', (data) => listener({ data })),
};
process.on('disconnect', () => process.exit(0));
