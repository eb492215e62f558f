import type { ChannelOptions } from '@grpc/grpc-js';

/** HTTP/2 keepalive, on both ends, so a half-open connection under a long stream is noticed. */
export interface Keepalive {
  /** How often to ping when the connection is idle. */
  timeMs: number;
  /** How long to wait for the ping's answer before closing the connection. */
  timeoutMs: number;
}

/**
 * A 20 s answer window: a peer busy for seconds (a manager connecting thousands of engines) must
 * not be cut off for it; silence on a stream is caught sooner by the heartbeats above gRPC.
 */
export const defaultKeepalive: Keepalive = { timeMs: 10_000, timeoutMs: 20_000 };

/**
 * Between the manager and its engine-agents: the Watch stream's heartbeats already tell a silent
 * agent within a few seconds, so HTTP/2 pings only have to find a half-open connection under an
 * idle link, and a minute does. At 10 s, both ends pinging, 10,000 engines cost the manager 2,000
 * ping frames a second, as many as their heartbeats (B2, tools/bench).
 */
export const agentLinkKeepalive: Keepalive = { timeMs: 60_000, timeoutMs: 20_000 };

/**
 * `keepalive` with its ping interval spread over up to +25 % for one channel (never shorter: a
 * server that allows pings as often as `timeMs` must not see them sooner). Channels whose timers are
 * armed in the same turn of the event loop ping together from then on, and every ping answer
 * re-arms the timer: after any pause of the manager's loop, its thousands of agent links had
 * collected into one burst of pings a minute (B2 at 10,000 engines: ≈ 0.3 s of the main thread on
 * pings in one go, tools/bench/README.md). With an interval of its own, each link drifts apart
 * from the others again.
 */
export function spreadKeepalive(keepalive: Keepalive, random: () => number = Math.random): Keepalive {
  return { ...keepalive, timeMs: Math.round(keepalive.timeMs * (1 + 0.25 * random())) };
}

/**
 * The keepalive of one end of one agent link: agentLinkKeepalive with what was configured, spread
 * (spreadKeepalive). The manager's channels and the agents' servers both use it, since grpc-js
 * re-arms the ping timer on the answer on either end.
 */
export function spreadAgentLinkKeepalive(configured: Partial<Keepalive> = {}, random: () => number = Math.random): Keepalive {
  return spreadKeepalive({ ...agentLinkKeepalive, ...configured }, random);
}

/**
 * A server closes (GOAWAY) a connection that has carried no call for this long. grpc-js can finish
 * a connection attempt after its channel was closed, and such an abandoned connection would live
 * as long as the server; a live client simply reconnects on its next call.
 */
export const defaultMaxConnectionIdleMs = 5 * 60_000;

export function serverKeepaliveOptions(keepalive: Partial<Keepalive> = {}, maxConnectionIdleMs = defaultMaxConnectionIdleMs): ChannelOptions {
  const { timeMs, timeoutMs } = { ...defaultKeepalive, ...keepalive };
  return {
    'grpc.max_connection_idle_ms': maxConnectionIdleMs,
    'grpc.keepalive_time_ms': timeMs,
    'grpc.keepalive_timeout_ms': timeoutMs,
    'grpc.keepalive_permit_without_calls': 1,
    // Clients ping as often as they are told to; never answer their pings with GOAWAY.
    'grpc.http2.min_ping_interval_without_data_ms': Math.min(timeMs, 1_000),
    'grpc.max_connection_age_grace_ms': 5_000,
  };
}

export function clientKeepaliveOptions(keepalive: Partial<Keepalive> = {}): ChannelOptions {
  const { timeMs, timeoutMs } = { ...defaultKeepalive, ...keepalive };
  return {
    'grpc.keepalive_time_ms': timeMs,
    'grpc.keepalive_timeout_ms': timeoutMs,
    'grpc.keepalive_permit_without_calls': 1,
  };
}
