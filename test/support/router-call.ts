// Calls the router as a transport does, and unwraps the result: a typed helper for tests.
import type { MethodInput, MethodName, MethodOutput } from '../../electron/contract/methods.ts';
import type { Enclave } from '../../electron/core/app.ts';

export function routerCaller(enclave: () => Enclave) {
  return async function call<M extends MethodName>(method: M, input: MethodInput<M>): Promise<MethodOutput<M>> {
    const result = await enclave().router.call(method, input);
    if (!result.ok) throw Object.assign(new Error(result.error.message), { code: result.error.code });
    return result.value as MethodOutput<M>;
  };
}
