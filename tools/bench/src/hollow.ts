// Hollow engines: the real engine-agent code (startAgent), many per process, each agent on its own
// 127.0.0.1 port (kubemark's hollow nodes), over HollowDockerBackend in memory, or (`dockerHosts`)
// over its real dockerode back end talking to hollow Docker engines (libs/hollow-docker) elsewhere.
import { createHash } from 'node:crypto';
import { DockerodeBackend, startAgent, type DockerBackend, type RunningAgent } from '@flotilla/engine-agent';
import { HollowDockerBackend } from '@flotilla/engine-agent/testing';
import { silentLogger } from '@flotilla/grpc';
import { testTls } from '@flotilla/testing';

export interface HollowOptions {
  /** Index of the first engine; IDs and names derive from the index, so they are distinct across processes. */
  first: number;
  count: number;
  /** Containers each engine holds before its agent starts (two in three running). */
  containers: number;
  heartbeatIntervalMs: number;
  /** Agents started at once. */
  concurrency?: number;
  /** Server keepalive of each agent; default: the agent's (libs/grpc defaultKeepalive, 10 s / 5 s). */
  keepalive?: { timeMs?: number; timeoutMs?: number };
  /** Fixed port of each engine, by position (engine `first + i` listens on `ports[i]`); missing or 0: a free port. */
  ports?: readonly number[];
  /**
   * The Docker API way: engine `first + i` is the hollow Docker engine at `dockerHosts[i]`
   * (`unix://...`, its containers made by that engine's own process), reached by the agent's real
   * dockerode back end.
   */
  dockerHosts?: readonly string[];
}

export interface HollowEngine {
  index: number;
  /** The in-memory back end; undefined the Docker API way (the agent's dockerode talks to `dockerHost`). */
  backend: HollowDockerBackend | undefined;
  docker: DockerBackend;
  agent: RunningAgent;
  address: string;
  containerIds: string[];
  containerNames: string[];
}

/** A Docker-style engine ID (12 groups of 4), distinct per index. */
export function hollowEngineId(index: number): string {
  const hex = createHash('sha256').update(`flotilla-bench-hollow-${index}`).digest('hex').toUpperCase().slice(0, 48);
  return hex.match(/.{4}/g)!.join(':');
}

export function hollowEngineName(index: number): string {
  return `hollow-${String(index).padStart(5, '0')}`;
}

const zones = ['a', 'b', 'c'];

/**
 * Events each hollow engine keeps for `since` replay. No bench takes an engine down, so no agent
 * resubscribes with `since` (one restarted in process starts without one): dockerd's 256 would be
 * history nobody reads, ~120 KB an engine (~470 bytes an event), which B7 at 5,000 engines (about
 * 2 events an engine a minute) fills for over two hours: its helpers' heap grew ~1 MiB a minute
 * per 1,000 engines though nothing leaked. 16 still replays a short gap; the 10 containers an
 * engine starts with (17 events) fill it at once.
 */
const eventBufferSize = 16;

async function startOne(index: number, o: HollowOptions): Promise<HollowEngine> {
  const dockerHost = o.dockerHosts?.[index - o.first];
  if (dockerHost) {
    const docker = new DockerodeBackend(dockerHost);
    const agent = await startHollowAgent(docker, o.ports?.[index - o.first] ?? 0, o);
    return { index, backend: undefined, docker, agent, address: `127.0.0.1:${agent.port}`, containerIds: [], containerNames: [] };
  }
  const backend = new HollowDockerBackend({
    id: hollowEngineId(index),
    name: hollowEngineName(index),
    cpus: 8,
    memoryBytes: 32 * 1024 ** 3,
    labels: { zone: zones[index % zones.length], 'flotilla.bench': 'hollow' },
    eventBufferSize,
  });
  const containerIds: string[] = [];
  const containerNames: string[] = [];
  for (let j = 0; j < o.containers; j++) {
    const name = `c${String(j).padStart(2, '0')}`;
    const { id } = await backend.createContainer({
      name,
      Image: 'busybox:local',
      Cmd: ['sleep', '3600'],
      Labels: { app: `app-${j % 5}` },
      HostConfig: { NanoCpus: 100_000_000, Memory: 64 * 1024 ** 2, NetworkMode: 'none' },
    });
    if (j % 3 !== 2) await backend.startContainer(id);
    containerIds.push(id);
    containerNames.push(name);
  }
  const agent = await startHollowAgent(backend, o.ports?.[index - o.first] ?? 0, o);
  return { index, backend, docker: backend, agent, address: `127.0.0.1:${agent.port}`, containerIds, containerNames };
}

function startHollowAgent(backend: DockerBackend, port: number, o: HollowOptions): Promise<RunningAgent> {
  return startAgent({ backend, listen: `127.0.0.1:${port}`, security: { kind: 'mtls', tls: testTls('agent') }, logger: silentLogger, heartbeatIntervalMs: o.heartbeatIntervalMs, keepalive: o.keepalive });
}

/** Stops an engine's agent and starts a new one over the same back end (its containers kept) on the same port. */
export async function restartHollowAgent(engine: HollowEngine, o: HollowOptions): Promise<void> {
  await engine.agent.stop(1000).catch(() => undefined);
  engine.agent = await startHollowAgent(engine.docker, engine.agent.port, o);
}

export async function startHollowEngines(o: HollowOptions): Promise<HollowEngine[]> {
  const out: HollowEngine[] = new Array(o.count);
  let next = 0;
  const worker = async () => {
    while (next < o.count) {
      const i = next++;
      out[i] = await startOne(o.first + i, o);
    }
  };
  await Promise.all(Array.from({ length: Math.min(o.concurrency ?? 32, o.count) }, worker));
  return out;
}

export async function stopHollowEngines(engines: HollowEngine[]): Promise<void> {
  await Promise.all(engines.map((e) => e?.agent.stop(1000).catch(() => undefined)));
}
