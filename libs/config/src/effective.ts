import type { FlagSpecs } from './flags';

/*
 * The "configuration" line every service logs at start: each flag's effective value (from the
 * command line, the environment or the default), so what a process runs with is in its logs.
 * Secrets are masked; paths to them are shown.
 */

/** What a masked value is logged as. */
export const masked = '***';

/** A flag whose name says it holds a secret. */
const secretName = /key|secret|password|passwd|token|credential/i;

/** Inline key or certificate material, whatever the flag. */
const pemBlock = /-----BEGIN [A-Z0-9 ]+-----/;

/** `scheme://user:password@host`: the password part. */
const uriPassword = /([a-z][a-z0-9+.-]*:\/\/[^/@:\s]*:)[^/@\s]*@/gi;

/** A path, not content: no line breaks, no PEM block, and the flag's placeholder says FILE (or the value looks like a path). */
function isPath(value: string, placeholder: string | undefined): boolean {
  if (/[\r\n]/.test(value) || pemBlock.test(value)) return false;
  return placeholder === 'FILE' || /^(\.{0,2}\/|~\/|file:\/\/)/.test(value);
}

function maskString(name: string, placeholder: string | undefined, value: string): string {
  if (pemBlock.test(value)) return masked;
  if (secretName.test(name) && value !== '' && !isPath(value, placeholder)) return masked;
  return value.replace(uriPassword, `$1${masked}@`);
}

/**
 * Every flag of `specs` with its effective value, in their order; unset ones as null. Masked: the
 * value of a flag whose name contains key, secret, password, token or credential unless it is a
 * file path (--tls-key /etc/flotilla/key.pem is shown), any PEM block, and the password of a
 * `scheme://user:password@host` URI.
 */
export function effectiveFlags(specs: FlagSpecs, values: Readonly<Record<string, unknown>>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [name, spec] of Object.entries(specs)) {
    const value = values[name];
    if (value === undefined) out[name] = null;
    else if (typeof value === 'string') out[name] = maskString(name, spec.placeholder, value);
    else if (Array.isArray(value)) out[name] = value.map((item) => (typeof item === 'string' ? maskString(name, spec.placeholder, item) : item));
    else out[name] = value;
  }
  return out;
}
