// The app lock on a real library: while locked, main answers nothing but the lock's own methods
// and sends the window no event; the wrong passphrase is refused (and recorded), five in a row
// pause the tries; the right one opens it; a library with a lock starts locked.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEnclave, type Enclave } from '../../electron/core/app.ts';
import { AppLock } from '../../electron/services/lock/app-lock.ts';
import { LockStore } from '../../electron/services/store/lock-store.ts';
import { AuditLog } from '../../electron/services/store/audit-log.ts';
import { openDatabase } from '../../electron/services/store/db.ts';
import type { EventName, LockStatus } from '../../electron/contract/types.ts';
import { routerCaller } from '../support/router-call.ts';

const dir = mkdtempSync(join(tmpdir(), 'enclave-lock-'));
const dataDir = join(dir, 'data');
let enclave: Enclave;
const call = routerCaller(() => enclave);
const PASS = 'orange lantern 42';

beforeAll(() => {
  enclave = createEnclave({ dataDir, mode: 'web', version: 'test' });
});

afterAll(async () => {
  await enclave.shutdown();
  rmSync(dir, { recursive: true, force: true });
});

const refusal = async (method: Parameters<typeof enclave.router.call>[0], input: unknown) => {
  const result = await enclave.router.call(method, input);
  return result.ok ? null : result.error;
};

describe('the app lock', () => {
  it('is off until a lock passphrase is set; a short one is refused', async () => {
    expect(await call('lock.status', {})).toEqual({ enabled: false, locked: false, idleMinutes: 0, retryAt: null });
    expect(await refusal('lock.lock', { reason: 'asked' })).toMatchObject({ code: 'lock/not-enabled' });
    expect(await refusal('lock.configure', { passphrase: 'short', idleMinutes: 5 })).toMatchObject({ code: 'store/weak-passphrase' });
    expect(await call('lock.configure', { passphrase: PASS, idleMinutes: 5 })).toEqual({ enabled: true, locked: false, idleMinutes: 5, retryAt: null });
    // Changing it needs the current passphrase.
    expect(await refusal('lock.configure', { passphrase: PASS, idleMinutes: 1, current: 'not it at all' })).toMatchObject({ code: 'lock/wrong-passphrase' });
    expect((await call('lock.status', {})).idleMinutes).toBe(5);
  });

  it('locked: every other method is refused and the window hears no event but the lock’s', async () => {
    const conversation = await call('conversations.create', { title: 'Before the lock' });
    const heard: EventName[] = [];
    const internal: EventName[] = [];
    const offWindow = enclave.events.subscribeWindow((name) => heard.push(name));
    const offMain = enclave.events.subscribe((name) => internal.push(name));
    expect(await call('lock.lock', { reason: 'idle' })).toMatchObject({ enabled: true, locked: true });
    for (const [method, input] of [
      ['conversations.list', {}],
      ['conversations.get', { conversationId: conversation.id }],
      ['documents.list', {}],
      ['audit.list', {}],
      ['lock.configure', { passphrase: 'another passphrase', idleMinutes: 0 }],
      ['no.such.method', {}],
    ] as const) {
      expect(await refusal(method as never, input), method).toMatchObject({ code: method === 'no.such.method' ? 'ipc/unknown-method' : 'app/locked' });
    }
    enclave.events.emit('conversations.changed', { conversationId: conversation.id });
    expect(heard).toEqual(['lock.changed']);
    expect(internal).toEqual(['lock.changed', 'conversations.changed']);
    offWindow();
    offMain();
    expect(await call('lock.status', {})).toMatchObject({ locked: true });
  });

  it('the wrong passphrase is refused; the right one opens it; each is in the audit trail', async () => {
    expect(await refusal('lock.unlock', { passphrase: 'orange lantern 43' })).toMatchObject({ code: 'lock/wrong-passphrase', message: 'That passphrase is not right.' });
    expect((await call('lock.status', {})).locked).toBe(true);
    expect(await call('lock.unlock', { passphrase: PASS })).toMatchObject({ locked: false });
    expect((await call('conversations.list', {})).map((c) => c.title)).toEqual(['Before the lock']);
    const actions = (await call('audit.list', { action: 'app' })).entries.map((e) => e.action);
    expect(actions).toEqual(['app.unlocked', 'app.unlock-failed', 'app.locked', 'app.lock-changed']);
  });

  it('a library with a lock starts locked', async () => {
    await enclave.shutdown();
    enclave = createEnclave({ dataDir, mode: 'web', version: 'test' });
    expect(await call('lock.status', {})).toMatchObject({ enabled: true, locked: true });
    expect(await refusal('conversations.list', {})).toMatchObject({ code: 'app/locked' });
    await call('lock.unlock', { passphrase: PASS });
    // Turning it off needs the passphrase too.
    expect(await refusal('lock.disable', { current: 'wrong' })).toMatchObject({ code: 'lock/wrong-passphrase' });
    expect(await call('lock.disable', { current: PASS })).toMatchObject({ enabled: false, locked: false });
  });

  it('after five wrong passphrases in a row the next try waits 30 s, even the right one', async () => {
    let now = 1_000_000;
    const db = openDatabase(join(dir, 'pause.db'));
    const statuses: LockStatus[] = [];
    const lock = new AppLock({ store: new LockStore(db), audit: new AuditLog(db, { sealFile: join(dir, 'pause-seal.json'), actor: 'test' }), onChange: (s) => statuses.push(s), now: () => now });
    await lock.configure({ passphrase: PASS, idleMinutes: 0 });
    lock.lock('asked');
    for (let i = 0; i < 4; i++) await expect(lock.unlock('nope nope nope')).rejects.toThrow('That passphrase is not right.');
    await expect(lock.unlock('nope nope nope')).rejects.toThrow('Too many wrong tries: wait 30 s');
    expect(lock.status().retryAt).toBe(now + 30_000);
    now += 10_000;
    await expect(lock.unlock(PASS)).rejects.toThrow('Too many wrong passphrases. Try again in 20 s.');
    now += 20_001;
    expect(await lock.unlock(PASS)).toMatchObject({ locked: false, retryAt: null });
    db.close();
  });
});
