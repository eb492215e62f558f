import { agentLinkKeepalive, clientKeepaliveOptions, defaultKeepalive, serverKeepaliveOptions, spreadAgentLinkKeepalive, spreadKeepalive } from './keepalive';

describe('keepalive options', () => {
  it('uses the defaults on both ends', () => {
    expect(defaultKeepalive).toEqual({ timeMs: 10_000, timeoutMs: 20_000 });
    expect(clientKeepaliveOptions()).toEqual({
      'grpc.keepalive_time_ms': 10_000,
      'grpc.keepalive_timeout_ms': 20_000,
      'grpc.keepalive_permit_without_calls': 1,
    });
    expect(serverKeepaliveOptions()).toMatchObject({
      'grpc.keepalive_time_ms': 10_000,
      'grpc.keepalive_timeout_ms': 20_000,
      'grpc.keepalive_permit_without_calls': 1,
      'grpc.http2.min_ping_interval_without_data_ms': 1_000,
    });
  });

  it('pings the links between the manager and its agents once a minute, and lets the manager ping them so', () => {
    expect(clientKeepaliveOptions(agentLinkKeepalive)['grpc.keepalive_time_ms']).toBe(60_000);
    const server = serverKeepaliveOptions(agentLinkKeepalive);
    expect(server['grpc.keepalive_time_ms']).toBe(60_000);
    expect(server['grpc.http2.min_ping_interval_without_data_ms']).toBeLessThanOrEqual(60_000);
  });

  it('overrides only what is given', () => {
    expect(clientKeepaliveOptions({ timeMs: 2_000 })).toMatchObject({ 'grpc.keepalive_time_ms': 2_000, 'grpc.keepalive_timeout_ms': 20_000 });
    expect(clientKeepaliveOptions({ timeoutMs: 500 })).toMatchObject({ 'grpc.keepalive_time_ms': 10_000, 'grpc.keepalive_timeout_ms': 500 });
  });

  it('lets clients ping at least as often as they are told to', () => {
    expect(serverKeepaliveOptions({ timeMs: 300 })['grpc.http2.min_ping_interval_without_data_ms']).toBe(300);
    expect(serverKeepaliveOptions({ timeMs: 60_000 })['grpc.http2.min_ping_interval_without_data_ms']).toBe(1_000);
  });

  it('does not change the shared defaults', () => {
    clientKeepaliveOptions({ timeMs: 1 });
    serverKeepaliveOptions({ timeoutMs: 1 });
    expect(defaultKeepalive).toEqual({ timeMs: 10_000, timeoutMs: 20_000 });
  });

  it("spreads a channel's ping interval over up to a quarter more, never less, and keeps the rest", () => {
    expect(spreadKeepalive(agentLinkKeepalive, () => 0)).toEqual(agentLinkKeepalive);
    expect(spreadKeepalive(agentLinkKeepalive, () => 0.5)).toEqual({ timeMs: 67_500, timeoutMs: 20_000 });
    expect(spreadKeepalive(agentLinkKeepalive, () => 0.999_999).timeMs).toBe(75_000);
    const intervals = new Set(Array.from({ length: 100 }, () => spreadKeepalive(agentLinkKeepalive).timeMs));
    expect(intervals.size).toBeGreaterThan(50);
    for (const ms of intervals) expect(ms >= 60_000 && ms <= 75_000).toBe(true);
    expect(agentLinkKeepalive).toEqual({ timeMs: 60_000, timeoutMs: 20_000 });
  });

  it('gives each end of an agent link an interval of its own, from the agent-link default up to a quarter more', () => {
    expect(spreadAgentLinkKeepalive({}, () => 0)).toEqual(agentLinkKeepalive);
    expect(spreadAgentLinkKeepalive({}, () => 1)).toEqual({ timeMs: 75_000, timeoutMs: agentLinkKeepalive.timeoutMs });
    const intervals = new Set(Array.from({ length: 50 }, () => spreadAgentLinkKeepalive().timeMs));
    expect(intervals.size).toBeGreaterThan(25);
    for (const timeMs of intervals) expect(timeMs).toBeGreaterThanOrEqual(agentLinkKeepalive.timeMs);
  });

  it('spreads a configured agent-link keepalive too, never below it, and keeps its timeout', () => {
    expect(spreadAgentLinkKeepalive({ timeMs: 2_000, timeoutMs: 500 }, () => 0.5)).toEqual({ timeMs: 2_250, timeoutMs: 500 });
    expect(spreadAgentLinkKeepalive({ timeMs: 2_000 }, () => 0).timeMs).toBe(2_000);
  });
});
