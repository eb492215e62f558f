import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createLogger } from '@flotilla/grpc';
import { cleanupAll, makeTempDir, removeTempDir, startEtcd, waitFor, type TestEtcd } from '@flotilla/testing';
import { createBackend, createRegistrar, parseDiscoveryUri, SourceState, type DiscoveryBackend, type Registrar } from '../src';

// A real etcd that serves only mutual TLS, with a throwaway PKI made by openssl in a temp dir.
let dir: string;
let etcd: TestEtcd;
const pki = { ca: '', clientCert: '', clientKey: '', otherCa: '' };
const closers: (() => Promise<void>)[] = [];
const quiet = createLogger({ level: 'error' });

function openssl(...args: string[]): void {
  execFileSync('/usr/bin/openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
}

const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];

function makeCa(name: string): { cert: string; key: string } {
  const cert = join(dir, `${name}.crt`);
  const key = join(dir, `${name}.key`);
  openssl('req', '-x509', ...ec, '-keyout', key, '-out', cert, '-days', '1', '-subj', `/CN=${name}`, '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign');
  return { cert, key };
}

let serial = 1;
function makeLeaf(name: string, ca: { cert: string; key: string }, extensions: string): { cert: string; key: string } {
  const cert = join(dir, `${name}.crt`);
  const key = join(dir, `${name}.key`);
  writeFileSync(join(dir, `${name}.ext`), extensions);
  openssl('req', ...ec, '-keyout', key, '-out', join(dir, `${name}.csr`), '-subj', `/CN=${name}`);
  openssl('x509', '-req', '-in', join(dir, `${name}.csr`), '-CA', ca.cert, '-CAkey', ca.key, '-set_serial', String(++serial), '-days', '1', '-out', cert, '-extfile', join(dir, `${name}.ext`));
  return { cert, key };
}

beforeAll(async () => {
  dir = makeTempDir('flotilla-etcd-tls-');
  const ca = makeCa('etcd-test-ca');
  const server = makeLeaf('etcd-server', ca, 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n');
  const client = makeLeaf('etcd-client', ca, 'extendedKeyUsage=clientAuth\n');
  Object.assign(pki, { ca: ca.cert, clientCert: client.cert, clientKey: client.key, otherCa: makeCa('other-ca').cert });
  etcd = await startEtcd({ tls: { cert: server.cert, key: server.key, ca: ca.cert, probeCert: client.cert, probeKey: client.key } });
});

afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close().catch(() => undefined);
});

afterAll(async () => {
  await cleanupAll();
  removeTempDir(dir);
});

function watch(uri: string, etcdTls: { ca?: string; cert?: string; key?: string }) {
  const backend: DiscoveryBackend = createBackend(parseDiscoveryUri(uri), { etcdTls, logger: quiet, retry: { initialMs: 100, maxMs: 500 }, etcdCallTimeoutMs: 2000 });
  closers.push(() => backend.close());
  const state = new SourceState(backend.source);
  backend.watch((update) => state.apply(update));
  return state;
}

it('registers and watches over mutual TLS with the CA and a client certificate', async () => {
  const uri = `etcd://${etcd.endpoint}/secure`;
  const tls = { ca: pki.ca, cert: pki.clientCert, key: pki.clientKey };
  const state = watch(uri, tls);
  const registrar: Registrar = createRegistrar(parseDiscoveryUri(uri), { etcdTls: tls });
  closers.push(() => registrar.close());
  expect(await registrar.register('127.0.0.1:4250', 10_000)).toBe('registered');
  await waitFor(() => state.snapshot().addresses.join() === '127.0.0.1:4250', { what: 'the engine over TLS' });
});

it('reports an etcd it cannot trust, or one that refuses it, as a source error', async () => {
  const uri = `etcd://${etcd.endpoint}/secure`;
  const untrusted = watch(uri, { ca: pki.otherCa, cert: pki.clientCert, key: pki.clientKey });
  const anonymous = watch(uri, { ca: pki.ca });
  const plain = watch(uri, {});
  for (const [state, what] of [[untrusted, 'an etcd signed by another CA'], [anonymous, 'no client certificate'], [plain, 'plain text to a TLS etcd']] as const) {
    await waitFor(() => /^etcd: /.test(state.snapshot().sourceError), { what: `the error with ${what}`, timeoutMs: 20_000 });
    expect(state.snapshot().generation).toBe(0n);
  }
});

it('refuses TLS settings without a CA, or half a client certificate, naming the flag', () => {
  const uri = parseDiscoveryUri(`etcd://${etcd.endpoint}/secure`);
  expect(() => createBackend(uri, { etcdTls: { cert: pki.clientCert, key: pki.clientKey } })).toThrow(/^--etcd-tls-ca "": TLS to etcd needs the CA/);
  expect(() => createBackend(uri, { etcdTls: { ca: pki.ca, cert: pki.clientCert } })).toThrow(/^--etcd-tls-cert .*needs both --etcd-tls-cert and --etcd-tls-key/);
  expect(() => createBackend(uri, { etcdTls: { ca: join(dir, 'missing.crt') } })).toThrow(/^--etcd-tls-ca .*cannot be read/);
});
