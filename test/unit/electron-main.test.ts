// The Electron binary cannot be installed here, so the real electron/main.ts is loaded against a
// recording stand-in for the 'electron' module: the one edge that cannot exist on this machine.
// It checks what main.ts asks Electron to do: the window's hardening, blocked requests, denied
// permissions and navigation, the app:// protocol's CSP, and IPC from untrusted senders.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { isPlainDatabase, openDatabase } from '../../electron/services/store/db.ts';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';

type Handler = (...args: unknown[]) => unknown;

const recorded = vi.hoisted(() => {
  const state = {
    userData: '',
    windows: [] as { options: Record<string, unknown>; webContents: { send: Handler }; loadedUrl: string }[],
    appHandlers: new Map<string, Handler[]>(),
    ipcHandlers: new Map<string, Handler>(),
    protocolHandler: null as null | ((request: { url: string }) => Promise<Response>),
    privileged: [] as unknown[],
    beforeRequest: null as null | Handler,
    permissionRequest: null as null | Handler,
    permissionCheck: null as null | Handler,
    sandboxEnabled: false,
    ready: null as null | Promise<void>,
    utilityForks: [] as { modulePath: string; options: { execArgv?: string[]; serviceName?: string } }[],
    keychainWraps: 0,
    errorBoxes: [] as string[],
    /** Windows closed for good (the encryption's progress window), with the titles and progress they showed. */
    destroyed: [] as { options: Record<string, unknown>; loadedUrl: string; titles: string[]; progress: number[] }[],
  };
  return state;
});

vi.mock('electron', async () => {
  const { fork } = await import('node:child_process');
  const { EventEmitter } = await import('node:events');
  const shim = (await import('node:url')).fileURLToPath(new URL('../support/utility-shim.ts', import.meta.url));
  // A utility process stands in as a Node child given the `process.parentPort` a utility process has.
  const utilityProcess = {
    fork(modulePath: string, args: string[], options: { execArgv?: string[]; serviceName?: string }) {
      recorded.utilityForks.push({ modulePath, options });
      const child = fork(modulePath, args, { execArgv: ['--import', shim, ...(options.execArgv ?? [])], serialization: 'advanced', stdio: ['ignore', 'inherit', 'pipe', 'ipc'] });
      const utility = new EventEmitter();
      child.on('message', (m) => utility.emit('message', m));
      child.on('exit', (code) => utility.emit('exit', code ?? 1));
      return Object.assign(utility, {
        pid: child.pid,
        stderr: child.stderr,
        postMessage: (m: unknown) => child.send(m as never),
        kill: () => child.kill(),
      });
    },
  };
  let resolveReady: () => void = () => {};
  recorded.ready = new Promise<void>((r) => (resolveReady = r));
  class BrowserWindow {
    static getAllWindows = () => recorded.windows;
    webContents = { send: vi.fn(), id: 1, on: () => {} };
    loadedUrl = '';
    options: Record<string, unknown>;
    constructor(options: Record<string, unknown>) {
      this.options = options;
      recorded.windows.push(this);
    }
    titles: string[] = [];
    progress: number[] = [];
    #destroyed = false;
    once() {}
    on() {}
    show() {}
    setTitle(title: string) {
      this.titles.push(title);
    }
    setProgressBar(fraction: number) {
      this.progress.push(fraction);
    }
    destroy() {
      this.#destroyed = true;
      recorded.windows = recorded.windows.filter((w) => w !== this);
      recorded.destroyed.push({ options: this.options, loadedUrl: this.loadedUrl, titles: this.titles, progress: this.progress });
    }
    isDestroyed() {
      return this.#destroyed;
    }
    async loadURL(url: string) {
      this.loadedUrl = url;
    }
  }
  const app = {
    enableSandbox: () => (recorded.sandboxEnabled = true),
    requestSingleInstanceLock: () => true,
    setPath: (_: string, p: string) => (recorded.userData = p),
    getPath: () => recorded.userData,
    getVersion: () => '0.0.0-test',
    // As installed: a release build.
    isPackaged: true,
    quit: vi.fn(),
    on: (event: string, handler: Handler) => {
      recorded.appHandlers.set(event, [...(recorded.appHandlers.get(event) ?? []), handler]);
    },
    whenReady: () => {
      const p = Promise.resolve();
      setTimeout(resolveReady, 0);
      return p;
    },
  };
  // The system keychain: what it wraps only it can unwrap (here: a reversible stand-in, recorded).
  const safeStorage = {
    isEncryptionAvailable: () => true,
    getSelectedStorageBackend: () => 'gnome_libsecret',
    encryptString: (text: string) => {
      recorded.keychainWraps++;
      return Buffer.from(`keychain:${Buffer.from(text).toString('base64')}`);
    },
    decryptString: (data: Buffer) => Buffer.from(data.toString().replace(/^keychain:/, ''), 'base64').toString(),
  };
  return {
    app,
    BrowserWindow,
    utilityProcess,
    safeStorage,
    dialog: { showErrorBox: (title: string, message: string) => recorded.errorBoxes.push(`${title}: ${message}`) },
    ipcMain: {
      handle: (channel: string, handler: Handler) => recorded.ipcHandlers.set(channel, handler),
      removeHandler: (channel: string) => recorded.ipcHandlers.delete(channel),
    },
    protocol: {
      registerSchemesAsPrivileged: (schemes: unknown[]) => recorded.privileged.push(...schemes),
      handle: (_scheme: string, handler: (request: { url: string }) => Promise<Response>) => (recorded.protocolHandler = handler),
    },
    session: {
      defaultSession: {
        webRequest: { onBeforeRequest: (handler: Handler) => (recorded.beforeRequest = handler) },
        setPermissionRequestHandler: (handler: Handler) => (recorded.permissionRequest = handler),
        setPermissionCheckHandler: (handler: Handler) => (recorded.permissionCheck = handler),
      },
    },
  };
});

const dataDir = mkdtempSync(join(tmpdir(), 'enclave-electron-'));

beforeAll(async () => {
  // A plain library from before encryption: the desktop app encrypts it in place at start.
  openDatabase(join(dataDir, 'enclave.db')).close();
  process.argv.push(`--data-dir=${dataDir}`);
  await import('../../electron/main.ts');
  await recorded.ready;
  // The encryption's progress window comes and goes first; then the app's window.
  await vi.waitFor(() => expect(recorded.windows.map((w) => w.loadedUrl)).toEqual(['app://enclave/index.html']), { timeout: 20_000 });
});

afterAll(async () => {
  for (const quit of recorded.appHandlers.get('before-quit') ?? []) quit({ preventDefault: () => {} });
  await new Promise((r) => setTimeout(r, 200));
  rmSync(dataDir, { recursive: true, force: true });
});

describe('Electron main process', () => {
  it('opens one sandboxed, context-isolated window with no Node access, from app://', () => {
    expect(recorded.sandboxEnabled).toBe(true);
    const [win] = recorded.windows;
    expect(win.options.webPreferences).toMatchObject({
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      nodeIntegrationInWorker: false,
      webSecurity: true,
      allowRunningInsecureContent: false,
      webviewTag: false,
      devTools: false,
    });
    expect(String((win.options.webPreferences as { preload: string }).preload)).toMatch(/preload\.cjs$/);
    expect(win.loadedUrl).toBe('app://enclave/index.html');
    expect(recorded.userData).toBe(dataDir);
  });

  it('blocks every request that is not the app’s own content', () => {
    const verdict = (url: string) => {
      let result: { cancel: boolean } | undefined;
      recorded.beforeRequest!({ url }, (r: { cancel: boolean }) => (result = r));
      return result!.cancel;
    };
    expect(verdict('app://enclave/index.html')).toBe(false);
    expect(verdict('app://enclave/assets/index.js')).toBe(false);
    for (const url of ['https://example.com/', 'http://127.0.0.1:8080/', 'ws://127.0.0.1:5757/rpc', 'file:///etc/passwd', 'app://other/x', 'data:text/html,hi']) {
      expect(verdict(url), url).toBe(true);
    }
  });

  it('denies permission requests (except writing to the clipboard)', () => {
    for (const permission of ['media', 'geolocation', 'notifications', 'openExternal', 'fullscreen', 'midi']) {
      let granted: boolean | undefined;
      recorded.permissionRequest!({}, permission, (g: boolean) => (granted = g));
      expect(granted, permission).toBe(false);
      expect(recorded.permissionCheck!({}, permission)).toBe(false);
    }
    let clipboard: boolean | undefined;
    recorded.permissionRequest!({}, 'clipboard-sanitized-write', (g: boolean) => (clipboard = g));
    expect(clipboard).toBe(true);
  });

  it('denies navigation, redirects, new windows and webviews in every web contents', () => {
    const listeners = new Map<string, Handler>();
    let openHandler: Handler | null = null;
    const contents = {
      on: (event: string, handler: Handler) => listeners.set(event, handler),
      setWindowOpenHandler: (handler: Handler) => (openHandler = handler),
    };
    for (const handler of recorded.appHandlers.get('web-contents-created') ?? []) handler({}, contents);
    for (const event of ['will-navigate', 'will-redirect', 'will-attach-webview']) {
      const preventDefault = vi.fn();
      listeners.get(event)!({ preventDefault });
      expect(preventDefault, event).toHaveBeenCalled();
    }
    expect(openHandler!({ url: 'https://example.com' })).toEqual({ action: 'deny' });
  });

  it('serves the renderer over app:// with a strict CSP, and nothing outside it', async () => {
    const ok = await recorded.protocolHandler!({ url: 'app://enclave/index.html' });
    expect(ok.status).toBe(200);
    const csp = ok.headers.get('content-security-policy')!;
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain("script-src 'self'");
    expect(csp).not.toMatch(/script-src[^;]*unsafe/);
    expect(csp).toContain("connect-src 'self'");
    for (const url of ['app://enclave/../package.json', 'app://enclave/%2e%2e/%2e%2e/package.json', 'app://elsewhere/index.html']) {
      expect((await recorded.protocolHandler!({ url })).status, url).toBe(404);
    }
  });

  it('answers IPC only from its own window, validating every payload', async () => {
    const call = recorded.ipcHandlers.get('enclave:call')!;
    const win = recorded.windows[0];
    const trusted = { sender: win.webContents, senderFrame: { url: 'app://enclave/index.html' } };
    expect(await call(trusted, 'conversations.list', {})).toEqual({ ok: true, value: [] });
    expect(await call(trusted, 'conversations.create', { title: 42 })).toMatchObject({ ok: false, error: { code: 'ipc/invalid-input' } });
    const foreignFrame = { sender: win.webContents, senderFrame: { url: 'https://evil.example/' } };
    const otherContents = { sender: { send: vi.fn() }, senderFrame: { url: 'app://enclave/index.html' } };
    for (const event of [foreignFrame, otherContents]) {
      expect(await call(event, 'conversations.list', {})).toMatchObject({ ok: false });
    }
  });

  it('turns a file the preload resolved into a one-time handle, only for its own window and only for a real file', async () => {
    const grantFile = recorded.ipcHandlers.get('enclave:grant-file')!;
    const call = recorded.ipcHandlers.get('enclave:call')!;
    const win = recorded.windows[0];
    const trusted = { sender: win.webContents, senderFrame: { url: 'app://enclave/index.html' } };
    const file = fileURLToPath(import.meta.url); // a real file on this computer
    const handle = (await grantFile(trusted, file)) as string;
    expect(handle).toMatch(/^f_/);
    expect(handle).not.toContain('electron-main');
    // A File with no path on disk (made by the page) resolves to '': refused, as are relative paths and folders.
    for (const path of ['', 'relative.txt', dirname(file), 42]) await expect(grantFile(trusted, path)).rejects.toThrow();
    await expect(grantFile({ sender: win.webContents, senderFrame: { url: 'https://evil.example/' } }, file)).rejects.toThrow(/own window/);
    // The handle works once through the contract; a path never does.
    expect(await call(trusted, 'documents.import', { path: file })).toMatchObject({ ok: false, error: { code: 'ipc/invalid-input' } });
    const imported = (await call(trusted, 'documents.import', { file: handle })) as { ok: true; value: { document: { id: string } } };
    expect(imported).toMatchObject({ ok: true });
    expect(await call(trusted, 'documents.import', { file: handle })).toMatchObject({ ok: false, error: { code: 'file/not-granted' } });
    // It is read in a utility process (not a Node-mode Electron child), under the reader's heap limit.
    const documentId = imported.value.document.id;
    await expect.poll(async () => ((await call(trusted, 'documents.get', { documentId })) as { value: { status: string } }).value.status).toBe('ready');
    expect(recorded.utilityForks).toHaveLength(1);
    expect(recorded.utilityForks[0].modulePath).toMatch(/workers[/\\]parse-document\.ts$/);
    expect(recorded.utilityForks[0].options.execArgv).toEqual(['--max-old-space-size=2048']);
    const page = (await call(trusted, 'documents.page', { documentId, pageNumber: 1 })) as { value: { text: string } };
    expect(page.value.text).toContain('The Electron binary cannot be installed here');
  });

  it('encrypts the library with a key kept by the system keychain', () => {
    expect(recorded.errorBoxes).toEqual([]);
    expect(recorded.keychainWraps).toBe(1);
    expect(JSON.parse(readFileSync(join(recorded.userData, 'enclave-key.json'), 'utf8'))).toMatchObject({ kind: 'keychain', cipher: 'chacha20' });
    expect(isPlainDatabase(join(recorded.userData, 'enclave.db'))).toBe(false);
  });

  it('says what it is doing while a plain library is encrypted: a window with the progress in its title and taskbar button, closed when done', () => {
    expect(recorded.destroyed).toHaveLength(1);
    const [progress] = recorded.destroyed;
    expect(progress.options.webPreferences).toMatchObject({ contextIsolation: true, sandbox: true, nodeIntegration: false, webSecurity: true, devTools: false });
    expect((progress.options.webPreferences as { preload?: string }).preload).toBeUndefined();
    expect(progress.loadedUrl).toBe('app://enclave/encrypting.html');
    expect(progress.titles.at(-1)).toBe('Encrypting your library… 100%');
    expect(progress.progress.at(-1)).toBe(1);
    expect(progress.progress).toEqual([...progress.progress].sort((a, b) => a - b));
    // The page it shows is built with the renderer, and served from app:// like it.
    expect(readFileSync(join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'dist', 'renderer', 'encrypting.html'), 'utf8')).toContain('Encrypting your library');
  });
});

describe('the release build', () => {
  it('flips Electron’s fuses: no running as Node, no NODE_OPTIONS or --inspect, the app only from its asar, checked', async () => {
    const { createRequire } = await import('node:module');
    const config = createRequire(import.meta.url)('../../build/electron-builder.config.cjs') as { electronFuses: Record<string, boolean>; asar: boolean; files: string[] };
    expect(config.asar).toBe(true);
    expect(config.electronFuses).toEqual({
      runAsNode: false,
      enableCookieEncryption: true,
      enableNodeOptionsEnvironmentVariable: false,
      enableNodeCliInspectArguments: false,
      enableEmbeddedAsarIntegrityValidation: true,
      onlyLoadAppFromAsar: true,
      grantFileProtocolExtraPrivileges: false,
    });
    // Source maps stay out of the installed app.
    expect(config.files).toContain('!dist/**/*.map');
    // electron-builder's own schema accepts it (it refuses an unknown fuse).
    const require = createRequire(import.meta.url);
    const { validateConfiguration } = require('app-builder-lib/out/util/config/config.js') as { validateConfiguration: (c: unknown, log: unknown) => Promise<void> };
    const { DebugLogger } = require('builder-util/out/DebugLogger.js') as { DebugLogger: new (enabled: boolean) => unknown };
    await expect(validateConfiguration(config, new DebugLogger(false))).resolves.toBeUndefined();
    await expect(validateConfiguration({ ...config, electronFuses: { ...config.electronFuses, notAFuse: true } }, new DebugLogger(false))).rejects.toThrow(/Invalid configuration/);
  });
});
