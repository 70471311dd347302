// The Electron entry: one instance, one hardened window, the services behind the IPC transport.
// Enclave makes no outbound connection: every request that is not the app's own content is blocked.
import { app, BrowserWindow, dialog, protocol, safeStorage, session, type IpcMainInvokeEvent } from 'electron';
import { readFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createEnclave, type Enclave } from './core/app.ts';
import { utilityReader } from './transport/utility-reader.ts';
import { UserFacingError } from './contract/errors.ts';
import { encryptDatabaseWithProgress, needsEncryption } from './services/store/encrypt-store.ts';
import { keychainWrapper, keyFileWrapper, loadStoreKey } from './services/store/store-key.ts';
import { contentSecurityPolicy } from './core/security.ts';
import { mimeTypeOf, resolveInside } from './core/static-files.ts';
import { attachElectronTransport } from './transport/electron.ts';

const here = dirname(fileURLToPath(import.meta.url));
const rendererDir = resolve(here, '..', 'renderer');
const APP_ORIGIN = 'app://enclave';
/** Every window of Enclave: isolated, sandboxed, no Node, no webviews, nothing insecure. */
const HARDENED = {
  contextIsolation: true,
  sandbox: true,
  nodeIntegration: false,
  nodeIntegrationInWorker: false,
  webSecurity: true,
  allowRunningInsecureContent: false,
  webviewTag: false,
  navigateOnDragDrop: false,
} as const;

protocol.registerSchemesAsPrivileged([{ scheme: 'app', privileges: { standard: true, secure: true, supportFetchAPI: true } }]);
app.enableSandbox();

if (!app.requestSingleInstanceLock()) {
  app.quit();
} else {
  let win: BrowserWindow | null = null;
  let enclave: Enclave | null = null;

  const dataDirFlag = process.argv.find((a) => a.startsWith('--data-dir='));
  if (dataDirFlag) app.setPath('userData', resolve(dataDirFlag.slice('--data-dir='.length)));

  app.on('second-instance', () => {
    if (!win) return;
    if (win.isMinimized()) win.restore();
    win.focus();
  });

  // Every window and frame: no navigation, no new windows, no webviews.
  app.on('web-contents-created', (_event, contents) => {
    contents.on('will-navigate', (e) => e.preventDefault());
    contents.on('will-redirect', (e) => e.preventDefault());
    contents.on('will-attach-webview', (e) => e.preventDefault());
    contents.setWindowOpenHandler(() => ({ action: 'deny' }));
  });

  const isTrustedSender = (event: IpcMainInvokeEvent): boolean => {
    const url = event.senderFrame?.url ?? '';
    return event.sender === win?.webContents && url.startsWith(`${APP_ORIGIN}/`);
  };

  async function createWindow(): Promise<void> {
    win = new BrowserWindow({
      width: 1200,
      height: 820,
      minWidth: 720,
      minHeight: 480,
      title: 'Enclave',
      show: false,
      webPreferences: {
        ...HARDENED,
        preload: join(here, 'preload.cjs'),
        spellcheck: false,
        // No DevTools in the installed app: nothing can inspect or script the window from inside.
        devTools: !app.isPackaged,
      },
    });
    win.once('ready-to-show', () => win?.show());
    win.on('closed', () => (win = null));
    await win.loadURL(`${APP_ORIGIN}/index.html`);
  }

  app.whenReady().then(async () => {
    const ses = session.defaultSession;
    // Only the app's own content loads; nothing reaches the network.
    ses.webRequest.onBeforeRequest((details, callback) => {
      const allowed = details.url.startsWith(`${APP_ORIGIN}/`) || details.url.startsWith('devtools://');
      callback({ cancel: !allowed });
    });
    ses.setPermissionRequestHandler((_wc, permission, callback) => callback(permission === 'clipboard-sanitized-write'));
    ses.setPermissionCheckHandler((_wc, permission) => permission === 'clipboard-sanitized-write');

    protocol.handle('app', async (request) => {
      const url = new URL(request.url);
      const file = resolveInside(rendererDir, url.pathname);
      if (url.host !== 'enclave' || !file) return new Response('Not found', { status: 404 });
      const body = await readFile(file).catch(() => null);
      if (!body) return new Response('Not found', { status: 404 });
      return new Response(new Uint8Array(body), {
        headers: {
          'Content-Type': mimeTypeOf(file),
          'Content-Security-Policy': contentSecurityPolicy(),
          'X-Content-Type-Options': 'nosniff',
        },
      });
    });

    // The library is encrypted at rest; its key is kept by the system keychain where there is one.
    const dataDir = app.getPath('userData');
    let key: Buffer;
    try {
      const keychain = safeStorage.isEncryptionAvailable() && (process.platform !== 'linux' || safeStorage.getSelectedStorageBackend() !== 'basic_text');
      key = loadStoreKey(dataDir, keychain ? [keychainWrapper(safeStorage), keyFileWrapper()] : [keyFileWrapper()]).key;
      const databaseFile = join(dataDir, 'enclave.db');
      if (needsEncryption(databaseFile)) {
        console.log('[main] encrypting the library…');
        // A small window says what is happening, with the progress in its title and taskbar button.
        const progress = new BrowserWindow({
          width: 520,
          height: 240,
          resizable: false,
          minimizable: false,
          title: 'Encrypting your library…',
          // No preload: the page only says what is happening. The rest as hardened as the main window.
          webPreferences: { ...HARDENED, devTools: false },
        });
        progress.webContents.on('will-navigate', (event) => event.preventDefault());
        void progress.loadURL(`${APP_ORIGIN}/encrypting.html`);
        let shown = -1;
        try {
          await encryptDatabaseWithProgress(databaseFile, key, (fraction) => {
            const percent = Math.floor(fraction * 100);
            if (!progress.isDestroyed()) {
              progress.setProgressBar(fraction);
              progress.setTitle(`Encrypting your library… ${percent}%`);
            }
            if (percent < shown + 10 && percent < 100) return;
            shown = percent;
            console.log(`[main] encrypting the library: ${percent}%`);
          });
        } finally {
          if (!progress.isDestroyed()) progress.destroy();
        }
      }
    } catch (e) {
      dialog.showErrorBox(
        'Enclave cannot open its library',
        e instanceof UserFacingError
          ? e.message
          : `Your library could not be encrypted (${(e as Error).message}). It is as it was; nothing was lost. Check that the disk has room for a second copy of it, then start Enclave again.`,
      );
      app.quit();
      return;
    }
    try {
      enclave = createEnclave({ dataDir, mode: 'electron', version: app.getVersion(), spawnReader: utilityReader, key });
    } catch (e) {
      dialog.showErrorBox('Enclave cannot open its library', e instanceof UserFacingError ? e.message : `Your library could not be opened: ${(e as Error).message}`);
      app.quit();
      return;
    }
    attachElectronTransport({ router: enclave.router, events: enclave.events, window: () => win, isTrustedSender, files: enclave.files });
    await createWindow();
    void enclave.restoreActiveModel();

    app.on('activate', () => {
      if (BrowserWindow.getAllWindows().length === 0) void createWindow();
    });
  });

  app.on('window-all-closed', () => {
    if (process.platform !== 'darwin') app.quit();
  });

  // Save what is streaming and release the model in order before the process ends.
  let shuttingDown = false;
  app.on('before-quit', (event) => {
    if (!enclave || shuttingDown) return;
    event.preventDefault();
    shuttingDown = true;
    enclave
      .shutdown()
      .catch((e) => console.error('[main] shutdown failed', e))
      .finally(() => {
        enclave = null;
        app.quit();
      });
  });
}
