import { CancelledError, DeadlineExceededError, FailedPreconditionError, InvalidArgumentError, NotFoundError, PermissionDeniedError, UnavailableError } from '@flotilla/errors';
import { placementExplanationType, PlacementExplanation, type WatchEventsResponse } from '@flotilla/proto/cluster';
import { freePort, testTls, waitFor, failureOf } from '@flotilla/testing';
import { ClientReason, ClusterClient, type ClusterClientOptions } from './index';
import { startCutProxy, startSilentPeer, startTestManager, type CutProxy, type TestManager } from './test-support';

// The client against real cluster-managers in this process (mutual TLS with the test CA), no
// engines: pending engines (addresses where no agent listens) are all these calls need. Fail-over
// meets the ways a manager goes missing: nothing listening, a peer that never answers the
// handshake, a manager shut down, and a connection cut after the manager did the call.

let main: TestManager;
let proxy: CutProxy;
let silent: Awaited<ReturnType<typeof startSilentPeer>>;
const clients: ClusterClient[] = [];

function client(options: Partial<ClusterClientOptions> & Pick<ClusterClientOptions, 'managers'>): ClusterClient {
  const c = new ClusterClient({ tls: testTls('operator'), retry: { initialBackoffMs: 20, maxBackoffMs: 200 }, ...options });
  clients.push(c);
  return c;
}


/** An address where nothing listens: connections are refused. */
async function deadAddress(): Promise<string> {
  return `127.0.0.1:${await freePort()}`;
}

/** An engine address no agent answers: the manager keeps it pending. */
async function pendingEngine(): Promise<string> {
  return `127.0.0.1:${await freePort()}`;
}

beforeAll(async () => {
  main = await startTestManager();
  proxy = await startCutProxy(main.address);
  silent = await startSilentPeer();
});

afterAll(async () => {
  for (const c of clients) c.close();
  await proxy?.close();
  await silent?.close();
  await main?.stop();
});

describe('fail-over', () => {
  it('a read goes on to the next manager when nothing listens at the first', async () => {
    const c = client({ managers: [await deadAddress(), main.address] });
    const info = await c.getInfo();
    expect(info.managerVersion).not.toBe('');
    expect(c.activeManager).toBe(main.address);
  });

  it('a manager that never finishes the handshake is left after connectTimeoutMs', async () => {
    const c = client({ managers: [silent.address, main.address], connectTimeoutMs: 300 });
    await expect(c.getInfo()).resolves.toMatchObject({ managerVersion: expect.any(String) });
    expect(c.activeManager).toBe(main.address);
  });

  it('a manager shut down between calls: the next call goes to the other one', async () => {
    const [first, second] = [await startTestManager(), await startTestManager()];
    try {
      const c = client({ managers: [first.address, second.address] });
      await c.getInfo();
      expect(c.activeManager).toBe(first.address);
      await first.stop();
      await c.getInfo();
      expect(c.activeManager).toBe(second.address);
      expect(second.calls('GetInfo')).toHaveLength(1);
    } finally {
      await first.stop();
      await second.stop();
    }
  });

  it('no manager reachable: UnavailableError MANAGER_UNREACHABLE naming each, after the bounded tries', async () => {
    const [a, b] = [await deadAddress(), await deadAddress()];
    const c = client({ managers: [a, b], retry: { attempts: 2, initialBackoffMs: 10 } });
    const err = await failureOf(c.getInfo());
    expect(err).toBeInstanceOf(UnavailableError);
    expect(err.reason).toBe(ClientReason.MANAGER_UNREACHABLE);
    expect(err.message).toContain(a);
    expect(err.message).toContain(b);
    expect(err.message).toMatch(/ECONNREFUSED/);
  });

  it('a call that never reached a manager moves on even when it is not idempotent', async () => {
    const engine = await pendingEngine();
    await client({ managers: [main.address] }).addEngine({ address: engine });
    const c = client({ managers: [await deadAddress(), main.address] });
    const { engine: removed } = await c.removeEngine({ engine });
    expect(removed?.address).toBe(engine);
  });
});

describe('retries after a lost answer', () => {
  it('RemoveEngine (not idempotent) is not sent again: the lost answer is MANAGER_CONNECTION_LOST', async () => {
    const engine = await pendingEngine();
    const c = client({ managers: [proxy.address, main.address] });
    await c.addEngine({ address: engine });
    expect(c.activeManager).toBe(proxy.address);
    const before = main.calls('RemoveEngine').length;
    proxy.arm();
    const removing = failureOf(c.removeEngine({ engine }));
    // The manager did it and answered into the void; then the connection breaks.
    await waitFor(() => main.calls('RemoveEngine').length > before, { what: 'the manager to answer RemoveEngine' });
    proxy.cut();
    const err = await removing;
    expect(err).toBeInstanceOf(UnavailableError);
    expect(err.reason).toBe(ClientReason.MANAGER_CONNECTION_LOST);
    // A second try would have reached the manager (the other address) and been NOT_FOUND.
    expect(main.calls('RemoveEngine').length).toBe(before + 1);
    await expect(c.getEngine({ engine })).rejects.toBeInstanceOf(NotFoundError);
  });

  it('AddEngine (idempotent) is sent again, to the next manager, and answers as a repeat', async () => {
    const engine = await pendingEngine();
    const c = client({ managers: [proxy.address, main.address] });
    await c.getInfo();
    expect(c.activeManager).toBe(proxy.address);
    const before = main.calls('AddEngine').length;
    proxy.arm();
    const adding = c.addEngine({ address: engine });
    await waitFor(() => main.calls('AddEngine').length > before, { what: 'the manager to answer AddEngine' });
    proxy.cut();
    const answer = await adding;
    // The first try added it; the retry found it known.
    expect(answer.added).toBe(false);
    expect(main.calls('AddEngine').length).toBe(before + 2);
    // Both tries carried the one request ID the call was given.
    const ids = main.calls('AddEngine').slice(before).map((line) => line.requestId);
    expect(ids[0]).toEqual(expect.any(String));
    expect(ids[1]).toBe(ids[0]);
    expect(c.activeManager).toBe(main.address);
    expect(main.manager.cluster.listEngines().filter((e) => e.address === engine)).toHaveLength(1);
  });

  it('a client-wide request ID, or a call\'s own, reaches the manager past a dead first address', async () => {
    const c = client({ managers: [await deadAddress(), main.address], requestId: 'client-wide.1' });
    await c.getInfo();
    expect(main.calls('GetInfo').at(-1)?.requestId).toBe('client-wide.1');
    await c.getInfo({}, { requestId: 'this-call_2' });
    expect(main.calls('GetInfo').at(-1)?.requestId).toBe('this-call_2');
  });
});

describe('deadlines and cancellation', () => {
  it('a call no manager answers in time ends with DeadlineExceededError', async () => {
    const c = client({ managers: [silent.address], deadlineMs: 300 });
    const err = await failureOf(c.getInfo());
    expect(err).toBeInstanceOf(DeadlineExceededError);
    expect(err.reason).toBe(ClientReason.MANAGER_UNREACHABLE);
    // The call's own deadline wins over the client's.
    const own = await failureOf(client({ managers: [silent.address] }).getInfo({}, { deadlineMs: 200 }));
    expect(own).toBeInstanceOf(DeadlineExceededError);
  });

  it('a stream with a deadline ends with DeadlineExceededError from the manager', async () => {
    const c = client({ managers: [main.address] });
    const events = c.watchEvents({ types: ['container'] }, { deadlineMs: 500 });
    await events.opened;
    const err = await failureOf((async () => {
      for await (const _ of events) void _;
    })());
    expect(err).toBeInstanceOf(DeadlineExceededError);
    expect(err.reason).not.toBe(ClientReason.MANAGER_UNREACHABLE);
  });

  it('an aborted signal cancels a call before it is sent, and a stream on the manager', async () => {
    const c = client({ managers: [main.address] });
    await expect(c.getInfo({}, { signal: AbortSignal.abort() })).rejects.toBeInstanceOf(CancelledError);
    const controller = new AbortController();
    const events = c.watchEvents({}, { signal: controller.signal, requestId: 'watch-then-abort' });
    // Opened: the manager has subscribed it (it sends the headers once it has).
    await events.opened;
    const reading = failureOf((async () => {
      for await (const _ of events) void _;
    })());
    controller.abort();
    expect(await reading).toBeInstanceOf(CancelledError);
    // The manager's call ended (its handler closes the subscription as it ends).
    await waitFor(() => main.calls('WatchEvents').some((l) => l.requestId === 'watch-then-abort'), { what: 'the manager to end the stream' });
  });

  it('close() cancels open streams and refuses later calls', async () => {
    const c = client({ managers: [main.address] });
    const events = c.watchEvents();
    await events.opened;
    c.close();
    await expect((async () => {
      for await (const _ of events) void _;
    })()).rejects.toBeInstanceOf(CancelledError);
    const err = await failureOf(c.getInfo());
    expect(err).toBeInstanceOf(FailedPreconditionError);
    expect(err.reason).toBe(ClientReason.CLIENT_CLOSED);
  });
});

describe('streams', () => {
  it('opening fails over; once live (opened), every event after it comes', async () => {
    const engine = await pendingEngine();
    const c = client({ managers: [await deadAddress(), main.address] });
    await c.addEngine({ address: engine });
    const events = c.watchEvents({ types: ['engine'], engines: [engine] });
    await events.opened;
    await c.removeEngine({ engine });
    let seen: WatchEventsResponse | undefined;
    for await (const message of events) {
      if (message.event?.action === 'removed') {
        seen = message;
        break;
      }
    }
    expect(seen?.event?.engine?.address).toBe(engine);
  });

  it('a stream refused at once fails with the manager\'s error, not tried elsewhere', async () => {
    // The second address reaches the same manager: a second try would show as a second call.
    const c = client({ managers: [main.address, proxy.address] });
    const before = main.calls('ContainerLogs').length;
    const logs = c.containerLogs({ container: 'no-such-container' });
    await expect(logs.opened).rejects.toBeInstanceOf(NotFoundError);
    await expect((async () => {
      for await (const _ of logs) void _;
    })()).rejects.toBeInstanceOf(NotFoundError);
    expect(main.calls('ContainerLogs').length).toBe(before + 1);
  });
});

describe('answers and errors', () => {
  it('engines() walks every page', async () => {
    const added = await Promise.all(Array.from({ length: 5 }, () => pendingEngine()));
    const c = client({ managers: [main.address] });
    for (const address of added) await c.addEngine({ address });
    const pagesBefore = main.calls('ListEngines').length;
    const seen: string[] = [];
    for await (const engine of c.engines({ pageSize: 2 })) seen.push(engine.address);
    expect(seen).toEqual(expect.arrayContaining(added));
    expect(new Set(seen).size).toBe(seen.length);
    expect(main.calls('ListEngines').length - pagesBefore).toBe(Math.ceil(seen.length / 2));
  });

  it('ExplainPlacement answers with no engine chosen; a create is refused with the explanation as a detail', async () => {
    const c = client({ managers: [main.address] });
    const answer = await c.explainPlacement({ spec: { image: 'busybox:local' } });
    expect(answer.chosen).toBeUndefined();
    expect(answer.explanation?.summary).not.toBe('');
    const err = await failureOf(c.createContainer({ spec: { image: 'busybox:local' } }));
    expect(err).toBeInstanceOf(FailedPreconditionError);
    expect(err.reason).toBe('NO_ENGINE_FITS');
    const detail = err.detail(placementExplanationType);
    expect(detail && PlacementExplanation.decode(detail).summary).toBeTruthy();
  });

  it('a bad field is InvalidArgumentError with its violation; a role that may not call is PermissionDeniedError', async () => {
    const c = client({ managers: [main.address] });
    const err = await failureOf(c.addEngine({ address: 'not an address' }));
    expect(err).toBeInstanceOf(InvalidArgumentError);
    expect(err.reason).toBe('INVALID_FIELD');
    expect(err.violations).toEqual([expect.objectContaining({ field: 'address' })]);
    const reader = new ClusterClient({ managers: [main.address], tls: testTls('reader') });
    clients.push(reader);
    await expect(reader.getInfo()).resolves.toBeDefined();
    await expect(reader.addEngine({ address: await pendingEngine() })).rejects.toBeInstanceOf(PermissionDeniedError);
  });

  it('checks its options', () => {
    expect(() => new ClusterClient({ managers: [], tls: { insecure: true } })).toThrow(InvalidArgumentError);
    expect(() => new ClusterClient({ managers: ['nope'], tls: { insecure: true } })).toThrow(/managers\[0\]/);
    expect(() => new ClusterClient({ managers: ['127.0.0.1:1'], tls: {} })).toThrow(/tls/);
    expect(() => new ClusterClient({ managers: ['127.0.0.1:1'], tls: { insecure: true }, retry: { attempts: 0 } })).toThrow(/retry.attempts/);
    const c = new ClusterClient({ managers: ['127.0.0.1:1', '127.0.0.1:1'], tls: { insecure: true } });
    expect(c.managers).toEqual(['127.0.0.1:1']);
    c.close();
  });
});
