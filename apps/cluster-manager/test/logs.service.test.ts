import { hollowLogByte, HollowLogSource } from '@flotilla/engine-agent/testing';
import { ContainerLogsRequest } from '@flotilla/proto/cluster';
import { heldBackOrReadThrough, slowReader, waitFor } from '@flotilla/testing';
import { startInProcessCluster, type InProcessCluster } from './in-process';

// ContainerLogs end to end, in this process: client, manager, agent and a hollow engine whose
// container writes a big log, made only as it is read. A slow client of the manager must hold
// back the agent, and the agent the engine, so no hop buffers the log.

const MiB = 1024 * 1024;
const logBytes = 64 * MiB;

let c: InProcessCluster;
const sources: HollowLogSource[] = [];

beforeAll(async () => {
  c = await startInProcessCluster();
  await c.backend.createContainer({ name: 'chatty', Image: 'busybox:local', HostConfig: {} });
  c.backend.setContainerLogs('chatty', () => {
    const source = new HollowLogSource({ totalBytes: logBytes });
    sources.push(source);
    return source;
  });
  await waitFor(() => c.manager.cluster.getEngine(c.engineAddress).findContainer('chatty'), { what: 'the manager to see the container' });
});

afterAll(async () => {
  await c?.stop();
});

it('pulls a big log through the manager no faster than a paused client reads it, then relays all of it', async () => {
  const reader = slowReader(c.client.containerLogs(ContainerLogsRequest.fromPartial({ container: 'chatty', follow: false })), hollowLogByte);
  expect(await heldBackOrReadThrough(() => sources[0], logBytes)).toBe('held back');
  // The manager's relay and the agent each hold a few transport windows, not the log.
  expect(reader.bytesRead).toBeLessThan(MiB);
  expect(sources[0].bytesMade).toBeLessThan(8 * MiB);

  expect(await reader.readRest()).toBe(logBytes);
  expect(sources[0].bytesMade).toBe(logBytes);
});
