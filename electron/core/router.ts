// One router for every transport: looks up the method, validates the raw payload against the
// contract's schema, calls the service, and answers with a Result value, never a throw.
import { z } from 'zod';
import { UserFacingError, type AppError, type Result } from '../contract/errors.ts';
import { methods, type MethodName, type MethodOutput, type ParsedInput } from '../contract/methods.ts';

export type Handlers = {
  [M in MethodName]: (input: ParsedInput<M>) => MethodOutput<M> | Promise<MethodOutput<M>>;
};

export interface Router {
  call(method: unknown, payload: unknown): Promise<Result<unknown>>;
}

function describeIssues(error: z.ZodError): string {
  return error.issues
    .slice(0, 3)
    .map((i) => (i.path.length ? `${i.path.join('.')}: ${i.message}` : i.message))
    .join('; ');
}

/**
 * Sees each valid call before it runs (to note what it is about) and may return what to do once it
 * has succeeded (the audit trail records what was done, never what was only tried).
 */
export type CallObserver = (method: MethodName, input: unknown) => ((output: unknown) => void) | null;

/** Refuses a call before it runs (the app is locked), with the error to answer. */
export type CallGate = (method: MethodName) => AppError | null;

export function createRouter(handlers: Handlers, log: (message: string, error: unknown) => void = console.error, observe?: CallObserver, gate?: CallGate): Router {
  return {
    async call(method, payload) {
      if (typeof method !== 'string' || !Object.hasOwn(methods, method)) {
        return { ok: false, error: { code: 'ipc/unknown-method', message: `Unknown method: ${String(method).slice(0, 80)}` } };
      }
      const name = method as MethodName;
      const refused = gate?.(name);
      if (refused) return { ok: false, error: refused };
      const parsed = methods[name].input.safeParse(payload ?? {});
      if (!parsed.success) {
        return { ok: false, error: { code: 'ipc/invalid-input', message: `Invalid input for ${name}: ${describeIssues(parsed.error)}` } };
      }
      try {
        const handler = handlers[name] as (input: unknown) => unknown;
        const succeeded = observe?.(name, parsed.data) ?? null;
        const value = await handler(parsed.data);
        try {
          succeeded?.(value);
        } catch (e) {
          log(`[router] recording ${name} failed`, e);
        }
        return { ok: true, value };
      } catch (e) {
        if (e instanceof UserFacingError) return { ok: false, error: e.toValue() };
        log(`[router] ${name} failed`, e);
        const error: AppError = { code: 'internal', message: `Something went wrong in Enclave (${(e as Error)?.message ?? 'unknown error'}).` };
        return { ok: false, error };
      }
    },
  };
}
