import type { WatchResponse } from '@flotilla/proto/agent';
import { FakeClock } from '@flotilla/time';
import { Cluster, type ClusterOptions } from './cluster';
import { heartbeatIntervalToAsk, maxAskedHeartbeatIntervalMs } from './heartbeat-budget';
import { engineSnapshot, FakeAgents, recordingLogger } from './testing';

type Message = NonNullable<WatchResponse['message']>;
const heartbeat = (intervalMs: number): Message => ({ $case: 'heartbeat', value: { time: undefined, intervalMs } });

describe('heartbeatIntervalToAsk', () => {
  it("asks nothing while the agents' own interval keeps within the rate, or with the budget off", () => {
    expect(heartbeatIntervalToAsk(1, 2000, 1000)).toBeUndefined();
    expect(heartbeatIntervalToAsk(2000, 2000, 1000)).toBeUndefined();
    expect(heartbeatIntervalToAsk(0, 2000, 1000)).toBeUndefined();
    expect(heartbeatIntervalToAsk(10_000, 0, 1000)).toBeUndefined();
  });

  it('spreads more engines than the rate over a longer interval, rounded up to 100 ms and capped', () => {
    expect(heartbeatIntervalToAsk(2001, 2000, 1000)).toBe(1100);
    expect(heartbeatIntervalToAsk(5000, 2000, 1000)).toBe(2500);
    expect(heartbeatIntervalToAsk(10_000, 2000, 1000)).toBe(5000);
    expect(heartbeatIntervalToAsk(20_000, 1, 1000)).toBe(maxAskedHeartbeatIntervalMs);
    // Never below the agents' own interval.
    expect(heartbeatIntervalToAsk(3, 2, 5000)).toBeUndefined();
  });
});

describe('the heartbeat budget in the cluster', () => {
  function harness(options: Partial<ClusterOptions>) {
    const clock = new FakeClock();
    const agents = new FakeAgents();
    const cluster = new Cluster({ connector: agents, clock, logger: recordingLogger(), random: () => 0.5, ...options });
    return { clock, agents, cluster };
  }
  const addresses = (n: number) => Array.from({ length: n }, (_, i) => `10.0.${Math.floor(i / 250)}.${(i % 250) + 1}:4250`);

  it('asks every agent of a large discovery push for the interval the whole cluster needs', async () => {
    const { clock, agents, cluster } = harness({ heartbeatRate: 4 });
    cluster.start();
    cluster.syncEngines('file', '1', addresses(10));
    await clock.advance(1000);
    expect(agents.streams).toHaveLength(10);
    // 10 engines at 4 heartbeats a second together: 2.5 s each.
    expect(new Set(agents.streams.map((s) => s.options.heartbeatIntervalMs))).toEqual(new Set([2500]));
    await cluster.stop();
  });

  it("asks nothing of a cluster within the rate, or with the budget off: the agents' own intervals stand", async () => {
    for (const heartbeatRate of [2000, 0]) {
      const { clock, agents, cluster } = harness({ heartbeatRate });
      cluster.start();
      cluster.syncEngines('file', '1', addresses(10));
      await clock.advance(1000);
      expect(agents.streams.map((s) => s.options.heartbeatIntervalMs)).toEqual(Array(10).fill(undefined));
      await cluster.stop();
    }
  });

  it('by default takes 1,400 heartbeats a second: up to 1,400 engines keep their own interval, more are spread', async () => {
    for (const [engines, asked] of [
      [1400, undefined],
      [2800, 2000],
    ] as const) {
      const { clock, agents, cluster } = harness({});
      cluster.start();
      cluster.syncEngines('file', '1', Array.from({ length: engines }, (_, i) => `10.${i >> 16}.${(i >> 8) & 255}.${i & 255}:4250`));
      await clock.advance(1000);
      expect(agents.streams).toHaveLength(engines);
      expect(new Set(agents.streams.map((s) => s.options.heartbeatIntervalMs))).toEqual(new Set([asked]));
      await cluster.stop();
    }
  });

  it('judges a new stream by the interval it asked for until the first heartbeat says the agent’s own', async () => {
    const { clock, agents, cluster } = harness({ heartbeatRate: 1 });
    cluster.start();
    // The second engine makes two, at one heartbeat a second together: its stream asks for 2 s,
    // so 5 s of silence is within tolerance (3 × 2 s), though the default interval is 1 s.
    cluster.addEngine('10.0.0.1:4250');
    cluster.addEngine('10.0.0.2:4250');
    await clock.advance(0);
    const stream = agents.streams.find((s) => s.address === '10.0.0.2:4250');
    expect(stream?.options.heartbeatIntervalMs).toBe(2000);
    agents.snapshot('10.0.0.2:4250', engineSnapshot('E2', { name: 'node-2' }));
    await clock.advance(5000);
    expect(cluster.engines.get('E2')?.status).toBe('healthy');
    agents.send('10.0.0.2:4250', heartbeat(2000));
    await clock.advance(5000);
    expect(cluster.engines.get('E2')?.status).toBe('healthy');
    // Silent past 3 intervals of 2 s: unhealthy.
    await clock.advance(2000);
    expect(cluster.engines.get('E2')?.status).toBe('unhealthy');
    await cluster.stop();
  });
});
