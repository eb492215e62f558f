import { FakeClock } from '@flotilla/time';
import { Cluster } from './cluster';
import { engineSnapshot, FakeAgents, recordingLogger } from './testing';

// An agent that restarts comes back at once, not when the reconnect back-off (grown to its cap
// while the agent was down) runs out: a probe that sees its address accept connections again, or
// discovery listing it again (with the next batch of dials), runs the waiting retry early.

const A = '10.0.0.1:4250';

function harness() {
  const clock = new FakeClock();
  const agents = new FakeAgents();
  const cluster = new Cluster({ connector: agents, clock, logger: recordingLogger(), random: () => 0.5, reconnect: { initialMs: 200, maxMs: 60_000 } });
  /** Lets the agent at A refuse `times` reconnects, each after its back-off: the back-off grows. */
  const refuse = async (times: number) => {
    for (let i = 0; i < times; i++) {
      agents.end(A);
      await clock.advance(60_000);
    }
    agents.end(A);
  };
  return { clock, agents, cluster, refuse };
}

describe('reconnecting an engine whose agent is back', () => {
  it('retries at once when the probe sees the address again, and aborts the probe once the stream opens', async () => {
    const { cluster, agents, refuse } = harness();
    cluster.addEngine(A);
    agents.snapshot(A, engineSnapshot('E1'));
    await refuse(6);
    const engine = cluster.findEngine(A)!;
    expect(engine.status).toBe('unhealthy');
    expect(agents.open(A)).toHaveLength(0);
    const probe = agents.probes.at(-1)!;
    expect(probe.signal.aborted).toBe(false);
    agents.comeBack(A);
    await Promise.resolve();
    // No time passed: the waiting retry ran now.
    expect(agents.open(A)).toHaveLength(1);
    expect(probe.signal.aborted).toBe(true);
    agents.snapshot(A, engineSnapshot('E1'));
    expect(engine.status).toBe('healthy');
  });

  it('starts the back-off over after such a retry', async () => {
    const { cluster, agents, clock, refuse } = harness();
    cluster.addEngine(A);
    agents.snapshot(A, engineSnapshot('E1'));
    await refuse(6);
    agents.comeBack(A);
    await Promise.resolve();
    // The agent goes again at once: the next retry waits the first back-off step, not the cap.
    agents.end(A);
    await clock.advance(300);
    expect(agents.open(A)).toHaveLength(1);
  });

  it('retries at once when discovery lists the address again, also in an unchanged re-push', async () => {
    const { cluster, agents, clock, refuse } = harness();
    cluster.syncEngines('nodes', 1n, [A], 'discovery');
    // Listed engines are dialled from a queue, on the next tick.
    await clock.advance(10);
    agents.snapshot(A, engineSnapshot('E1'));
    expect(cluster.findEngine(A)!.status).toBe('healthy');
    // Three refusals, not more: discovery's grace (5 min without a push) would remove the engine.
    await refuse(3);
    expect(agents.open(A)).toHaveLength(0);
    const result = cluster.syncEngines('nodes', 1n, [A], 'discovery');
    expect(result.unchanged).toBe(true);
    // Dialled with the next batch of the dial queue, long before the back-off (1.6 s by now) runs out.
    expect(agents.open(A)).toHaveLength(0);
    await clock.advance(10);
    expect(agents.open(A)).toHaveLength(1);
  });

  it('leaves a connected engine alone when discovery lists it again', async () => {
    const { cluster, agents } = harness();
    cluster.addEngine(A);
    agents.snapshot(A, engineSnapshot('E1'));
    const stream = agents.open(A)[0];
    cluster.syncEngines('nodes', 1n, [A], 'discovery');
    expect(agents.open(A)).toEqual([stream]);
  });
});
