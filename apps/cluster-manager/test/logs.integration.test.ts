import { DockerodeBackend, startAgent, type RunningAgent } from '@flotilla/engine-agent';
import { dial, silentLogger, streamOf, type Security } from '@flotilla/grpc';
import { ClusterServiceClient, ContainerLogsRequest, EngineStatus } from '@flotilla/proto/cluster';
import { cleanupAll, startEngines, waitFor, type TestEngines } from '@flotilla/testing';
import { parseManagerConfig } from '../src/config';
import { startManager, type RunningManager } from '../src/manager';
import { allEngines } from './support';

// Logs from a real Docker engine through a real agent (the dockerode back end) and the manager,
// in this process: a non-follow read streams the log as Docker sends it.

const insecure: Security = { kind: 'insecure' };
let engines: TestEngines;
let agent: RunningAgent;
let manager: RunningManager;
let client: ClusterServiceClient;

beforeAll(async () => {
  engines = await startEngines({ count: 1 });
  const backend = new DockerodeBackend(engines.engines[0].dockerHost);
  agent = await startAgent({ backend, listen: '127.0.0.1:0', heartbeatIntervalMs: 200, logger: silentLogger, security: insecure });
  const config = { ...parseManagerConfig(['--listen', '127.0.0.1:0', '--insecure', '--engine', `127.0.0.1:${agent.port}`], {}), security: insecure };
  manager = await startManager(config, silentLogger);
  client = dial(ClusterServiceClient, `127.0.0.1:${manager.port}`);
  await waitFor(async () => (await allEngines(client, { statuses: [EngineStatus.ENGINE_STATUS_HEALTHY] })).length === 1, { what: 'the engine to be healthy' });
});

afterAll(async () => {
  client?.close();
  await manager?.stop(1000);
  await agent?.stop(1000);
  await cleanupAll();
});

it('streams a big non-follow log in several messages as Docker sends it, not as one', async () => {
  // A TTY container's log comes back raw, not in Docker's frames: read whole, it would be one message.
  const logBytes = 3_000_000;
  await engines.docker('engine-1', ['run', '-t', '--network', 'none', '--name', 'big-log', 'busybox:local', 'sh', '-c', `head -c ${logBytes} /dev/zero | tr '\\0' x`]);
  await waitFor(() => manager.cluster.getEngine(`127.0.0.1:${agent.port}`).findContainer('big-log'), { what: 'the manager to see the container' });

  const read = async () => {
    const sizes: number[] = [];
    let wrong = 0;
    for await (const message of streamOf(client.containerLogs(ContainerLogsRequest.fromPartial({ container: 'big-log', follow: false })))) {
      sizes.push(message.data.length);
      for (const byte of message.data) if (byte !== 0x78) wrong++;
    }
    return { sizes, total: sizes.reduce((a, b) => a + b, 0), wrong };
  };
  // The engine may still be writing the last of the log down when `docker run` returns.
  const log = await waitFor(async () => {
    const r = await read();
    return r.total === logBytes ? r : undefined;
  }, { what: `all ${logBytes} bytes of the log through the manager` });
  expect(log.wrong).toBe(0);
  expect(log.sizes.length).toBeGreaterThan(1);
  expect(Math.max(...log.sizes)).toBeLessThan(logBytes);
});
