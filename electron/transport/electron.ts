// Desktop transport: the router over Electron IPC, events pushed to the window.
import { ipcMain, type BrowserWindow, type IpcMainInvokeEvent } from 'electron';
import { IPC_CALL, IPC_EVENT } from '../contract/method-names.ts';
import type { EventBus } from '../core/events.ts';
import type { Router } from '../core/router.ts';

export function attachElectronTransport(deps: {
  router: Router;
  events: EventBus;
  window: () => BrowserWindow | null;
  isTrustedSender: (event: IpcMainInvokeEvent) => boolean;
}): () => void {
  ipcMain.handle(IPC_CALL, async (event, method: unknown, payload: unknown) => {
    if (!deps.isTrustedSender(event)) {
      return { ok: false, error: { code: 'ipc/unknown-method', message: 'Calls are accepted only from Enclave’s own window.' } };
    }
    return deps.router.call(method, payload);
  });
  const unsubscribe = deps.events.subscribe((name, payload) => {
    const win = deps.window();
    if (win && !win.isDestroyed()) win.webContents.send(IPC_EVENT, name, payload);
  });
  return () => {
    unsubscribe();
    ipcMain.removeHandler(IPC_CALL);
  };
}
