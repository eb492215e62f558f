import { EngineStatus } from '@flotilla/proto/cluster';
import { cleanupAll, establishedTcpConnections, freePort, startEngines, waitFor, type RunningService, type TestEngines } from '@flotilla/testing';
import { engineIn, startAgentProcess, startManagerProcess, type ManagerProcess } from './support';

// Found by the churn bench (B7): every agent restart left the manager holding one more open
// connection to that agent. grpc-js can finish a connection attempt after its channel was closed,
// and the manager closed and re-dialled the channel on every failed reconnect. Restart an agent
// several times while the manager retries fast: the manager must end with one connection to it.

const restarts = 5;

let engines: TestEngines;
let manager: ManagerProcess;
let agent: RunningService;
let port: number;

beforeAll(async () => {
  engines = await startEngines({ count: 1 });
  port = await freePort();
  agent = await startAgentProcess(engines.engines[0], port);
  manager = await startManagerProcess(['--engine', `127.0.0.1:${port}`, '--reconnect-min', '50ms', '--reconnect-max', '200ms']);
  await engineIn(manager.client, `127.0.0.1:${port}`, EngineStatus.ENGINE_STATUS_HEALTHY);
});

afterAll(async () => {
  await manager?.close();
  await cleanupAll();
});

it(`holds one connection to an agent after ${restarts} restarts of it`, async () => {
  const address = `127.0.0.1:${port}`;
  expect(establishedTcpConnections(manager.process.pid, port)).toBe(1);
  for (let i = 1; i <= restarts; i++) {
    agent.process.signal('SIGKILL');
    await engineIn(manager.client, address, EngineStatus.ENGINE_STATUS_UNHEALTHY, `after kill -9 number ${i}`);
    // The manager retries every 50–200 ms while the new agent process starts (about a second).
    agent = await startAgentProcess(engines.engines[0], port);
    await engineIn(manager.client, address, EngineStatus.ENGINE_STATUS_HEALTHY, `after restart number ${i}`);
  }
  await waitFor(() => establishedTcpConnections(manager.process.pid, port) === 1, {
    what: 'the manager to hold exactly one connection to the agent',
    timeoutMs: 20_000,
  });
});

it('brings an engine back as soon as its restarted agent accepts connections, not when a long reconnect back-off runs out', async () => {
  const address = `127.0.0.1:${port}`;
  // A second manager whose reconnect back-off (5 to 10 minutes) is far longer than this test's deadline.
  const patient = await startManagerProcess(['--engine', address, '--reconnect-min', '5m', '--reconnect-max', '10m']);
  try {
    await engineIn(patient.client, address, EngineStatus.ENGINE_STATUS_HEALTHY);
    agent.process.signal('SIGKILL');
    await engineIn(patient.client, address, EngineStatus.ENGINE_STATUS_UNHEALTHY, 'after kill -9 of its agent');
    agent = await startAgentProcess(engines.engines[0], port);
    // Healthy again within engineIn's deadline: only the probe of the address can have retried it.
    await engineIn(patient.client, address, EngineStatus.ENGINE_STATUS_HEALTHY, 'after the agent is back, before the 5-minute back-off');
    await patient.process.waitForLine((line) => line.includes('"retrying an engine now"') && line.includes('accepts connections again'));
  } finally {
    await patient.close();
  }
});
