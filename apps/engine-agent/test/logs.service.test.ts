import { dial, silentLogger } from '@flotilla/grpc';
import { ContainerLogsRequest, EngineAgentServiceClient } from '@flotilla/proto/agent';
import { heldBackOrReadThrough, slowReader, waitFor } from '@flotilla/testing';
import { startAgent, type RunningAgent } from '../src';
import { HollowDockerBackend, hollowLogByte, HollowLogSource } from '../src/testing';

// An in-process agent over a hollow engine whose container writes a big log, made only as it is
// read: how much of it was made while the client read nothing is what the agent holds in memory.

const MiB = 1024 * 1024;
const logBytes = 64 * MiB;

let backend: HollowDockerBackend;
let agent: RunningAgent;
let client: EngineAgentServiceClient;
const sources: HollowLogSource[] = [];

beforeAll(async () => {
  backend = new HollowDockerBackend({ name: 'hollow-logs' });
  agent = await startAgent({ backend, listen: '127.0.0.1:0', heartbeatIntervalMs: 1000, logger: silentLogger, security: { kind: 'insecure' } });
  client = dial(EngineAgentServiceClient, `127.0.0.1:${agent.port}`);
  await backend.createContainer({ name: 'chatty', Image: 'busybox:local', HostConfig: {} });
  backend.setContainerLogs('chatty', () => {
    const source = new HollowLogSource({ totalBytes: logBytes });
    sources.push(source);
    return source;
  });
});

afterAll(async () => {
  client?.close();
  await agent?.stop(1000);
});

describe('ContainerLogs', () => {
  it('reads a big log from Docker no faster than a paused client takes it, then streams all of it once the client reads on', async () => {
    const before = sources.length;
    const reader = slowReader(client.containerLogs(ContainerLogsRequest.fromPartial({ id: 'chatty', follow: false })), hollowLogByte);
    const outcome = await heldBackOrReadThrough(() => sources[before], logBytes);
    expect(outcome).toBe('held back');
    const source = sources[before];
    // What the agent took from Docker is bounded by the transport's windows, not by the log.
    expect(reader.bytesRead).toBeLessThan(MiB);
    expect(source.bytesMade).toBeLessThan(4 * MiB);
    expect(source.pauses).toBeGreaterThan(0);

    expect(await reader.readRest()).toBe(logBytes);
    expect(source.bytesMade).toBe(logBytes);
  });

  it('stops reading from Docker when the client cancels', async () => {
    const before = sources.length;
    const stream = client.containerLogs(ContainerLogsRequest.fromPartial({ id: 'chatty', follow: true }));
    stream.on('error', () => undefined);
    slowReader(stream, hollowLogByte);
    expect(await heldBackOrReadThrough(() => sources[before], logBytes)).toBe('held back');
    stream.cancel();
    await waitFor(() => sources[before].destroyed, { what: 'the Docker log stream to be closed' });
    expect(sources[before].bytesMade).toBeLessThan(logBytes);
  });
});
