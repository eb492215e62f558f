import { Cluster } from '@flotilla/cluster';
import { FakeAgents, recordingLogger } from '@flotilla/cluster/testing';
import type { Container } from '@flotilla/proto';
import { WatchResponse } from '@flotilla/proto/agent';
import { cleanupAll, startEngines, waitFor, type TestEngines } from '@flotilla/testing';
import { FakeClock } from '@flotilla/time';
import Docker from 'dockerode';
import { startAgentProcess, WatchRecorder, type AgentProcess } from './support';

// One real engine whose containers carry far more labels than a Watch message may hold; they are
// created straight through the engine's socket, not through Flotilla.
let engines: TestEngines;
let agent: AgentProcess;
let docker: Docker;

const MiB = 1024 * 1024;
const truncatedLabel = 'com.flotilla.truncated';

/** 512 KiB of labels: 64 labels of 8 KiB, and one small label the cut must keep. */
const bigLabels: Record<string, string> = { 'test.owner': 'big-snapshot' };
for (let i = 0; i < 64; i++) bigLabels[`test.blob.${String(i).padStart(2, '0')}`] = String.fromCharCode(97 + (i % 26)).repeat(8 * 1024);

beforeAll(async () => {
  engines = await startEngines({ count: 1 });
  docker = new Docker({ socketPath: engines.engines[0].socket });
  agent = await startAgentProcess(engines.engines[0]);
});

afterAll(async () => {
  await agent?.close();
  await cleanupAll();
});

async function createBig(prefix: string, count: number): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < count; i++) {
    const c = await docker.createContainer({ name: `${prefix}-${i}`, Image: 'busybox:local', Cmd: ['true'], Labels: bigLabels, HostConfig: { NetworkMode: 'none' } });
    ids.push(c.id);
  }
  const inspected = await docker.getContainer(ids[0]).inspect();
  expect(Object.values(inspected.Config.Labels).reduce((n, v) => n + v.length, 0)).toBeGreaterThanOrEqual(512 * 1024);
  return ids;
}

/** Waits for a whole snapshot at the start of a Watch stream: the Snapshot and every part up to the one without `more`. */
async function wholeSnapshot(watch: WatchRecorder): Promise<WatchResponse[]> {
  return waitFor(
    () => {
      const end = watch.responses.findIndex((r) => (r.message?.$case === 'snapshot' || r.message?.$case === 'snapshotPart') && !r.message.value.more);
      return end >= 0 ? watch.responses.slice(0, end + 1) : undefined;
    },
    { what: 'a whole snapshot on the Watch stream', timeoutMs: 60_000 },
  );
}

function containersOf(responses: WatchResponse[]): Container[] {
  return responses.flatMap((r) => (r.message?.$case === 'snapshot' || r.message?.$case === 'snapshotPart' ? r.message.value.containers : []));
}

/**
 * Waits until the agent reports every container (in a snapshot or as a delta): its model follows
 * Docker's events, so a container created a moment ago may not be in a snapshot taken now.
 */
async function untilAgentKnows(ids: string[]): Promise<void> {
  const watch = new WatchRecorder(agent.client.watch({ heartbeatIntervalMs: 0 }));
  try {
    await waitFor(
      () => {
        const seen = new Set(containersOf(watch.responses).map((c) => c.id));
        for (const r of watch.responses) if (r.message?.$case === 'container' && r.message.value.container) seen.add(r.message.value.container.id);
        return ids.every((id) => seen.has(id));
      },
      { what: 'the agent to report every container created', timeoutMs: 60_000 },
    );
  } finally {
    watch.cancel();
  }
}

/** Checks the snapshot's messages follow the contract: a Snapshot, then parts, consecutive, each under 1 MiB. */
function checkParts(responses: WatchResponse[]): void {
  expect(responses[0].message?.$case).toBe('snapshot');
  responses.forEach((r, i) => {
    expect(r.sequence).toBe(String(i + 1));
    if (i > 0) expect(r.message?.$case).toBe('snapshotPart');
    const m = r.message;
    if (m?.$case === 'snapshot' || m?.$case === 'snapshotPart') expect(m.value.more).toBe(i < responses.length - 1);
    expect(WatchResponse.encode(r).finish().length).toBeLessThan(MiB);
  });
}

/** Replays the responses into a Cluster, as the manager would get them, and returns its engine. */
function managerView(responses: WatchResponse[]) {
  const agents = new FakeAgents();
  const logger = recordingLogger();
  const cluster = new Cluster({ connector: agents, clock: new FakeClock(), logger });
  cluster.addEngine(agent.address);
  for (const r of responses) agents.sendResponse(agent.address, r);
  const engine = cluster.findEngine(agent.address);
  cluster.stop();
  return { engine, warnings: logger.lines.filter((l) => l.level !== 'debug' && l.level !== 'info') };
}

it('an engine with 7 containers of 512 KiB of labels each gives a complete snapshot, every message under 1 MiB, that the manager accepts', async () => {
  const ids = await createBig('labels', 7);
  await untilAgentKnows(ids);
  const watch = new WatchRecorder(agent.client.watch({ heartbeatIntervalMs: 0 }));
  const snapshot = await wholeSnapshot(watch);
  watch.cancel();
  checkParts(snapshot);
  console.log(`7 containers with 512 KiB of labels: snapshot in ${snapshot.length} message(s) of ${snapshot.map((r) => WatchResponse.encode(r).finish().length).join(', ')} bytes`);

  const byId = new Map(containersOf(snapshot).map((c) => [c.id, c]));
  for (const id of ids) {
    const c = byId.get(id);
    expect(c).toBeDefined();
    // Kept, with its labels cut to the cap and marked, the small label among those kept.
    expect(c!.labels).toMatchObject({ 'test.owner': 'big-snapshot', [truncatedLabel]: 'labels' });
    expect(Object.keys(c!.labels).length).toBeGreaterThan(2);
  }

  const { engine, warnings } = managerView(snapshot);
  expect(engine?.status).toBe('healthy');
  expect(engine?.lastError).toBe('');
  for (const id of ids) expect(engine?.containers.get(id)?.labels['test.owner']).toBe('big-snapshot');
  expect(warnings).toEqual([]);
});

it('a snapshot too large for one message comes as a Snapshot and parts that the manager assembles whole', async () => {
  // With the labels cut to 64 KiB, 7 containers fit one message: enough more make it split.
  const more = await createBig('split', 13);
  await untilAgentKnows(more);
  const watch = new WatchRecorder(agent.client.watch({ heartbeatIntervalMs: 0 }));
  const responses = await wholeSnapshot(watch);
  watch.cancel();
  checkParts(responses);
  expect(responses.length).toBeGreaterThan(1);
  console.log(`20 containers with 512 KiB of labels: snapshot in ${responses.length} messages of ${responses.map((r) => WatchResponse.encode(r).finish().length).join(', ')} bytes`);
  const ids = containersOf(responses).map((c) => c.id);
  expect(new Set(ids).size).toBe(ids.length);
  for (const id of more) expect(ids).toContain(id);

  const { engine, warnings } = managerView(responses);
  expect(engine?.status).toBe('healthy');
  expect(engine?.containers.size).toBe(ids.length);
  for (const id of more) expect(engine?.containers.has(id)).toBe(true);
  expect(warnings).toEqual([]);
});

it('a container created with 512 KiB of labels arrives as a delta under 1 MiB, its event attributes cut too', async () => {
  const watch = new WatchRecorder(agent.client.watch({ heartbeatIntervalMs: 0 }));
  await wholeSnapshot(watch);
  const [id] = await createBig('delta', 1);
  const created = await watch.next('container', (d) => d.event?.action === 'create' && d.container?.id === id);
  watch.cancel();
  expect(created.container?.labels).toMatchObject({ 'test.owner': 'big-snapshot', [truncatedLabel]: 'labels' });
  expect(created.event?.actorAttributes).toMatchObject({ 'test.owner': 'big-snapshot', [truncatedLabel]: 'attributes' });
  const response = watch.responses.find((r) => r.message?.$case === 'container' && r.message.value.container?.id === id)!;
  expect(WatchResponse.encode(response).finish().length).toBeLessThan(MiB);
});
