// Runs in the sandboxed renderer before the page. Exposes window.enclave: one named function per
// contract method, an event subscription, and a handle for a picked or dropped file (never its
// path). It never hands the page ipcRenderer itself. Bundled to one CommonJS file (sandboxed preloads cannot import).
import { contextBridge, ipcRenderer, webUtils, type IpcRendererEvent } from 'electron';
import { IPC_CALL, IPC_EVENT, IPC_GRANT_FILE, METHOD_NAMES } from './contract/method-names.ts';

const methods: Record<string, (input: unknown) => Promise<unknown>> = {};
for (const name of METHOD_NAMES) {
  methods[name] = (input: unknown) => ipcRenderer.invoke(IPC_CALL, name, input);
}

contextBridge.exposeInMainWorld('enclave', {
  methods,
  onEvent(listener: (name: string, payload: unknown) => void): () => void {
    const handler = (_event: IpcRendererEvent, name: string, payload: unknown) => listener(name, payload);
    ipcRenderer.on(IPC_EVENT, handler);
    return () => ipcRenderer.removeListener(IPC_EVENT, handler);
  },
  /**
   * A file the user picked or dropped, as main's one-time handle. The page hands over a real File;
   * its path is resolved here and goes to main only, never back to the page.
   */
  grantFile(file: File): Promise<string> {
    return ipcRenderer.invoke(IPC_GRANT_FILE, webUtils.getPathForFile(file));
  },
});
