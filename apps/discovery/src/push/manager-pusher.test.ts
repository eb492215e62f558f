import type { Logger, LogFields } from '@flotilla/grpc';
import type { ClusterServiceClient, SyncEnginesRequest, SyncEnginesResponse } from '@flotilla/proto/cluster';
import { FakeClock } from '@flotilla/time';
import { connectivityState, Metadata, status, type ServiceError } from '@grpc/grpc-js';
import { ManagerPusher } from './manager-pusher';

// Discovery recovers from any answer it does not expect: each is logged, shown in the manager's
// push status (ListEntries), and retried with back-off, and pushing goes on afterwards.

const now = 1_700_000_000_000;
const retry = { initialMs: 100, maxMs: 1000 };

type Answer = SyncEnginesResponse | ServiceError;

function serviceError(code: status, details: string): ServiceError {
  return Object.assign(new Error(`${code} ${status[code]}: ${details}`), { code, details, metadata: new Metadata() });
}

const accept = (r: SyncEnginesRequest): SyncEnginesResponse => ({ added: [], removed: [], generation: r.generation, unchanged: false });

/** A manager that answers SyncEngines as told, over a channel that is always ready. */
function fakeManager() {
  const requests: SyncEnginesRequest[] = [];
  let answer: (request: SyncEnginesRequest) => Answer = accept;
  const channel = { getConnectivityState: () => connectivityState.READY, watchConnectivityState: () => undefined };
  const client = {
    syncEngines(request: SyncEnginesRequest, _metadata: Metadata, _options: object, callback: (err: ServiceError | null, res?: SyncEnginesResponse) => void) {
      requests.push(request);
      const a = answer(request);
      void Promise.resolve().then(() => (a instanceof Error ? callback(a) : callback(null, a)));
      return { cancel: () => undefined };
    },
    getChannel: () => channel,
    close: () => undefined,
  };
  return {
    requests,
    client: client as unknown as ClusterServiceClient,
    answer(fn: (request: SyncEnginesRequest) => Answer) {
      answer = fn;
    },
  };
}

function recordingLogger(lines: Array<{ level: string; message: string; fields?: LogFields }>): Logger {
  const at = (level: string) => (message: string, fields?: LogFields) => void lines.push({ level, message, fields });
  const logger: Logger = { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error'), child: () => logger };
  return logger;
}

/** A pusher to a manager that answers `first` until told otherwise. */
function harness(first: (request: SyncEnginesRequest) => Answer = accept) {
  const clock = new FakeClock(now);
  const manager = fakeManager();
  manager.answer(first);
  const logs: Array<{ level: string; message: string; fields?: LogFields }> = [];
  let generation = BigInt(now);
  let addresses = ['10.0.0.1:4250'];
  let statusChanges = 0;
  const pusher: ManagerPusher = new ManagerPusher({
    address: '127.0.0.1:4240',
    client: manager.client,
    current: () => ({ source: 'file:///etc/flotilla/engines', generation, addresses }),
    clock,
    logger: recordingLogger(logs),
    retry,
    pushIntervalMs: 30_000,
    pushTimeoutMs: 1000,
    onStatus: () => void statusChanges++,
    // As discovery does: SourceState.passGeneration, then every pusher pushes again.
    onNewerGeneration: (held) => {
      if (held <= generation) return;
      generation = held + 1n;
      pusher.changed();
    },
    random: () => 0.5,
  });
  pusher.start();
  const settle = () => clock.advance(0);
  /** Lets every back-off that may be waiting run out, once. */
  const afterBackoff = () => clock.advance(retry.maxMs * 1.2);
  return {
    clock,
    manager,
    logs,
    pusher,
    settle,
    afterBackoff,
    generation: () => generation,
    change(next: string[]) {
      addresses = next;
      generation++;
      pusher.changed();
    },
    statusChanges: () => statusChanges,
  };
}

afterEach(() => jest.restoreAllMocks());

it('pushes and shows a clean status when the manager takes the set', async () => {
  const h = harness();
  await h.settle();
  expect(h.manager.requests).toHaveLength(1);
  expect(h.pusher.pushStatus).toMatchObject({ generation: BigInt(now), lastError: '' });
});

describe.each<[string, () => ServiceError]>([
  ['INVALID_ARGUMENT', () => serviceError(status.INVALID_ARGUMENT, 'generation "1700000000000": more than 24 h ahead of the manager\'s clock')],
  ['PERMISSION_DENIED', () => serviceError(status.PERMISSION_DENIED, '/flotilla.cluster.v1.ClusterService/SyncEngines: role "reader" of "d" may not call it')],
  ['RESOURCE_EXHAUSTED', () => serviceError(status.RESOURCE_EXHAUSTED, 'the cluster holds 20000 engines and may hold at most 20000 (--max-engines)')],
  ['UNAVAILABLE', () => serviceError(status.UNAVAILABLE, 'connection refused')],
])('a push answered %s', (name, refusal) => {
  it('is logged, shown in the status with its code, retried with back-off, and recovers once the manager takes it', async () => {
    const h = harness(refusal);
    await h.settle();
    expect(h.pusher.pushStatus.lastError).toMatch(new RegExp(`^${name}: `));
    expect(h.pusher.pushStatus.generation).toBe(0n);
    expect(h.logs.filter((l) => l.level === 'warn' && l.message === 'push to the manager failed; retrying')).toHaveLength(1);
    // Retried, again and again, never at once.
    const tries = h.manager.requests.length;
    await h.afterBackoff();
    await h.afterBackoff();
    expect(h.manager.requests.length).toBeGreaterThan(tries);
    expect(h.manager.requests.length).toBeLessThan(tries + 10);
    // The same failure repeated is not logged as a warning again.
    expect(h.logs.filter((l) => l.level === 'warn' && l.message === 'push to the manager failed; retrying')).toHaveLength(1);
    // A change meanwhile is pushed once the manager takes pushes again.
    h.change(['10.0.0.2:4250']);
    h.manager.answer(accept);
    await h.afterBackoff();
    expect(h.pusher.pushStatus).toMatchObject({ generation: h.generation(), lastError: '' });
    expect(h.manager.requests.at(-1)?.addresses).toEqual(['10.0.0.2:4250']);
    expect(h.logs.some((l) => l.message === 'push to the manager went through again')).toBe(true);
  });
});

it.each(['garbage', '-5', '1.5', '18446744073709551616', ''])('an answer with the generation %j is a failed push, shown and retried', async (garbage) => {
  const h = harness(() => ({ added: [], removed: [], generation: garbage, unchanged: true }));
  await h.settle();
  expect(h.pusher.pushStatus.lastError).toMatch(/^the manager answered generation ".*", which is not a uint64$/);
  const tries = h.manager.requests.length;
  await h.afterBackoff();
  expect(h.manager.requests.length).toBeGreaterThan(tries);
  h.manager.answer(accept);
  await h.afterBackoff();
  expect(h.pusher.pushStatus.lastError).toBe('');
  expect(h.generation()).toBe(BigInt(now));
});

it('moves past a newer generation an earlier run left (within 24 h of the clock), once', async () => {
  const held = BigInt(now + 3_600_000);
  const h = harness((r) => (BigInt(r.generation) > held ? accept(r) : { added: [], removed: [], generation: String(held), unchanged: true }));
  await h.settle();
  await h.settle();
  expect(h.generation()).toBe(held + 1n);
  expect(h.manager.requests.map((r) => r.generation)).toEqual([String(now), String(held + 1n)]);
  expect(h.pusher.pushStatus).toMatchObject({ generation: held + 1n, lastError: '' });
  expect(h.logs.some((l) => /holds a newer generation/.test(l.message))).toBe(true);
});

it.each([
  ['2^64-1', 2n ** 64n - 1n],
  ['more than 24 h ahead of our clock', BigInt(now + 48 * 3_600_000)],
])('does not follow a generation of %s: shown, retried with back-off, and our generation is left alone', async (_what, held) => {
  const h = harness(() => ({ added: [], removed: [], generation: String(held), unchanged: true }));
  await h.settle();
  expect(h.pusher.pushStatus.lastError).toMatch(/more than 24 h ahead of our clock; not following it/);
  await h.afterBackoff();
  await h.afterBackoff();
  expect(h.generation()).toBe(BigInt(now));
  expect(h.manager.requests.every((r) => r.generation === String(now))).toBe(true);
  // Once the manager forgets the source (a restart), the set goes through.
  h.manager.answer(accept);
  await h.afterBackoff();
  expect(h.pusher.pushStatus).toMatchObject({ generation: BigInt(now), lastError: '' });
});

it('a manager that always holds one more than ours is followed once, then retried with back-off instead of chased', async () => {
  const h = harness((r) => ({ added: [], removed: [], generation: String(BigInt(r.generation) + 1n), unchanged: true }));
  await h.settle();
  await h.settle();
  expect(h.pusher.pushStatus.lastError).toMatch(/again holds a newer generation/);
  for (let i = 0; i < 5; i++) await h.afterBackoff();
  // At most one step ahead per back-off, never a spin.
  expect(h.manager.requests.length).toBeLessThan(20);
  expect(h.generation() - BigInt(now)).toBeLessThan(20n);
});

it.each<[string, (r: SyncEnginesRequest) => SyncEnginesResponse, RegExp]>([
  ['"unchanged" with an older generation', (r) => ({ added: [], removed: [], generation: String(BigInt(r.generation) - 5n), unchanged: true }), /answered "unchanged" holding generation \d+, older than ours/],
  ['"applied" with another generation', (r) => ({ added: [], removed: [], generation: String(BigInt(r.generation) + 5n), unchanged: false }), /applied the push but answered generation \d+, not ours/],
])('an answer of %s is a failed push, shown and retried', async (_what, answer, message) => {
  const h = harness(answer);
  await h.settle();
  expect(h.pusher.pushStatus.lastError).toMatch(message);
  const tries = h.manager.requests.length;
  await h.afterBackoff();
  expect(h.manager.requests.length).toBeGreaterThan(tries);
  expect(h.statusChanges()).toBeGreaterThan(1);
});
