/** The longest interval a watcher may ask an agent for (WatchRequest.heartbeat_interval_ms). */
export const maxAskedHeartbeatIntervalMs = 600_000;

/**
 * Heartbeats a second the manager takes from all its engines together by default (--heartbeat-rate).
 * B2 at 10,000 idle engines (tools/bench/README.md): at 2,000 a second (5 s each) the manager spent
 * 10–15 % of a core on liveness, at 1,400 (7.2 s) 8.6–10.8 %, about the 10 % B2 allows. A
 * frozen agent is then found after 21–29 s at 10,000 engines (3 intervals), 11–14 s at 5,000, and
 * after 3–4 s up to 1,400 engines, whose agents keep their own 1 s.
 */
export const defaultHeartbeatRate = 1_400;

/**
 * The heartbeat interval the manager asks of an agent as its stream opens, so that all its engines
 * together send at most `ratePerSecond` heartbeats a second (as SwarmKit's dispatcher sets its
 * nodes' heartbeat period): every heartbeat costs the manager a TLS record, an HTTP/2 frame and a
 * decode, 50–70 µs of a core (B2: 10,000 engines at 1 s took 48–50 % of a core for liveness alone).
 * Undefined while the agents' own interval (`baseIntervalMs`, 1 s by default) keeps within the
 * rate: a cluster of up to `ratePerSecond` engines keeps 1 s heartbeats and its failure detection.
 * Rounded up to 100 ms; 0 turns the budget off.
 */
export function heartbeatIntervalToAsk(engines: number, ratePerSecond: number, baseIntervalMs: number): number | undefined {
  if (ratePerSecond <= 0 || engines <= 0) return undefined;
  const spread = Math.ceil((engines * 1000) / ratePerSecond / 100) * 100;
  if (spread <= baseIntervalMs) return undefined;
  return Math.min(spread, maxAskedHeartbeatIntervalMs);
}
