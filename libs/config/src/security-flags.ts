import { securityFromFlags, type Security } from '@flotilla/grpc';
import { flag } from './flags';

/**
 * The flags that give a service its identity, the same for every service: one certificate, used
 * to serve (mutual TLS: callers must present a certificate from the same CA) and to dial other
 * services. `prefix` names the environment variables, e.g. FLOTILLA_MANAGER.
 */
export function securityFlags(prefix: string) {
  return {
    'tls-ca': flag('string', { env: `${prefix}_TLS_CA`, placeholder: 'FILE', description: "The cluster CA's certificate(s): callers and called services must hold a certificate it signed. Required unless --insecure." }),
    'tls-cert': flag('string', { env: `${prefix}_TLS_CERT`, placeholder: 'FILE', description: "This service's certificate (its OU is its role; make it with 'flotilla ca issue'). Required unless --insecure." }),
    'tls-key': flag('string', { env: `${prefix}_TLS_KEY`, placeholder: 'FILE', description: "This service's private key. Required unless --insecure." }),
    insecure: flag('boolean', {
      env: `${prefix}_INSECURE`,
      default: false,
      description: 'Plaintext gRPC with no certificates and no roles: any local user may call anything. Accepted only on a loopback listen address, and logged as a warning. For local development only.',
    }),
  };
}

type SecurityFlagValues = { 'tls-ca'?: string; 'tls-cert'?: string; 'tls-key'?: string; insecure: boolean };

/** The service's security from its parsed flags; `listen` is checked against loopback in insecure mode. */
export function securityFrom(values: SecurityFlagValues, listen: string): Security {
  return securityFromFlags({ tls: { ca: values['tls-ca'], cert: values['tls-cert'], key: values['tls-key'] }, insecure: values.insecure, listen });
}
