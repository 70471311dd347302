// Browser mode: the same services and renderer, served to a browser on 127.0.0.1.
//   node dist/electron/web.js [--port N] [--data-dir DIR] [--model FILE.gguf] [--threads N] [--context-size N]
//                             [--passphrase-file FILE] [--bundle DIR]
// --bundle (set by an air-gapped bundle's ./enclave launcher): at the first start the bundle's
// files are checked against its SHA256SUMS; a damaged bundle does not start, a bundled model that
// does not match is refused, and the models that match are added to the library.
// The library is encrypted at rest. Its key is kept in a key file outside the data folder
// (ENCLAVE_KEY_DIR, by default ~/.local/state/enclave-keys), or wrapped by a passphrase given in
// a file (--passphrase-file) or in ENCLAVE_PASSPHRASE.
import { randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream, readFileSync } from 'node:fs';
import { mkdir, rm, stat } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { homedir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { createEnclave, documentsDir, modelsDir } from './core/app.ts';
import { contentSecurityPolicy } from './core/security.ts';
import { mimeTypeOf, resolveInside } from './core/static-files.ts';
import { attachWebSocketTransport, tokenMatches } from './transport/websocket.ts';
import type { Settings } from './contract/types.ts';
import { MAX_DOCUMENT_BYTES } from './services/documents/document-library.ts';
import { safeFileName } from './services/files/file-names.ts';
import { encryptingStream, VAULT_SUFFIX } from './services/files/vault.ts';
import { encryptDatabaseWithProgress, needsEncryption } from './services/store/encrypt-store.ts';
import { keyFileWrapper, loadStoreKey, passphraseWrapper, type KeyWrapper } from './services/store/store-key.ts';
import { UserFacingError } from './contract/errors.ts';
import { checkBundle, checkedBefore, markChecked, MANIFEST, type BundleCheck } from './services/bundle/manifest.ts';
import type { Writable } from 'node:stream';

const here = dirname(fileURLToPath(import.meta.url));
const rendererDir = resolve(here, '..', 'renderer');
const packageJson = JSON.parse(readFileSync(resolve(here, '..', '..', 'package.json'), 'utf8')) as { version: string };

const { values: args } = parseArgs({
  options: {
    port: { type: 'string', default: '5757' },
    'data-dir': { type: 'string' },
    model: { type: 'string' },
    threads: { type: 'string' },
    'context-size': { type: 'string' },
    'passphrase-file': { type: 'string' },
    bundle: { type: 'string' },
  },
});

/** Same place Electron's userData would be, so both modes share a library by default. */
function defaultDataDir(): string {
  if (process.platform === 'win32') return join(process.env.APPDATA ?? homedir(), 'Enclave');
  if (process.platform === 'darwin') return join(homedir(), 'Library', 'Application Support', 'Enclave');
  return join(process.env.XDG_CONFIG_HOME ?? join(homedir(), '.config'), 'Enclave');
}

function positiveInt(name: string, raw: string | undefined): number | undefined {
  if (raw === undefined) return undefined;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0) {
    console.error(`--${name} must be a whole number, got “${raw}”.`);
    process.exit(2);
  }
  return n;
}

const dataDir = resolve(args['data-dir'] ?? defaultDataDir());
const override: Partial<Settings> = {};
const threads = positiveInt('threads', args.threads);
const contextSize = positiveInt('context-size', args['context-size']);
if (threads !== undefined) override.threads = threads;
if (contextSize !== undefined) override.contextSize = contextSize;
const port = positiveInt('port', args.port) ?? 5757;

/** The library's key: a wrong passphrase stops here, before anything is read or written. */
function storeKey(): Buffer {
  let wrapper: KeyWrapper;
  try {
    const fromFile = args['passphrase-file'] ? readFileSync(args['passphrase-file'], 'utf8').replace(/\r?\n$/, '') : undefined;
    const passphrase = fromFile ?? process.env.ENCLAVE_PASSPHRASE;
    wrapper = passphrase !== undefined ? passphraseWrapper(passphrase) : keyFileWrapper();
    return loadStoreKey(dataDir, wrapper).key;
  } catch (e) {
    console.error(e instanceof UserFacingError ? e.message : `The library's key could not be read: ${(e as Error).message}`);
    process.exit(3);
  }
}

/** The bundle's models that matched their checksums at its first start; notices for the window. */
const bundledModels: string[] = [];
const notices: string[] = [];
if (args.bundle) {
  const root = resolve(args.bundle);
  const stamp = join(dataDir, 'bundle-check.json');
  if (!checkedBefore(root, stamp)) {
    console.log(`Checking this bundle's files against ${MANIFEST} (first start)…`);
    let check: BundleCheck;
    try {
      let shown = 0;
      check = await checkBundle(root, (done, total) => {
        const percent = Math.floor((100 * done) / Math.max(1, total));
        if (percent >= shown + 25 && percent < 100) console.log(`  ${(shown = percent - (percent % 25))}%`);
      });
    } catch (e) {
      console.error(`This Enclave bundle cannot be checked: ${(e as Error).message} Copy the bundle again from its source.`);
      process.exit(5);
    }
    const bad = [...check.damaged.map((p) => `${p} (changed)`), ...check.missing.map((p) => `${p} (missing)`)];
    if (bad.length) {
      console.error(
        `This Enclave bundle is damaged, so it was not started: ${bad.length} ${bad.length === 1 ? 'file does' : 'files do'} not match ${MANIFEST}: ${bad.slice(0, 10).join(', ')}${bad.length > 10 ? ', …' : ''}. ` +
          `Copy the bundle again from its source, and check the copy with “sha256sum -c ${MANIFEST}” in its folder.`,
      );
      process.exit(5);
    }
    for (const r of check.refusedModels) {
      const message = `The bundled model ${basename(r.file)} ${r.reason}. It was not added to your models; copy it again from the bundle's source.`;
      console.error(message);
      notices.push(message);
    }
    bundledModels.push(...check.models);
    await mkdir(dataDir, { recursive: true });
    markChecked(root, stamp);
    console.log(`The app's files match ${MANIFEST}.`);
  }
}

const key = storeKey();
const databaseFile = join(dataDir, 'enclave.db');
if (needsEncryption(databaseFile)) {
  // A library from before encryption: encrypted in place, checked, then the plain file removed.
  console.log('Encrypting your library (the plain copy is removed once the encrypted one is checked)…');
  let shown = -1;
  try {
    await encryptDatabaseWithProgress(databaseFile, key, (fraction) => {
      const percent = Math.floor(fraction * 100);
      if (percent >= shown + 10 || percent === 100) {
        shown = percent;
        console.log(`  ${percent}%`);
      }
    });
  } catch (e) {
    // The plain library is replaced only once its encrypted copy is checked: nothing was lost.
    console.error(`Your library could not be encrypted (${(e as Error).message}). It is as it was; nothing was lost. Check that the disk has room for a second copy of ${databaseFile}, then start Enclave again.`);
    process.exit(4);
  }
  console.log('Your library is encrypted.');
}

const token = randomBytes(24).toString('base64url');
function openLibrary() {
  try {
    return createEnclave({ dataDir, mode: 'web', version: packageJson.version, settingsOverride: override, key, notices });
  } catch (e) {
    // A damaged database file, a key that does not open it: said plainly; nothing was changed.
    if (!(e instanceof UserFacingError)) throw e;
    console.error(e.message);
    process.exit(3);
  }
}
const enclave = openLibrary();
let origin = '';

function securityHeaders(res: ServerResponse): void {
  res.setHeader('Content-Security-Policy', contentSecurityPolicy(`ws://${new URL(origin).host}`));
  res.setHeader('X-Content-Type-Options', 'nosniff');
  res.setHeader('Referrer-Policy', 'no-referrer');
  res.setHeader('Cross-Origin-Opener-Policy', 'same-origin');
  res.setHeader('Cross-Origin-Resource-Policy', 'same-origin');
  res.setHeader('Permissions-Policy', 'camera=(), microphone=(), geolocation=(), usb=(), serial=()');
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'Content-Type': 'application/json', 'Cache-Control': 'no-store' });
  res.end(JSON.stringify(body));
}

async function serveStatic(req: IncomingMessage, res: ServerResponse): Promise<void> {
  const url = new URL(req.url ?? '/', origin);
  let file = resolveInside(rendererDir, url.pathname);
  if (!file) {
    res.writeHead(404).end();
    return;
  }
  const info = await stat(file).catch(() => null);
  if (!info || info.isDirectory()) file = join(rendererDir, 'index.html');
  res.writeHead(200, { 'Content-Type': mimeTypeOf(file), 'Cache-Control': 'no-cache' });
  createReadStream(file).on('error', () => res.end()).pipe(res);
}

/** Browser mode cannot hand main a file path, so a picked or dropped model is copied in. */
async function receiveUpload(req: IncomingMessage, res: ServerResponse): Promise<void> {
  if (!tokenMatches(token, req.headers['x-enclave-token'] as string | undefined) || req.headers.origin !== origin) {
    sendJson(res, 403, { error: { code: 'ipc/invalid-input', message: 'Not allowed.' } });
    return;
  }
  if (enclave.locked()) {
    sendJson(res, 423, { error: { code: 'app/locked', message: 'Enclave is locked. Enter the lock passphrase to go on.' } });
    req.resume();
    return;
  }
  const url = new URL(req.url ?? '/', origin);
  const purpose = url.searchParams.get('purpose') === 'document' ? 'document' : 'model';
  const name = safeFileName(url.searchParams.get('name') ?? '');
  // A folder per upload keeps the user's file name intact and never overwrites another file.
  const base = purpose === 'model' ? modelsDir(dataDir) : documentsDir(dataDir);
  const dir = join(base, `${Date.now().toString(36)}${randomBytes(3).toString('hex')}`);
  await mkdir(dir, { recursive: true });
  // A document is written encrypted as it arrives: its text never reaches the disk in the clear.
  const target = join(dir, purpose === 'document' ? name + VAULT_SUFFIX : name);
  const out = createWriteStream(target, { flags: 'wx' });
  const sink: Writable = purpose === 'document' ? encryptingStream(key) : out;
  if (sink !== out) sink.pipe(out);
  // Models must be GGUF; documents are checked by the document library once they are in.
  let checked = purpose === 'document';
  let head = Buffer.alloc(0);
  let failed = false;
  let received = 0;
  const fail = async (status: number, code: string, message: string) => {
    if (failed) return;
    failed = true;
    req.unpipe(sink);
    sink.destroy();
    out.destroy();
    await rm(dir, { recursive: true, force: true });
    sendJson(res, status, { error: { code, message } });
    req.resume();
  };
  req.on('data', (chunk: Buffer) => {
    if (purpose === 'document') {
      received += chunk.length;
      if (received > MAX_DOCUMENT_BYTES && !failed) {
        void fail(413, 'document/too-large', `“${name}” is larger than ${MAX_DOCUMENT_BYTES / 1024 / 1024} MB, the most Enclave reads.`);
      }
      return;
    }
    if (checked || failed) return;
    head = Buffer.concat([head, chunk]);
    if (head.length >= 4) {
      checked = true;
      if (head.subarray(0, 4).toString('latin1') !== 'GGUF') {
        void fail(400, 'model/not-gguf', `“${name}” is not a GGUF model. Enclave runs models in the GGUF format (files ending in .gguf).`);
      }
    }
  });
  req.pipe(sink);
  out.on('error', (e) => void fail(500, 'model/unreadable', `The model could not be saved: ${e.message}`));
  out.on('finish', () => {
    if (failed) return;
    if (purpose === 'document' && received === 0) {
      void fail(400, 'document/empty', `“${name}” is empty.`);
      return;
    }
    if (!checked) {
      void fail(400, 'model/not-gguf', `“${name}” is not a GGUF model: the file is empty or too short.`);
      return;
    }
    sendJson(res, 200, { file: enclave.files.grant(target) });
  });
}

const server = createServer((req, res) => {
  securityHeaders(res);
  const path = new URL(req.url ?? '/', 'http://127.0.0.1').pathname;
  if (req.method === 'POST' && path === '/api/upload') {
    receiveUpload(req, res).catch((e) => sendJson(res, 500, { error: { code: 'internal', message: String(e) } }));
    return;
  }
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.writeHead(405).end();
    return;
  }
  // Whether a tab's token is this launch's: after a restart it is not, and the tab says so.
  if (path === '/api/session') {
    res.writeHead(tokenMatches(token, req.headers['x-enclave-token'] as string | undefined) ? 204 : 401, { 'Cache-Control': 'no-store' }).end();
    return;
  }
  serveStatic(req, res).catch(() => res.writeHead(500).end());
});

attachWebSocketTransport(server, { router: enclave.router, events: enclave.events, token, allowedOrigin: () => origin });

server.listen(port, '127.0.0.1', async () => {
  const address = server.address();
  const boundPort = typeof address === 'object' && address ? address.port : port;
  origin = `http://127.0.0.1:${boundPort}`;
  console.log(`Enclave is running at ${origin}/?token=${token}`);
  console.log(`Data folder: ${dataDir}`);
  for (const file of bundledModels) {
    try {
      const model = await enclave.models.add(file);
      console.log(`Bundled model added: ${model.name}`);
    } catch (e) {
      console.error(`The bundled model ${basename(file)} could not be added: ${(e as Error).message}`);
    }
  }
  if (bundledModels.length && !args.model) {
    // The first bundled model is the one used, unless a model was already chosen before.
    await enclave.models.settled;
    const library = enclave.models.list();
    if (!library.activeModelId) {
      const first = library.models.find((m) => m.path === bundledModels[0]);
      if (first) await enclave.models.activate(first.id).catch((e) => console.error(`The model ${first.name} could not be loaded: ${(e as Error).message}`));
    } else void enclave.restoreActiveModel();
  } else if (args.model) {
    try {
      const model = await enclave.models.add(args.model);
      await enclave.models.settled;
      if (enclave.engine.loadedModelId !== model.id) await enclave.models.activate(model.id);
      console.log(`Model loaded: ${model.name}`);
    } catch (e) {
      console.error(`The model ${args.model} could not be loaded: ${(e as Error).message}`);
    }
  } else {
    void enclave.restoreActiveModel();
  }
});

server.on('error', (e) => {
  console.error(`Enclave could not start its local server: ${e.message}`);
  process.exit(1);
});

let stopping = false;
async function stop(): Promise<void> {
  if (stopping) return;
  stopping = true;
  server.close();
  await enclave.shutdown();
  process.exit(0);
}
process.on('SIGINT', () => void stop());
process.on('SIGTERM', () => void stop());
