import { UnavailableError } from '@flotilla/errors';
import { FakeClock } from '@flotilla/time';
import { HollowDockerBackend } from '../testing';
import { EngineMonitor, type WatchMessage } from './engine-monitor';
import { reconcileAction } from './reconcile-diff';

const reconcileMs = 30_000;
const create = { Image: 'busybox:local', HostConfig: {} };

function setup() {
  const clock = new FakeClock();
  const backend = new HollowDockerBackend({ clock, name: 'e1' });
  // Heartbeats far apart, so a test's messages are the reconcile's.
  const monitor = new EngineMonitor(backend, { clock, heartbeatIntervalMs: 600_000, reconcileIntervalMs: reconcileMs, reconnect: { initialMs: 100, maxMs: 400 }, random: () => 0.5 });
  const messages: WatchMessage[] = [];
  monitor.watch({ send: (m) => messages.push(m) });
  /** Makes the engine's next event vanish, as one lost between Docker and the agent. */
  const loseNextEvent = () => jest.spyOn(backend, 'emit').mockImplementationOnce(() => undefined);
  const deltas = () => messages.filter((m) => m.$case === 'container' || m.$case === 'image' || m.$case === 'network' || m.$case === 'volume');
  return { clock, backend, monitor, messages, loseNextEvent, deltas };
}

describe('EngineMonitor reconcile', () => {
  let monitor: EngineMonitor | undefined;
  afterEach(async () => {
    jest.restoreAllMocks();
    await monitor?.stop();
  });

  it('corrects a container removed behind its back (event lost) with a removed delta at the next reconcile, and counts it', async () => {
    const t = setup();
    monitor = t.monitor;
    const { id } = await t.backend.createContainer({ ...create, name: 'doomed' });
    t.monitor.start();
    await t.clock.advance(0);
    t.loseNextEvent();
    await t.backend.removeContainer(id, true);
    await t.clock.advance(0);
    expect(t.deltas()).toEqual([]);
    expect(t.monitor.snapshot().containers.map((c) => c.id)).toEqual([id]);
    await t.clock.advance(reconcileMs);
    expect(t.deltas()).toEqual([{ $case: 'container', value: { event: expect.objectContaining({ type: 'container', action: reconcileAction, actorId: id }), container: undefined, removed: true } }]);
    expect(t.monitor.reconcileCorrections).toBe(1);
    expect(t.monitor.snapshot().containers).toEqual([]);
    // The running total rides on the heartbeat.
    await t.clock.advance(600_000);
    const beat = t.messages.filter((m) => m.$case === 'heartbeat').at(-1);
    expect(beat?.$case === 'heartbeat' && beat.value.reconcileCorrections).toBe('1');
  });

  it('adds a container created without an event at the next reconcile', async () => {
    const t = setup();
    monitor = t.monitor;
    t.monitor.start();
    await t.clock.advance(0);
    t.loseNextEvent();
    const { id } = await t.backend.createContainer({ ...create, name: 'sneaky' });
    await t.clock.advance(0);
    expect(t.deltas()).toEqual([]);
    await t.clock.advance(reconcileMs);
    const deltas = t.deltas();
    expect(deltas).toHaveLength(1);
    expect(deltas[0].$case === 'container' && deltas[0].value).toMatchObject({ removed: false, container: { id }, event: { action: reconcileAction, actorId: id } });
    expect(t.monitor.reconcileCorrections).toBe(1);
    expect(t.monitor.snapshot().containers.map((c) => c.id)).toEqual([id]);
  });

  it('sends nothing and inspects nothing when nothing changed', async () => {
    const t = setup();
    monitor = t.monitor;
    await t.backend.createContainer({ ...create, name: 'a' });
    const { id: b } = await t.backend.createContainer({ ...create, name: 'b' });
    await t.backend.startContainer(b);
    t.monitor.start();
    await t.clock.advance(0);
    const inspect = jest.spyOn(t.backend, 'inspectContainer');
    const list = jest.spyOn(t.backend, 'listContainerIds');
    await t.clock.advance(3 * reconcileMs);
    expect(list).toHaveBeenCalledTimes(3);
    expect(t.monitor.reconcilesCompleted).toBe(3);
    expect(inspect).not.toHaveBeenCalled();
    expect(t.deltas()).toEqual([]);
    expect(t.monitor.reconcileCorrections).toBe(0);
  });

  it('tries a failed reconcile again at the next interval', async () => {
    const t = setup();
    monitor = t.monitor;
    const { id } = await t.backend.createContainer({ ...create, name: 'doomed' });
    t.monitor.start();
    await t.clock.advance(0);
    t.loseNextEvent();
    await t.backend.removeContainer(id, true);
    const list = jest.spyOn(t.backend, 'listContainerIds').mockRejectedValueOnce(new UnavailableError('Docker engine at hollow://e1 is unreachable: connect ECONNREFUSED'));
    await t.clock.advance(reconcileMs);
    expect(t.monitor.reconcileFailures).toBe(1);
    expect(t.deltas()).toEqual([]);
    expect(t.monitor.reconcileCorrections).toBe(0);
    await t.clock.advance(reconcileMs);
    expect(list).toHaveBeenCalledTimes(2);
    expect(t.deltas().map((m) => m.$case === 'container' && m.value.removed)).toEqual([true]);
    expect(t.monitor.reconcileCorrections).toBe(1);
  });

  it('corrects a container whose event could not be applied when the fallback snapshot failed too', async () => {
    const t = setup();
    monitor = t.monitor;
    const { id } = await t.backend.createContainer({ ...create, name: 'c' });
    t.monitor.start();
    await t.clock.advance(0);
    const down = new UnavailableError('Docker engine at hollow://e1 is unreachable: connect ECONNREFUSED');
    jest.spyOn(t.backend, 'inspectContainer').mockRejectedValueOnce(down);
    jest.spyOn(t.backend, 'info').mockRejectedValueOnce(down);
    await t.backend.startContainer(id);
    await t.clock.advance(0);
    // The start was not applied and the snapshot meant to make up for it failed: the model is stale.
    expect(t.monitor.snapshot().containers[0].state).toBe('created');
    expect(t.deltas()).toEqual([]);
    await t.clock.advance(reconcileMs);
    const deltas = t.deltas();
    expect(deltas).toHaveLength(1);
    expect(deltas[0].$case === 'container' && deltas[0].value.container?.state).toBe('running');
    expect(t.monitor.reconcileCorrections).toBe(1);
  });

  it('does not reconcile with an interval of 0', async () => {
    const clock = new FakeClock();
    const backend = new HollowDockerBackend({ clock, name: 'e1' });
    monitor = new EngineMonitor(backend, { clock, heartbeatIntervalMs: 1000, reconcileIntervalMs: 0 });
    monitor.start();
    await clock.advance(0);
    const list = jest.spyOn(backend, 'listContainerIds');
    await clock.advance(5 * reconcileMs);
    expect(list).not.toHaveBeenCalled();
  });
});
