import { call } from '@flotilla/grpc';
import { FlotillaError } from '@flotilla/errors';
import { cleanupAll, startEngines, type TestEngines } from '@flotilla/testing';
import { status } from '@grpc/grpc-js';
import { startAgentProcess, WatchRecorder, type AgentProcess } from './support';

let engines: TestEngines;
let agent: AgentProcess;

beforeAll(async () => {
  engines = await startEngines({ count: 1 });
  agent = await startAgentProcess(engines.engines[0]);
});

afterAll(async () => {
  await agent?.close();
  await cleanupAll();
});

it('says the Docker engine is unreachable while it is down, then recovers with no event lost', async () => {
  const watch = new WatchRecorder(agent.client.watch({ heartbeatIntervalMs: 0 }));
  const first = await watch.next('snapshot');
  const before = await engines.docker('engine-1', ['create', '--network', 'none', '--name', 'before-outage', 'busybox:local', 'true']);
  await watch.next('container', (d) => d.container?.id === before);

  await engines.stopOne('engine-1');
  const down = await watch.next('state', (s) => !s.reachable);
  expect(down.error).not.toBe('');
  const downAt = watch.messages.length;
  // Heartbeats go on while the Docker engine is down: the agent itself is alive.
  await watch.next('heartbeat', () => true, downAt);
  // Calls fail UNAVAILABLE, not with a generic error.
  const failed = await call(agent.client, agent.client.inspectContainer, { id: before }).catch((err: FlotillaError) => err);
  expect(failed).toBeInstanceOf(FlotillaError);
  expect((failed as FlotillaError).code).toBe(status.UNAVAILABLE);

  await engines.startOne('engine-1');
  // Created as soon as the engine is back, possibly before the agent has reconnected.
  const during = await engines.docker('engine-1', ['create', '--network', 'none', '--name', 'after-outage', 'busybox:local', 'true']);
  const created = await watch.next('container', (d) => d.event?.action === 'create' && d.container?.id === during, downAt);
  expect(created.container?.names).toEqual(['after-outage']);
  // A fresh snapshot follows the outage (taken before or after that create, whichever came first).
  const snapshot = await watch.next('snapshot', () => true, downAt);
  expect(snapshot.engine?.id).toBe(first.engine?.id);
  expect(snapshot.containers.map((c) => c.id)).toContain(before);
  await watch.next('state', (s) => s.reachable, downAt);
  // The create from before the outage is not sent again.
  const beforeCreates = watch.messages.filter((m) => m.$case === 'container' && m.value.event?.action === 'create' && m.value.event.actorId === before);
  expect(beforeCreates).toHaveLength(1);
  watch.cancel();
});

it('reports a Docker engine killed with SIGKILL and recovers when it is back', async () => {
  const watch = new WatchRecorder(agent.client.watch({ heartbeatIntervalMs: 0 }));
  await watch.next('snapshot');
  await engines.killOne('engine-1');
  await watch.next('state', (s) => !s.reachable);
  const downAt = watch.messages.length;
  await engines.startOne('engine-1');
  await watch.next('snapshot', () => true, downAt);
  watch.cancel();
});
