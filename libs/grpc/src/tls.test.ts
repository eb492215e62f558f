import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  ChannelCredentials,
  loadPackageDefinition,
  ServerCredentials,
  status,
  type CallOptions,
  type Client,
  type ClientUnaryCall,
  type Metadata,
  type ServiceError,
} from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { protoPath as healthProtoPath } from 'grpc-health-check';
import { call, dial, type ClientConstructor, type DialOptions } from './client';
import { FlotillaError, InvalidArgumentError } from '@flotilla/errors';
import { createLogger } from './logger';
import { startServer, type RunningServer } from './server';
import type { Security } from './security';
import { channelCredentials, hasTls, serverCredentials, type TlsFiles } from './tls';

// ---- a throwaway PKI, made with openssl in a temp dir of this file's own -----------------------

let dir: string;
const pki = {
  ca: '',
  serverCert: '',
  serverKey: '',
  clientCert: '',
  clientKey: '',
  otherCa: '',
  otherClientCert: '',
  otherClientKey: '',
};

function openssl(...args: string[]): void {
  execFileSync('/usr/bin/openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
}

const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];

function makeCa(name: string): { cert: string; key: string } {
  const cert = join(dir, `${name}.crt`);
  const key = join(dir, `${name}.key`);
  openssl('req', '-x509', ...ec, '-keyout', key, '-out', cert, '-days', '1', '-subj', `/CN=${name}`,
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign');
  return { cert, key };
}

let serial = 1;
function makeLeaf(name: string, ca: { cert: string; key: string }, extensions: string): { cert: string; key: string } {
  const cert = join(dir, `${name}.crt`);
  const key = join(dir, `${name}.key`);
  const csr = join(dir, `${name}.csr`);
  const ext = join(dir, `${name}.ext`);
  writeFileSync(ext, extensions);
  openssl('req', ...ec, '-keyout', key, '-out', csr, '-subj', `/CN=${name}`);
  openssl('x509', '-req', '-in', csr, '-CA', ca.cert, '-CAkey', ca.key, '-set_serial', String(++serial), '-days', '1', '-out', cert, '-extfile', ext);
  return { cert, key };
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'flotilla-grpc-tls-'));
  const ca = makeCa('flotilla-test-ca');
  const server = makeLeaf('server', ca, 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n');
  const client = makeLeaf('client', ca, 'extendedKeyUsage=clientAuth\n');
  const otherCa = makeCa('other-ca');
  const otherClient = makeLeaf('other-client', otherCa, 'extendedKeyUsage=clientAuth\n');
  Object.assign(pki, {
    ca: ca.cert,
    serverCert: server.cert,
    serverKey: server.key,
    clientCert: client.cert,
    clientKey: client.key,
    otherCa: otherCa.cert,
    otherClientCert: otherClient.cert,
    otherClientKey: otherClient.key,
  });
});

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

// ---- a health client and servers to talk to ----------------------------------------------------

type CheckFn = (
  request: { service: string },
  metadata: Metadata,
  options: Partial<CallOptions>,
  callback: (err: ServiceError | null, response: { status: string }) => void,
) => ClientUnaryCall;
interface HealthClient extends Client {
  Check: CheckFn;
}
const healthPackage = loadPackageDefinition(protoLoader.loadSync(healthProtoPath, { keepCase: true, enums: String, defaults: true })) as unknown as {
  grpc: { health: { v1: { Health: ClientConstructor<HealthClient> } } };
};
const HealthClient = healthPackage.grpc.health.v1.Health;

const servers: RunningServer[] = [];
const clients: Client[] = [];

/** Server-only TLS is no service's choice (services require all three files), but the credentials support it. */
const securityOf = (tls?: TlsFiles): Security => (tls ? ({ kind: 'mtls', tls } as Security) : { kind: 'insecure' });

async function server(tls?: TlsFiles): Promise<RunningServer> {
  const running = await startServer({ address: '127.0.0.1:0', services: [], security: securityOf(tls) });
  servers.push(running);
  return running;
}

/** Checks the health of the server at `port`; resolves with the status or rejects with the typed error. */
async function checkHealth(port: number, options: DialOptions = {}, host = '127.0.0.1'): Promise<string> {
  const client = dial(HealthClient, `${host}:${port}`, { defaultDeadlineMs: 10_000, ...options });
  clients.push(client);
  const response = await call(client, client.Check, { service: '' });
  return response.status;
}

/** The typed error a health check failed with. */
async function checkFails(port: number, options: DialOptions = {}): Promise<FlotillaError> {
  try {
    const answer = await checkHealth(port, options);
    throw new Error(`expected the check to fail, it answered ${answer}`);
  } catch (err) {
    expect(err).toBeInstanceOf(FlotillaError);
    return err as FlotillaError;
  }
}

afterEach(async () => {
  for (const client of clients.splice(0)) client.close();
  for (const running of servers.splice(0)) {
    await running.shutdown(1_000);
    running.server.forceShutdown();
  }
});

/** The InvalidArgumentError a call throws; fails the test when it throws nothing or something else. */
function invalid(fn: () => unknown): InvalidArgumentError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(InvalidArgumentError);
    return err as InvalidArgumentError;
  }
  throw new Error('expected an InvalidArgumentError, nothing was thrown');
}

// ---- tests -------------------------------------------------------------------------------------

describe('hasTls', () => {
  it('is true when any file is given', () => {
    expect(hasTls(undefined)).toBe(false);
    expect(hasTls({})).toBe(false);
    expect(hasTls({ ca: '', cert: '', key: '' })).toBe(false);
    expect(hasTls({ ca: '/ca.pem' })).toBe(true);
    expect(hasTls({ cert: '/cert.pem' })).toBe(true);
    expect(hasTls({ key: '/key.pem' })).toBe(true);
  });
});

describe('credentials without TLS files', () => {
  it('are insecure', () => {
    expect(serverCredentials(undefined)._isSecure()).toBe(false);
    expect(serverCredentials({})._isSecure()).toBe(false);
    expect(channelCredentials(undefined)._isSecure()).toBe(false);
    expect(channelCredentials({})._isSecure()).toBe(false);
    expect(serverCredentials(undefined)).toBeInstanceOf(ServerCredentials);
    expect(channelCredentials(undefined)).toBeInstanceOf(ChannelCredentials);
  });
});

describe('TLS', () => {
  it('serves a client that trusts the CA', async () => {
    const running = await server({ cert: pki.serverCert, key: pki.serverKey });
    expect(serverCredentials({ cert: pki.serverCert, key: pki.serverKey })._isSecure()).toBe(true);
    await expect(checkHealth(running.port, { tls: { ca: pki.ca } })).resolves.toBe('SERVING');
  });

  it('checks the server name against the certificate', async () => {
    const running = await server({ cert: pki.serverCert, key: pki.serverKey });
    await expect(checkHealth(running.port, { tls: { ca: pki.ca }, channelOptions: { 'grpc.ssl_target_name_override': 'localhost' } })).resolves.toBe('SERVING');
    const err = await checkFails(running.port, { tls: { ca: pki.ca }, channelOptions: { 'grpc.ssl_target_name_override': 'engine.example.com' } });
    expect(err.code).toBe(status.UNAVAILABLE);
  });

  it('is refused by a client that does not trust the CA', async () => {
    const running = await server({ cert: pki.serverCert, key: pki.serverKey });
    const err = await checkFails(running.port, { tls: { ca: pki.otherCa } });
    expect(err.code).toBe(status.UNAVAILABLE);
  });

  it('refuses a client without TLS', async () => {
    const running = await server({ cert: pki.serverCert, key: pki.serverKey });
    const err = await checkFails(running.port);
    expect(err.code).toBe(status.UNAVAILABLE);
  });

  it('cannot reach a server without TLS', async () => {
    const running = await server();
    const err = await checkFails(running.port, { tls: { ca: pki.ca } });
    expect(err.code).toBe(status.UNAVAILABLE);
  });

  it('logs that the server listens with TLS', async () => {
    const lines: string[] = [];
    const running = await startServer({
      address: '127.0.0.1:0',
      services: [],
      security: securityOf({ cert: pki.serverCert, key: pki.serverKey }),
      logger: createLogger({ write: (line) => lines.push(line) }),
    });
    servers.push(running);
    expect(lines.map((line) => JSON.parse(line))).toContainEqual(expect.objectContaining({ msg: 'listening', port: running.port, tls: true }));
  });
});

describe('mutual TLS', () => {
  const mutual = (): TlsFiles => ({ ca: pki.ca, cert: pki.serverCert, key: pki.serverKey });

  it('serves a client presenting a certificate from the CA', async () => {
    const running = await server(mutual());
    await expect(checkHealth(running.port, { tls: { ca: pki.ca, cert: pki.clientCert, key: pki.clientKey } })).resolves.toBe('SERVING');
  });

  it('rejects a client without a certificate', async () => {
    const running = await server(mutual());
    const err = await checkFails(running.port, { tls: { ca: pki.ca } });
    expect(err.code).toBe(status.UNAVAILABLE);
  });

  it('rejects a client whose certificate is from another CA', async () => {
    const running = await server(mutual());
    const err = await checkFails(running.port, { tls: { ca: pki.ca, cert: pki.otherClientCert, key: pki.otherClientKey } });
    expect(err.code).toBe(status.UNAVAILABLE);
  });

  it('still serves a good client after rejecting a bad one', async () => {
    const running = await server(mutual());
    await checkFails(running.port, { tls: { ca: pki.ca } });
    await expect(checkHealth(running.port, { tls: { ca: pki.ca, cert: pki.clientCert, key: pki.clientKey } })).resolves.toBe('SERVING');
  });
});

describe('unreadable TLS files', () => {
  const missing = () => join(dir, 'does-not-exist.pem');

  it.each([
    ['tls-cert', (path: string): TlsFiles => ({ cert: path, key: pki.serverKey })],
    ['tls-key', (path: string): TlsFiles => ({ cert: pki.serverCert, key: path })],
    ['tls-ca', (path: string): TlsFiles => ({ ca: path, cert: pki.serverCert, key: pki.serverKey })],
  ])('serverCredentials names %s and the path', (flag, files) => {
    const path = missing();
    const err = invalid(() => serverCredentials(files(path)));
    expect(err.message).toContain(flag);
    expect(err.message).toContain(JSON.stringify(path));
    expect(err.message).toMatch(/cannot be read/);
  });

  it.each([
    ['tls-ca', (path: string): TlsFiles => ({ ca: path })],
    ['tls-cert', (path: string): TlsFiles => ({ ca: pki.ca, cert: path, key: pki.clientKey })],
    ['tls-key', (path: string): TlsFiles => ({ ca: pki.ca, cert: pki.clientCert, key: path })],
  ])('channelCredentials names %s and the path', (flag, files) => {
    const path = missing();
    const err = invalid(() => channelCredentials(files(path)));
    expect(err.message).toContain(flag);
    expect(err.message).toContain(JSON.stringify(path));
  });

  it('uses the given flag prefix', () => {
    const path = missing();
    expect(invalid(() => channelCredentials({ ca: path }, 'agent-tls')).message).toContain(`agent-tls-ca ${JSON.stringify(path)}`);
    expect(invalid(() => serverCredentials({ cert: path, key: pki.serverKey }, 'agent-tls')).message).toContain(`agent-tls-cert ${JSON.stringify(path)}`);
  });

  it('rejects a directory given as a file', () => {
    const folder = join(dir, 'a-folder');
    mkdirSync(folder, { recursive: true });
    const err = invalid(() => channelCredentials({ ca: folder }));
    expect(err.message).toContain(`tls-ca ${JSON.stringify(folder)}`);
  });

  it('makes startServer reject without listening', async () => {
    const path = missing();
    await expect(startServer({ address: '127.0.0.1:0', services: [], security: securityOf({ cert: path, key: pki.serverKey }) })).rejects.toThrow(InvalidArgumentError);
  });
});

describe('incomplete TLS files', () => {
  it('rejects a server certificate without a key', () => {
    const err = invalid(() => serverCredentials({ cert: pki.serverCert }));
    expect(err.message).toContain('tls-cert');
    expect(err.message).toContain('tls-key');
    expect(err.message).toContain(JSON.stringify(pki.serverCert));
  });

  it('rejects a server key without a certificate', () => {
    expect(invalid(() => serverCredentials({ key: pki.serverKey })).message).toContain('tls-cert');
  });

  it('rejects a server CA without a certificate and key', () => {
    expect(invalid(() => serverCredentials({ ca: pki.ca })).message).toContain('tls-cert');
  });

  it('rejects a client certificate without a key', () => {
    const err = invalid(() => channelCredentials({ ca: pki.ca, cert: pki.clientCert }));
    expect(err.message).toContain('tls-cert');
    expect(err.message).toContain('tls-key');
  });

  it('rejects a client key without a certificate', () => {
    expect(invalid(() => channelCredentials({ ca: pki.ca, key: pki.clientKey })).message).toContain('tls-cert');
  });

  it('makes dial throw before connecting', () => {
    expect(() => dial(HealthClient, '127.0.0.1:1', { tls: { cert: pki.clientCert } })).toThrow(InvalidArgumentError);
  });
});
