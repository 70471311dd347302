// Desktop transport: the router over Electron IPC, events pushed to the window.
import { stat } from 'node:fs/promises';
import { isAbsolute } from 'node:path';
import { ipcMain, type BrowserWindow, type IpcMainInvokeEvent } from 'electron';
import { IPC_CALL, IPC_EVENT, IPC_GRANT_FILE } from '../contract/method-names.ts';
import type { FileGrants } from '../services/files/file-grants.ts';
import type { EventBus } from '../core/events.ts';
import type { Router } from '../core/router.ts';

export function attachElectronTransport(deps: {
  router: Router;
  events: EventBus;
  window: () => BrowserWindow | null;
  isTrustedSender: (event: IpcMainInvokeEvent) => boolean;
  files: FileGrants;
}): () => void {
  // The preload resolves a real File (picked or dropped) to its path with webUtils; the page
  // cannot reach this channel with a string of its own. Main checks it is a file, then grants it.
  ipcMain.handle(IPC_GRANT_FILE, async (event, path: unknown) => {
    if (!deps.isTrustedSender(event)) throw new Error('Files are accepted only from Enclave’s own window.');
    if (typeof path !== 'string' || !isAbsolute(path)) throw new Error('That is not a file from this computer.');
    const s = await stat(path).catch(() => null);
    if (!s?.isFile()) throw new Error('That is not a file Enclave can read.');
    return deps.files.grant(path);
  });
  ipcMain.handle(IPC_CALL, async (event, method: unknown, payload: unknown) => {
    if (!deps.isTrustedSender(event)) {
      return { ok: false, error: { code: 'ipc/unknown-method', message: 'Calls are accepted only from Enclave’s own window.' } };
    }
    return deps.router.call(method, payload);
  });
  const unsubscribe = deps.events.subscribeWindow((name, payload) => {
    const win = deps.window();
    if (win && !win.isDestroyed()) win.webContents.send(IPC_EVENT, name, payload);
  });
  return () => {
    unsubscribe();
    ipcMain.removeHandler(IPC_CALL);
    ipcMain.removeHandler(IPC_GRANT_FILE);
  };
}
