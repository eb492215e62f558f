import { DockerodeBackend, startAgent, type RunningAgent } from '@flotilla/engine-agent';
import { silentLogger } from '@flotilla/grpc';
import { UnavailableError } from '@flotilla/errors';
import { EngineStatus } from '@flotilla/proto/cluster';
import { cleanupAll, startEngines, testTls, waitFor, type TestEngines } from '@flotilla/testing';
import { ClientReason, ClusterClient } from './index';
import { startCutProxy, startTestManager, type CutProxy, type TestManager } from './test-support';

// Creates through the client against a real manager and a real Docker engine (its agent in this
// process), with mutual TLS. The connection to the manager is cut after it created the container,
// so the answer is lost: without a request_id the create must not be sent again; with one it is,
// and the retry answers with the container the first try made.

let engines: TestEngines;
let agent: RunningAgent;
let main: TestManager;
let proxy: CutProxy;
const clients: ClusterClient[] = [];

function client(): ClusterClient {
  const c = new ClusterClient({ managers: [proxy.address, main.address], tls: testTls('operator'), retry: { initialBackoffMs: 20 } });
  clients.push(c);
  return c;
}

/** The engine's containers with a label, as Docker itself lists them. */
async function onEngine(label: string): Promise<string[]> {
  const out = await engines.docker('engine-1', ['ps', '-aq', '--filter', `label=${label}`]);
  return out.split('\n').filter(Boolean);
}

beforeAll(async () => {
  engines = await startEngines({ count: 1 });
  agent = await startAgent({ backend: new DockerodeBackend(engines.engines[0].dockerHost), listen: '127.0.0.1:0', heartbeatIntervalMs: 200, logger: silentLogger, security: { kind: 'mtls', tls: testTls('agent') } });
  main = await startTestManager(['--engine', `127.0.0.1:${agent.port}`]);
  proxy = await startCutProxy(main.address);
  const c = client();
  await waitFor(async () => (await c.getEngine({ engine: `127.0.0.1:${agent.port}` })).engine?.status === EngineStatus.ENGINE_STATUS_HEALTHY, { what: 'the engine to be healthy' });
});

afterAll(async () => {
  for (const c of clients) c.close();
  await proxy?.close();
  await main?.stop();
  await agent?.stop(1000);
  await cleanupAll();
});

/** Sends a create through the armed proxy and cuts the connection once the manager has answered it. */
async function createWithLostAnswer(c: ClusterClient, label: string, requestId: string) {
  await c.getInfo();
  expect(c.activeManager).toBe(proxy.address);
  const before = main.calls('CreateContainer').length;
  proxy.arm();
  const creating = c.createContainer({ spec: { image: 'busybox:local', command: ['sleep', '300'], networkMode: 'none', labels: { [label]: 'yes' } }, start: true, requestId });
  await waitFor(() => main.calls('CreateContainer').length > before, { what: 'the manager to answer the create' });
  proxy.cut();
  return { creating, before };
}

it('a create without request_id whose answer was lost is not sent again', async () => {
  const c = client();
  const { creating, before } = await createWithLostAnswer(c, 'client-test-no-id', '');
  const err = await creating.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(UnavailableError);
  expect((err as UnavailableError).reason).toBe(ClientReason.MANAGER_CONNECTION_LOST);
  expect(main.calls('CreateContainer').length).toBe(before + 1);
  expect(await onEngine('client-test-no-id')).toHaveLength(1);
});

it('a create with request_id whose answer was lost is sent again and answers with the same container', async () => {
  const c = client();
  const { creating, before } = await createWithLostAnswer(c, 'client-test-with-id', 'client-test-create-1');
  const created = await creating;
  expect(created.foundByRequestId).toBe(true);
  expect(main.calls('CreateContainer').length).toBe(before + 2);
  const ids = await onEngine('client-test-with-id');
  expect(ids).toHaveLength(1);
  expect(created.id.startsWith(ids[0])).toBe(true);
});

it('containers() walks every page; start and stop are idempotent; logs stream to their end', async () => {
  const c = client();
  const made: string[] = [];
  for (let i = 0; i < 3; i++) made.push((await c.createContainer({ spec: { image: 'busybox:local', command: ['sh', '-c', `echo hello-${i}`], networkMode: 'none', labels: { 'client-test-pages': 'yes' } }, requestId: `client-test-page-${i}` })).id);
  const listed: string[] = [];
  for await (const item of c.containers({ all: true, labels: { 'client-test-pages': 'yes' }, pageSize: 1 })) listed.push(item.container!.id);
  expect(listed.sort()).toEqual([...made].sort());

  await c.startContainer({ container: made[0] });
  await waitFor(async () => (await c.inspectContainer({ container: made[0] })).container?.container?.state === 'exited', { what: 'the container to exit' });
  expect((await c.stopContainer({ container: made[0] })).alreadyStopped).toBe(true);
  let output = '';
  for await (const chunk of c.containerLogs({ container: made[0] })) output += Buffer.from(chunk.data).toString();
  expect(output).toContain('hello-0');
});
