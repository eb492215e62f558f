import { ServerInterceptingCall, status, type ServerInterceptor } from '@grpc/grpc-js';

/*
 * A hook that sees every call a server answers, for metrics, without this library knowing how
 * they are kept (libs/metrics implements it with prom-client). It sees calls the gate refuses too:
 * the observer is a grpc-js server interceptor, which wraps the whole call, not the handler.
 */

/** Called exactly once when an observed call ends, with the status code it ended with. */
export type ObservedCallEnd = (code: status) => void;

export interface CallObserver {
  /**
   * A call to `method` (its full path, e.g. `/flotilla.cluster.v1.ClusterService/AddEngine`) started.
   * The returned function is called once when it ends: with the status the server sent, or
   * CANCELLED when the client (or the transport) ended it first, DEADLINE_EXCEEDED when its
   * deadline passed. Methods the server does not serve are answered UNIMPLEMENTED by grpc-js and
   * never observed, so the methods seen are the registered ones only.
   */
  start(method: string): ObservedCallEnd;
}

function deadlinePassed(deadline: Date | number): boolean {
  const at = deadline instanceof Date ? deadline.getTime() : deadline;
  return Number.isFinite(at) && at <= Date.now();
}

/** The interceptor `startServer` installs for `ServerOptions.observeCall`. */
export function observingInterceptor(observer: CallObserver): ServerInterceptor {
  return (methodDescriptor, call) => {
    const onEnd = observer.start(methodDescriptor.path);
    let ended = false;
    const end = (code: status): void => {
      if (ended) return;
      ended = true;
      onEnd(code);
    };
    return new ServerInterceptingCall(call, {
      start: (next) => next({ onCancel: () => end(deadlinePassed(call.getDeadline()) ? status.DEADLINE_EXCEEDED : status.CANCELLED) }),
      sendStatus: (sent, next) => {
        end(sent.code);
        next(sent);
      },
    });
  };
}
