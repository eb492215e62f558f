import { defaultCallerLimits, securityFromFlags, type CallerLimitsOptions, type Security } from '@flotilla/grpc';
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

/** Per-caller limits every service applies (a caller is a certificate: role and name). */
export function callerLimitFlags(prefix: string) {
  return {
    'max-streams-per-caller': flag('integer', { env: `${prefix}_MAX_STREAMS_PER_CALLER`, default: defaultCallerLimits.maxStreams, min: 1, max: 100_000, description: 'Streams one caller may hold open at once; more are refused with RESOURCE_EXHAUSTED.' }),
    'changes-per-second': flag('number', { env: `${prefix}_CHANGES_PER_SECOND`, default: defaultCallerLimits.mutatingPerSecond, min: 0, description: 'Calls that change something (create, remove, add an engine, ...) one caller may make per second, sustained; 0 turns the limit off. Past it: RESOURCE_EXHAUSTED.' }),
    'changes-burst': flag('integer', { env: `${prefix}_CHANGES_BURST`, default: defaultCallerLimits.mutatingBurst, min: 1, description: 'Changing calls one caller may make in a burst above the sustained rate.' }),
  };
}

export function callerLimitsFrom(values: { 'max-streams-per-caller': number; 'changes-per-second': number; 'changes-burst': number }): CallerLimitsOptions {
  return { maxStreams: values['max-streams-per-caller'], mutatingPerSecond: values['changes-per-second'], mutatingBurst: values['changes-burst'] };
}
