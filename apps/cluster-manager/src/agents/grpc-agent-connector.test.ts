import { agentLinkKeepalive } from '@flotilla/grpc';
import { agentLinkDialOptions } from './grpc-agent-connector';

describe('agentLinkDialOptions', () => {
  const insecure = { security: { kind: 'insecure' } as const };

  it('gives each agent link a keepalive interval of its own, from the agent-link default up to a quarter more', () => {
    expect(agentLinkDialOptions(insecure, () => 0).keepalive).toEqual(agentLinkKeepalive);
    expect(agentLinkDialOptions(insecure, () => 0.5).keepalive).toEqual({ timeMs: 67_500, timeoutMs: agentLinkKeepalive.timeoutMs });
    const intervals = new Set(Array.from({ length: 50 }, () => agentLinkDialOptions(insecure).keepalive?.timeMs));
    expect(intervals.size).toBeGreaterThan(25);
  });

  it('spreads a configured keepalive too, never below it', () => {
    expect(agentLinkDialOptions({ ...insecure, keepalive: { timeMs: 2_000 } }, () => 1).keepalive).toEqual({ timeMs: 2_500, timeoutMs: agentLinkKeepalive.timeoutMs });
    expect(agentLinkDialOptions({ ...insecure, keepalive: { timeMs: 2_000 } }, () => 0).keepalive?.timeMs).toBe(2_000);
  });

  it('keeps a subchannel pool of its own per link, and the short reconnect back-off', () => {
    expect(agentLinkDialOptions(insecure).channelOptions).toMatchObject({ 'grpc.use_local_subchannel_pool': 1, 'grpc.max_reconnect_backoff_ms': 1_000 });
  });
});
