import type { ServerUnaryCall } from '@grpc/grpc-js';
import { isRole, type Role } from '@flotilla/pki';

/**
 * Who is calling, from the client certificate the TLS handshake verified: its CN names the caller
 * and its OU is its role. In insecure mode there is no certificate: the caller holds every role.
 */
export interface Caller {
  /** The certificate's CN, or the peer's address in insecure mode. */
  name: string;
  /** Undefined when the certificate names no (or no single) known role. */
  role: Role | undefined;
  insecure: boolean;
  /** host:port of the connection. */
  peer: string;
}

/** Per method (the implementation's key, e.g. `createContainer`): the roles allowed to call it. */
export type MethodAccess = Record<string, readonly Role[]>;

/** The parts of any server call that tell who is calling. */
export type SurfaceCall = Pick<ServerUnaryCall<unknown, unknown>, 'getPeer' | 'getAuthContext'>;

const callers = new WeakMap<object, Caller>();

function one(value: string | string[] | undefined): string | undefined {
  if (Array.isArray(value)) return value.length === 1 ? value[0] : undefined;
  return value;
}

/** Reads the caller of a call off its connection. */
export function identify(call: SurfaceCall, insecure: boolean): Caller {
  const peer = call.getPeer();
  if (insecure) return { name: peer, role: undefined, insecure: true, peer };
  const cert = call.getAuthContext().sslPeerCertificate;
  const ou = one(cert?.subject?.OU);
  const cn = one(cert?.subject?.CN);
  return { name: cn ?? '(no name)', role: isRole(ou) ? ou : undefined, insecure: false, peer };
}

export function rememberCaller(call: object, caller: Caller): void {
  callers.set(call, caller);
}

/** The caller of a call that passed the access check; handlers use it for per-role decisions. */
export function callerOf(call: object): Caller {
  const caller = callers.get(call);
  if (!caller) throw new Error('callerOf: the call did not go through the access check');
  return caller;
}

export function mayCall(caller: Caller, allowed: readonly Role[] | undefined): boolean {
  if (caller.insecure) return true;
  return caller.role !== undefined && allowed !== undefined && allowed.includes(caller.role);
}

/** The role a policy decision is made for: insecure callers act as operators. */
export function effectiveRole(caller: Caller): Role | undefined {
  return caller.insecure ? 'operator' : caller.role;
}
