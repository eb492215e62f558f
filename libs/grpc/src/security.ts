import { isIP } from 'node:net';
import { hasTls, type TlsFiles } from './tls';
import { InvalidArgumentError } from '@flotilla/errors';

/**
 * How a service talks: mutual TLS with its own certificate (the default, and the only choice off
 * loopback), or plaintext on loopback when started with --insecure, which gives up every check of
 * who calls: any local user may then do anything the service can.
 */
export type Security = { kind: 'mtls'; tls: Required<TlsFiles> } | { kind: 'insecure' };

export function isLoopbackHost(host: string): boolean {
  const bare = host.replace(/^\[|\]$/g, '').toLowerCase();
  if (bare === 'localhost' || bare === '::1') return true;
  return isIP(bare) === 4 && bare.startsWith('127.');
}

function hostOf(address: string): string {
  const bracketed = /^\[([^\]]+)\]:\d+$/.exec(address);
  if (bracketed) return bracketed[1];
  const colon = address.lastIndexOf(':');
  return colon < 0 ? address : address.slice(0, colon);
}

/**
 * A service's security from its flags: all three TLS files, or --insecure on a loopback listen
 * address. `listen` names what the service binds, checked against loopback in insecure mode.
 */
export function securityFromFlags(flags: { tls: TlsFiles; insecure: boolean; listen?: string }): Security {
  if (flags.insecure) {
    if (hasTls(flags.tls)) throw InvalidArgumentError.field('--insecure', true, 'cannot be combined with --tls-ca, --tls-cert or --tls-key');
    if (flags.listen !== undefined && !isLoopbackHost(hostOf(flags.listen))) {
      throw InvalidArgumentError.field('--listen', flags.listen, '--insecure is accepted only on a loopback address (127.0.0.0/8, ::1, localhost)');
    }
    return { kind: 'insecure' };
  }
  const { ca, cert, key } = flags.tls;
  if (!ca || !cert || !key) {
    const missing = (['ca', 'cert', 'key'] as const).filter((k) => !flags.tls[k]).map((k) => `--tls-${k}`);
    throw InvalidArgumentError.field(
      missing[0],
      '',
      `mutual TLS is required: give --tls-ca, --tls-cert and --tls-key (missing ${missing.join(', ')}; make them with 'flotilla ca'), or --insecure on a loopback address for local development`,
    );
  }
  return { kind: 'mtls', tls: { ca, cert, key } };
}

/** The TLS files to dial other services with (none in insecure mode). */
export function dialTls(security: Security): TlsFiles | undefined {
  return security.kind === 'mtls' ? security.tls : undefined;
}

/** Insecure mode dials only loopback peers: a plaintext link never leaves the machine. */
export function checkDialAllowed(security: Security, field: string, address: string): void {
  if (security.kind === 'insecure' && !isLoopbackHost(hostOf(address))) {
    throw InvalidArgumentError.field(field, address, 'a service started with --insecure dials only loopback addresses');
  }
}

/** The warning every insecure service logs at start. */
export const insecureWarning =
  'INSECURE: plaintext gRPC with no client certificates: any local user can call every method of this service; use only for local development';
