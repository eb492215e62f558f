import { toServiceError } from '@flotilla/grpc';
import type { sendUnaryData, ServiceDefinition, UntypedServiceImplementation } from '@grpc/grpc-js';

type Handler = (call: NodeJS.EventEmitter & { request: unknown }, callback?: sendUnaryData<unknown>) => void;

/**
 * Puts every method of a service behind its request check, run before the handler does any
 * work: a request over a limit is answered INVALID_ARGUMENT naming the field. (Bytes that are no
 * message at all never get here: libs/grpc's gate answers them.)
 */
export function checkedService<D extends ServiceDefinition>(
  definition: D,
  implementation: UntypedServiceImplementation,
  checks: { readonly [K in keyof D]: (request: never) => void },
): UntypedServiceImplementation {
  const guarded: UntypedServiceImplementation = {};
  for (const method of Object.keys(definition) as Array<keyof D & string>) {
    const handler = implementation[method] as unknown as Handler | undefined;
    if (!handler) continue;
    const check = checks[method] as (request: unknown) => void;
    const wrapped: Handler = (call, callback) => {
      try {
        check(call.request);
      } catch (err) {
        if (callback) callback(toServiceError(err));
        else call.emit('error', toServiceError(err));
        return;
      }
      handler(call, callback);
    };
    guarded[method] = wrapped as unknown as UntypedServiceImplementation[string];
  }
  return guarded;
}
