import { agentLinkKeepalive } from '@flotilla/grpc';
import { agentServerKeepalive } from './agent';

describe('agentServerKeepalive', () => {
  it('gives each agent a ping interval of its own, from the agent-link default up to a quarter more', () => {
    expect(agentServerKeepalive({}, () => 0)).toEqual(agentLinkKeepalive);
    expect(agentServerKeepalive({}, () => 1)).toEqual({ timeMs: 75_000, timeoutMs: agentLinkKeepalive.timeoutMs });
    const intervals = new Set(Array.from({ length: 50 }, () => agentServerKeepalive().timeMs));
    expect(intervals.size).toBeGreaterThan(25);
    for (const timeMs of intervals) expect(timeMs).toBeGreaterThanOrEqual(agentLinkKeepalive.timeMs);
  });

  it('spreads a configured keepalive too, never below it, and keeps its timeout', () => {
    expect(agentServerKeepalive({ timeMs: 2_000, timeoutMs: 500 }, () => 0.5)).toEqual({ timeMs: 2_250, timeoutMs: 500 });
    expect(agentServerKeepalive({ timeMs: 2_000 }, () => 0).timeMs).toBe(2_000);
  });
});
