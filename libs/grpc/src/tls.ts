import { readFileSync } from 'node:fs';
import { createSecureContext, type SecureContext } from 'node:tls';
import { ChannelCredentials, ServerCredentials, type VerifyOptions } from '@grpc/grpc-js';
import { InvalidArgumentError } from '@flotilla/errors';

/**
 * TLS material as file paths. A server with `ca` requires and verifies client certificates
 * (mutual TLS); a client with `cert` and `key` presents one.
 */
export interface TlsFiles {
  ca?: string;
  cert?: string;
  key?: string;
}

function read(field: string, path: string | undefined): Buffer | null {
  if (!path) return null;
  try {
    return readFileSync(path);
  } catch (err) {
    throw InvalidArgumentError.field(field, path, `cannot be read: ${(err as Error).message}`);
  }
}

export function hasTls(files: TlsFiles | undefined): files is TlsFiles {
  return Boolean(files && (files.ca || files.cert || files.key));
}

export function serverCredentials(files: TlsFiles | undefined, prefix = 'tls'): ServerCredentials {
  if (!hasTls(files)) return ServerCredentials.createInsecure();
  const cert = read(`${prefix}-cert`, files.cert);
  const key = read(`${prefix}-key`, files.key);
  if (!cert || !key) {
    throw InvalidArgumentError.field(`${prefix}-cert`, files.cert ?? '', `a TLS server needs both ${prefix}-cert and ${prefix}-key`);
  }
  const ca = read(`${prefix}-ca`, files.ca);
  return ServerCredentials.createSsl(ca, [{ cert_chain: cert, private_key: key }], ca !== null);
}

/**
 * A client's TLS context: its CA and, for mutual TLS, its certificate and key, read and parsed
 * once. Channels built on it with `ChannelCredentials.createFromSecureContext` share it.
 */
export function clientSecureContext(files: TlsFiles, prefix = 'tls'): SecureContext {
  const ca = read(`${prefix}-ca`, files.ca);
  const cert = read(`${prefix}-cert`, files.cert);
  const key = read(`${prefix}-key`, files.key);
  if (Boolean(cert) !== Boolean(key)) {
    throw InvalidArgumentError.field(`${prefix}-cert`, files.cert ?? '', `a client certificate needs both ${prefix}-cert and ${prefix}-key`);
  }
  // No CA: Node's own roots, as grpc-js's createSsl would use.
  return createSecureContext({ ca: ca ?? undefined, cert: cert ?? undefined, key: key ?? undefined });
}

export function channelCredentials(files: TlsFiles | undefined, prefix = 'tls', verify?: VerifyOptions): ChannelCredentials {
  if (!hasTls(files)) return ChannelCredentials.createInsecure();
  return ChannelCredentials.createFromSecureContext(clientSecureContext(files, prefix), verify);
}
