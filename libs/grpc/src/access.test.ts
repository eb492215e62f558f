import { jsonMethod, waitFor } from '@flotilla/testing';
import { execFileSync } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { mkdtempSync } from 'node:fs';
import { makeClientConstructor, Metadata, status, type Client, type ClientReadableStream, type ServiceDefinition, type ServiceError } from '@grpc/grpc-js';
import { CertificateAuthority, type Role } from '@flotilla/pki';
import { callerOf, type MethodAccess } from './access';
import { createLogger } from './logger';
import { serverStream, startServer, unary, type RunningServer } from './server';
import type { TlsFiles } from './tls';
import { dial, type ClientConstructor } from './client';

// A tiny JSON service: Change (mutating, operator), Read (operator, reader), Follow (a stream,
// operator and reader), Hold (unary, long-lived: answers when the test lets it), behind real mutual
// TLS with certificates from a real CA.

type Msg = Record<string, unknown>;
const method = (name: string, responseStream: boolean) => jsonMethod('test.v1.Guarded', name, responseStream);
const definition: ServiceDefinition = { Change: method('Change', false), Read: method('Read', false), Follow: method('Follow', true), Hold: method('Hold', false) };
interface GuardedClient extends Client {
  Change(request: Msg, callback: (err: ServiceError | null, response?: Msg) => void): unknown;
  Read(request: Msg, callback: (err: ServiceError | null, response?: Msg) => void): unknown;
  Follow(request: Msg): ClientReadableStream<Msg>;
  Hold(request: Msg, callback: (err: ServiceError | null, response?: Msg) => void): { cancel(): void };
}
const GuardedClient = makeClientConstructor(definition, 'Guarded') as unknown as ClientConstructor<GuardedClient>;

const access: MethodAccess = { Change: ['operator'], Read: ['operator', 'reader'], Follow: ['operator', 'reader'], Hold: ['operator', 'reader'] };
/** Lets the Hold calls open on the server answer, oldest first. */
const holds: Array<() => void> = [];
/** One entry per Hold call the server saw cancelled. */
const aborted: true[] = [];

let dir: string;
let ca: CertificateAuthority;
let other: CertificateAuthority;
const tls = (role: Role, authority = ca): TlsFiles => {
  const issued = authority.issue({ role, name: `${role}-${authority === ca ? 'a' : 'b'}` });
  return { ca: ca.caCert, cert: issued.cert, key: issued.key };
};

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'flotilla-access-'));
  ca = CertificateAuthority.create(join(dir, 'ca'));
  other = CertificateAuthority.create(join(dir, 'other'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const servers: RunningServer[] = [];
const clients: Client[] = [];
afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  for (const s of servers.splice(0)) {
    await s.shutdown(500);
    s.server.forceShutdown();
  }
});

async function serve(options: { rate?: number; burst?: number; streams?: number } = {}) {
  const lines: string[] = [];
  const seen: Array<{ name: string; role: string | undefined }> = [];
  const running = await startServer({
    address: '127.0.0.1:0',
    security: { kind: 'mtls', tls: { ca: ca.caCert, ...(() => { const s = ca.issue({ role: 'manager', name: 'server' }); return { cert: s.cert, key: s.key }; })() } },
    callerLimits: { maxStreams: options.streams ?? 8, mutatingPerSecond: options.rate ?? 1000, mutatingBurst: options.burst ?? 1000 },
    logger: createLogger({ write: (line) => lines.push(line) }),
    services: [
      {
        name: 'test.v1.Guarded',
        definition,
        access,
        mutating: ['Change'],
        longLived: ['Hold'],
        implementation: {
          Change: unary<Msg, Msg>(async (_request, call) => {
            const caller = callerOf(call);
            seen.push({ name: caller.name, role: caller.role });
            return { ok: true };
          }),
          Read: unary<Msg, Msg>(async () => ({ ok: true })),
          Follow: serverStream<Msg, Msg>(async (_request, call) => {
            call.write({ n: 1 });
            await new Promise<void>((resolve) => call.once('cancelled', () => resolve()));
          }),
          Hold: unary<Msg, Msg>(async (_request, _call, signal) => {
            await new Promise<void>((resolve) => {
              holds.push(resolve);
              signal.addEventListener(
                'abort',
                () => {
                  aborted.push(true);
                  resolve();
                },
                { once: true },
              );
            });
            return { ok: true };
          }),
        },
      },
    ],
  });
  servers.push(running);
  return { running, logs: () => lines.map((l) => JSON.parse(l) as Record<string, unknown>), seen };
}

function client(port: number, files: TlsFiles): GuardedClient {
  const c = dial(GuardedClient, `127.0.0.1:${port}`, { tls: files });
  clients.push(c);
  return c;
}

const unaryCall = (c: GuardedClient, name: 'Change' | 'Read') =>
  new Promise<{ err: ServiceError | null }>((resolve) => c[name]({}, (err) => resolve({ err })));

describe('roles from client certificates', () => {
  it('lets each role call what it may and refuses the rest with PERMISSION_DENIED, logged with the identity', async () => {
    const { running, logs, seen } = await serve();
    const operator = client(running.port, tls('operator'));
    const reader = client(running.port, tls('reader'));
    const manager = client(running.port, tls('manager'));
    expect((await unaryCall(operator, 'Change')).err).toBeNull();
    expect((await unaryCall(operator, 'Read')).err).toBeNull();
    expect((await unaryCall(reader, 'Read')).err).toBeNull();
    const denied = (await unaryCall(reader, 'Change')).err;
    expect(denied?.code).toBe(status.PERMISSION_DENIED);
    expect(denied?.details).toContain('role "reader" of "reader-a" may not call it; allowed: operator');
    expect((await unaryCall(manager, 'Read')).err?.code).toBe(status.PERMISSION_DENIED);
    expect(seen).toEqual([{ name: 'operator-a', role: 'operator' }]);
    expect(logs()).toContainEqual(expect.objectContaining({ msg: 'permission denied', method: '/test.v1.Guarded/Change', caller: 'reader-a', role: 'reader' }));
  });

  it('refuses a stream to a role that may not follow it', async () => {
    const { running } = await serve();
    const stream = client(running.port, tls('discovery')).Follow({});
    const err = await new Promise<ServiceError>((resolve) => stream.on('error', resolve));
    expect(err.code).toBe(status.PERMISSION_DENIED);
  });

  it('refuses a certificate whose OU is no Flotilla role', async () => {
    const { running } = await serve();
    // Issued by the same CA with openssl directly, as a careless operator might.
    const key = join(ca.dir, 'stranger.key');
    const csr = join(ca.dir, 'stranger.csr');
    const cert = join(ca.dir, 'stranger.crt');
    execFileSync('openssl', ['req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', key, '-subj', '/OU=admin/CN=stranger', '-out', csr], { stdio: 'ignore' });
    execFileSync('openssl', ['x509', '-req', '-in', csr, '-CA', ca.caCert, '-CAkey', join(ca.dir, 'ca.key'), '-CAcreateserial', '-days', '1', '-out', cert], { stdio: 'ignore' });
    const err = (await unaryCall(client(running.port, { ca: ca.caCert, cert, key }), 'Read')).err;
    expect(err?.code).toBe(status.PERMISSION_DENIED);
    expect(err?.details).toContain('no Flotilla role');
  });

  it('never reaches a handler without a certificate, or with one from another CA', async () => {
    const { running, seen } = await serve();
    const none = await unaryCall(client(running.port, { ca: ca.caCert }), 'Change');
    expect(none.err?.code).toBe(status.UNAVAILABLE);
    const foreign = await unaryCall(client(running.port, tls('operator', other)), 'Change');
    expect(foreign.err?.code).toBe(status.UNAVAILABLE);
    expect(seen).toEqual([]);
  });
});

describe('CA rotation', () => {
  it('accepts certificates from every CA in a bundled ca.crt, so old and new identities work side by side', async () => {
    const bundle = join(dir, 'bundle.crt');
    writeFileSync(bundle, readFileSync(ca.caCert, 'utf8') + readFileSync(other.caCert, 'utf8'));
    const server = other.issue({ role: 'manager', name: 'rotated-server' });
    const running = await startServer({
      address: '127.0.0.1:0',
      security: { kind: 'mtls', tls: { ca: bundle, cert: server.cert, key: server.key } },
      services: [{ name: 'test.v1.Guarded', definition, access, implementation: { Read: unary<Msg, Msg>(async () => ({ ok: true })) } }],
    });
    servers.push(running);
    const fromOld = ca.issue({ role: 'reader', name: 'old-reader' });
    const fromNew = other.issue({ role: 'reader', name: 'new-reader' });
    expect((await unaryCall(client(running.port, { ca: bundle, cert: fromOld.cert, key: fromOld.key }), 'Read')).err).toBeNull();
    expect((await unaryCall(client(running.port, { ca: bundle, cert: fromNew.cert, key: fromNew.key }), 'Read')).err).toBeNull();
  });
});

describe('caller limits', () => {
  it('answers RESOURCE_EXHAUSTED past the rate of mutating calls, per caller, and leaves reads alone', async () => {
    const { running } = await serve({ rate: 0.001, burst: 3 });
    const operator = client(running.port, tls('operator'));
    const codes: Array<number | undefined> = [];
    for (let i = 0; i < 5; i++) codes.push((await unaryCall(operator, 'Change')).err?.code);
    expect(codes).toEqual([undefined, undefined, undefined, status.RESOURCE_EXHAUSTED, status.RESOURCE_EXHAUSTED]);
    expect((await unaryCall(operator, 'Read')).err).toBeNull();
    // Another caller has its own budget.
    const second = client(running.port, { ...tls('operator'), ...(() => { const s = ca.issue({ role: 'operator', name: 'second' }); return { cert: s.cert, key: s.key }; })() });
    expect((await unaryCall(second, 'Change')).err).toBeNull();
  });

  it('counts a long-lived unary call as an open stream until it answers or is cancelled', async () => {
    const { running } = await serve({ streams: 2 });
    const reader = client(running.port, tls('reader'));
    holds.splice(0);
    aborted.splice(0);
    const hold = () => {
      let call: { cancel(): void } | undefined;
      const answered = new Promise<ServiceError | null>((resolve) => (call = reader.Hold({}, (err) => resolve(err))));
      return { answered, cancel: () => call?.cancel() };
    };
    const held = (n: number) => waitFor(() => holds.length === n || undefined, { what: `${n} Hold calls open on the server` });
    const first = hold();
    const second = hold();
    await held(2);
    const third = await hold().answered;
    expect(third?.code).toBe(status.RESOURCE_EXHAUSTED);
    expect(third?.details).toContain('at most 2 open streams per caller');
    // An answer frees its slot before it is sent.
    holds.shift()?.();
    expect(await first.answered).toBeNull();
    const fourth = hold();
    await held(2);
    // So does a cancel, once the server has seen it (its handler then ends).
    second.cancel();
    expect((await second.answered)?.code).toBe(status.CANCELLED);
    await waitFor(() => aborted.length === 1 || undefined, { what: 'the server to see the cancel' });
    const fifth = hold();
    await held(3);
    for (const release of holds.splice(0)) release();
    expect(await fourth.answered).toBeNull();
    expect(await fifth.answered).toBeNull();
  });

  it('answers RESOURCE_EXHAUSTED past the open streams of one caller, and frees a slot when one ends', async () => {
    const { running } = await serve({ streams: 2 });
    const reader = client(running.port, tls('reader'));
    const first = reader.Follow({});
    const second = reader.Follow({});
    await Promise.all([first, second].map((s) => new Promise((resolve) => s.once('data', resolve))));
    const third = reader.Follow({});
    const err = await new Promise<ServiceError>((resolve) => third.on('error', resolve));
    expect(err.code).toBe(status.RESOURCE_EXHAUSTED);
    expect(err.details).toContain('at most 2 open streams per caller');
    first.on('error', () => undefined);
    first.cancel();
    // The slot comes back once the server has seen the cancel.
    let fourth: ClientReadableStream<Msg> | undefined;
    for (let attempt = 0; attempt < 100; attempt++) {
      const s = reader.Follow({});
      const outcome = await new Promise<'data' | 'error'>((resolve) => {
        s.once('data', () => resolve('data'));
        s.once('error', () => resolve('error'));
      });
      if (outcome === 'data') {
        fourth = s;
        break;
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect(fourth).toBeDefined();
    for (const s of [second, fourth!]) {
      s.on('error', () => undefined);
      s.cancel();
    }
  });
});

it('exposes no caller for a call that did not pass the gate', () => {
  expect(() => callerOf({})).toThrow(/did not go through the access check/);
  expect(new Metadata()).toBeDefined();
});
