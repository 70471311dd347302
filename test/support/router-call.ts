// Calls the router as a transport does, and unwraps the result: a typed helper for tests.
import { resolve } from 'node:path';
import type { MethodInput, MethodName, MethodOutput } from '../../electron/contract/methods.ts';
import type { EventMap, Message, TaskRun } from '../../electron/contract/types.ts';
import type { Enclave } from '../../electron/core/app.ts';

export function routerCaller(enclave: () => Enclave) {
  return async function call<M extends MethodName>(method: M, input: MethodInput<M>): Promise<MethodOutput<M>> {
    const result = await enclave().router.call(method, input);
    if (!result.ok) throw Object.assign(new Error(result.error.message), { code: result.error.code });
    return result.value as MethodOutput<M>;
  };
}

/**
 * A file given to Enclave as the transports give it: main's one-time handle (what a picked or
 * dropped file becomes), never a path in the call.
 */
export function granter(enclave: () => Enclave) {
  return (path: string): string => enclave().files.grant(resolve(path));
}

/** Resolves with a conversation's next finished reply (its chat.done). */
export function replyDone(enclave: Enclave, conversationId: string): Promise<Message> {
  return new Promise<Message>((resolve) => {
    const off = enclave.events.subscribe((name, payload) => {
      const e = payload as EventMap['chat.done'];
      if (name === 'chat.done' && e.conversationId === conversationId) {
        off();
        resolve(e.message);
      }
    });
  });
}

/** Resolves when a conversation's reply streams its first words (its first chat.delta). */
export function firstWords(enclave: Enclave, conversationId: string): Promise<void> {
  return new Promise((resolve) => {
    const off = enclave.events.subscribe((name, payload) => {
      if (name === 'chat.delta' && (payload as EventMap['chat.delta']).conversationId === conversationId) {
        off();
        resolve();
      }
    });
  });
}

/** Sends a message through the router and resolves with the finished reply (its chat.done). */
export async function ask(enclave: Enclave, conversationId: string, text: string): Promise<Message> {
  const done = replyDone(enclave, conversationId);
  const sent = await enclave.router.call('chat.send', { conversationId, text });
  if (!sent.ok) throw Object.assign(new Error(sent.error.message), { code: sent.error.code });
  return done;
}

/** Resolves when a task run has stopped (at once if it already has: a run with nothing to generate ends quickly). */
export function taskFinished(enclave: Enclave, runId: string): Promise<TaskRun> {
  return new Promise((resolve) => {
    const off = enclave.events.subscribe((name, payload) => {
      const run = payload as TaskRun;
      if (name === 'tasks.changed' && run.id === runId && run.status !== 'running') {
        off();
        resolve(run);
      }
    });
    const now = enclave.tasks.get(runId).run;
    if (now.status !== 'running') {
      off();
      resolve(now);
    }
  });
}
