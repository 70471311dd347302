// The air-gapped bundle's SHA256SUMS: written by `npm run bundle`, checked by the app at its first
// start from the bundle. A damaged or missing file stops the start with the files named; a bundled
// model that does not match is refused on its own, the rest of the app starts. The format is
// sha256sum's ("<hex>  <path>"), so `sha256sum -c SHA256SUMS` checks it too.
import { createHash } from 'node:crypto';
import { createReadStream, existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';

export const MANIFEST = 'SHA256SUMS';
export const MODELS_DIR = 'models';

export function sha256File(file: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const hash = createHash('sha256');
    createReadStream(file, { highWaterMark: 1 << 20 })
      .on('data', (chunk) => hash.update(chunk))
      .on('error', reject)
      .on('end', () => resolve(hash.digest('hex')));
  });
}

/** Every file under `root`, as POSIX paths relative to it, sorted. */
export async function listFiles(root: string): Promise<string[]> {
  const entries = await readdir(root, { recursive: true, withFileTypes: true });
  return entries
    .filter((e) => e.isFile())
    .map((e) => relative(root, join(e.parentPath, e.name)).split(sep).join('/'))
    .sort();
}

export function formatManifest(entries: { path: string; sha256: string }[]): string {
  return entries.map((e) => `${e.sha256}  ${e.path}\n`).join('');
}

/** The manifest's lines; a line that is not "<64 hex>  <relative path inside the bundle>" is refused. */
export function parseManifest(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const [i, line] of text.split('\n').entries()) {
    if (!line.trim()) continue;
    const m = /^([0-9a-f]{64}) [ *](.+)$/.exec(line);
    if (!m || m[2].startsWith('/') || m[2].split('/').includes('..')) throw new Error(`${MANIFEST} line ${i + 1} is not a checksum of a file inside the bundle.`);
    out.set(m[2], m[1]);
  }
  return out;
}

export interface BundleCheck {
  /** The app's files that do not match (changed) or are gone. */
  damaged: string[];
  missing: string[];
  /** Bundled models that match their checksum (absolute paths), and those refused, with why. */
  models: string[];
  refusedModels: { file: string; reason: string }[];
}

/** Checks every file of the manifest, and every file under models/ against it (`progress`: bytes done of all). */
export async function checkBundle(root: string, progress?: (done: number, total: number) => void): Promise<BundleCheck> {
  const manifest = parseManifest(readFileSync(join(root, MANIFEST), 'utf8'));
  const check: BundleCheck = { damaged: [], missing: [], models: [], refusedModels: [] };
  const app = [...manifest].filter(([path]) => !path.startsWith(`${MODELS_DIR}/`));
  const sizes = app.map(([path]) => (existsSync(join(root, path)) ? statSync(join(root, path)).size : 0));
  const total = sizes.reduce((a, b) => a + b, 0);
  let done = 0;
  // A few files at a time: reading one while hashing another.
  let next = 0;
  const worker = async () => {
    while (next < app.length) {
      const i = next++;
      const [path, sha] = app[i];
      const file = join(root, path);
      if (!existsSync(file)) check.missing.push(path);
      else if ((await sha256File(file)) !== sha) check.damaged.push(path);
      done += sizes[i];
      progress?.(done, total);
    }
  };
  await Promise.all(Array.from({ length: 4 }, worker));
  check.damaged.sort();
  check.missing.sort();
  const models = existsSync(join(root, MODELS_DIR)) ? (await listFiles(join(root, MODELS_DIR))).map((p) => `${MODELS_DIR}/${p}`) : [];
  for (const path of models) {
    const want = manifest.get(path);
    const file = join(root, path);
    if (!want) check.refusedModels.push({ file, reason: `is not listed in ${MANIFEST}, so it cannot be checked` });
    else if ((await sha256File(file)) !== want) check.refusedModels.push({ file, reason: `does not match its SHA-256 in ${MANIFEST}: it was damaged or changed after the bundle was made` });
    else check.models.push(file);
  }
  for (const path of manifest.keys()) if (path.startsWith(`${MODELS_DIR}/`) && !models.includes(path)) check.missing.push(path);
  return check;
}

/** Whether this manifest was checked already from this data folder (the check runs once per bundle). */
export function checkedBefore(root: string, stampFile: string): boolean {
  if (!existsSync(stampFile)) return false;
  try {
    const stamp = JSON.parse(readFileSync(stampFile, 'utf8')) as { manifest?: string };
    return stamp.manifest === manifestHash(root);
  } catch {
    return false;
  }
}

export function markChecked(root: string, stampFile: string): void {
  writeFileSync(stampFile, JSON.stringify({ manifest: manifestHash(root), checkedAt: new Date().toISOString() }));
}

function manifestHash(root: string): string {
  return createHash('sha256').update(readFileSync(join(root, MANIFEST))).digest('hex');
}
