// The key that encrypts the library at rest. A random 256-bit key is made once per library; what
// is kept in the data folder (enclave-key.json) is only that key *wrapped*, so the folder alone
// (a copied backup, a stolen disk) opens nothing:
//  - keychain: wrapped by the operating system's keychain (Electron safeStorage, desktop app);
//  - passphrase: wrapped with AES-256-GCM under a key derived from the passphrase (scrypt);
//  - keyfile: kept in a file outside the data folder, readable by this account only (browser
//    mode on a machine without a keychain).
import { createCipheriv, createDecipheriv, randomBytes, scryptSync } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { UserFacingError } from '../../contract/errors.ts';
import { CIPHER } from './db.ts';

export const KEY_FILE = 'enclave-key.json';
const KEY_BYTES = 32;
/** scrypt's cost: about 0.1 s and 64 MB here, every start and unlock. */
const SCRYPT = { N: 1 << 16, r: 8, p: 1, maxmem: 256 * 1024 * 1024 };

/** How the library's key is kept; each can wrap a new key and unwrap a kept one. */
export interface KeyWrapper {
  readonly kind: 'keychain' | 'passphrase' | 'keyfile';
  wrap(key: Buffer): Record<string, unknown>;
  unwrap(record: Record<string, unknown>): Buffer;
}

const b64 = (b: Buffer) => b.toString('base64');
const unb64 = (v: unknown) => Buffer.from(String(v ?? ''), 'base64');

function aesWrap(kek: Buffer, key: Buffer): { iv: string; tag: string; wrapped: string } {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', kek, iv);
  const wrapped = Buffer.concat([cipher.update(key), cipher.final()]);
  return { iv: b64(iv), tag: b64(cipher.getAuthTag()), wrapped: b64(wrapped) };
}

function aesUnwrap(kek: Buffer, record: Record<string, unknown>): Buffer | null {
  try {
    const decipher = createDecipheriv('aes-256-gcm', kek, unb64(record.iv));
    decipher.setAuthTag(unb64(record.tag));
    return Buffer.concat([decipher.update(unb64(record.wrapped)), decipher.final()]);
  } catch {
    return null; // the authentication tag does not match: a wrong passphrase
  }
}

/** A passphrase the person chose; the wrong one opens nothing and changes nothing. */
export function passphraseWrapper(passphrase: string): KeyWrapper {
  if (passphrase.length < 8) throw new UserFacingError('store/weak-passphrase', 'Choose a passphrase of at least 8 characters.');
  const derive = (salt: Buffer) => scryptSync(passphrase.normalize('NFC'), salt, KEY_BYTES, SCRYPT);
  return {
    kind: 'passphrase',
    wrap(key) {
      const salt = randomBytes(16);
      return { kdf: 'scrypt', N: SCRYPT.N, r: SCRYPT.r, p: SCRYPT.p, salt: b64(salt), ...aesWrap(derive(salt), key) };
    },
    unwrap(record) {
      const key = aesUnwrap(derive(unb64(record.salt)), record);
      if (!key) throw new UserFacingError('store/wrong-passphrase', 'That passphrase does not open this library. Nothing was changed; try again.');
      return key;
    },
  };
}

/** Where key files are kept: outside any data folder, for this account only. */
export function defaultKeyDir(): string {
  return process.env.ENCLAVE_KEY_DIR ?? join(process.env.XDG_STATE_HOME ?? join(homedir(), '.local', 'state'), 'enclave-keys');
}

/** The key in a file of its own outside the data folder (mode 0600). */
export function keyFileWrapper(keyDir = defaultKeyDir()): KeyWrapper {
  return {
    kind: 'keyfile',
    wrap(key) {
      const keyId = randomBytes(12).toString('hex');
      mkdirSync(keyDir, { recursive: true, mode: 0o700 });
      const file = join(keyDir, `${keyId}.key`);
      writeFileSync(file, key.toString('hex'), { mode: 0o600, flag: 'wx' });
      chmodSync(file, 0o600);
      return { keyId, keyDir };
    },
    unwrap(record) {
      // This machine's key folder first (a restored or moved library), then the one it was made in.
      const name = `${String(record.keyId).replace(/[^0-9a-f]/g, '')}.key`;
      const dirs = [keyDir, ...(typeof record.keyDir === 'string' && record.keyDir !== keyDir ? [record.keyDir] : [])];
      const file = dirs.map((d) => join(d, name)).find((f) => existsSync(f)) ?? join(keyDir, name);
      let hex: string;
      try {
        hex = readFileSync(file, 'utf8').trim();
      } catch {
        throw new UserFacingError('store/key-missing', `The key that opens this library (${file}) is missing. Restore it from your backup; without it the library cannot be read.`);
      }
      if (!/^[0-9a-f]{64}$/.test(hex)) throw new UserFacingError('store/key-missing', `The key file ${file} is damaged. Restore it from your backup.`);
      return Buffer.from(hex, 'hex');
    },
  };
}

/** The operating system's keychain, through Electron's safeStorage (given by main.ts). */
export function keychainWrapper(safe: { encryptString(text: string): Buffer; decryptString(data: Buffer): string }): KeyWrapper {
  return {
    kind: 'keychain',
    wrap(key) {
      return { wrapped: b64(safe.encryptString(key.toString('hex'))) };
    },
    unwrap(record) {
      let hex: string;
      try {
        hex = safe.decryptString(unb64(record.wrapped));
      } catch {
        throw new UserFacingError('store/key-missing', "The system keychain could not open this library's key (it may belong to another user account or computer).");
      }
      return Buffer.from(hex, 'hex');
    },
  };
}

export interface StoreKey {
  key: Buffer;
  kind: KeyWrapper['kind'];
  /** The key was made now (a new library, or one about to be encrypted). */
  created: boolean;
}

/**
 * The library's key: unwrapped from enclave-key.json by whichever of `wrappers` kept it, or made
 * and wrapped by the first when there is none yet. A library whose key was kept another way says
 * how to open it.
 */
export function loadStoreKey(dataDir: string, wrappers: KeyWrapper | KeyWrapper[]): StoreKey {
  const available = Array.isArray(wrappers) ? wrappers : [wrappers];
  const file = join(dataDir, KEY_FILE);
  if (existsSync(file)) {
    let record: Record<string, unknown>;
    try {
      record = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
    } catch {
      throw new UserFacingError('store/key-missing', `${file} is damaged: the library's key cannot be read. Restore it from your backup.`);
    }
    if (record.cipher !== CIPHER) {
      throw new UserFacingError('store/key-missing', `This library is encrypted with “${String(record.cipher)}”, which this version of Enclave does not open.`);
    }
    const wrapper = available.find((w) => w.kind === record.kind);
    if (!wrapper) {
      const how = record.kind === 'passphrase' ? 'its passphrase (start Enclave with --passphrase-file)' : record.kind === 'keychain' ? 'the desktop app (its key is in the system keychain)' : 'its key file';
      throw new UserFacingError('store/key-missing', `This library is locked with ${how}.`);
    }
    const key = wrapper.unwrap(record);
    if (key.length !== KEY_BYTES) throw new UserFacingError('store/key-missing', "The library's key is damaged. Restore enclave-key.json from your backup.");
    return { key, kind: wrapper.kind, created: false };
  }
  const wrapper = available[0];
  const key = randomBytes(KEY_BYTES);
  mkdirSync(dataDir, { recursive: true });
  const tmp = `${file}.tmp`;
  writeFileSync(tmp, JSON.stringify({ version: 1, kind: wrapper.kind, cipher: CIPHER, ...wrapper.wrap(key) }, null, 2), { mode: 0o600 });
  renameSync(tmp, file);
  return { key, kind: wrapper.kind, created: true };
}
