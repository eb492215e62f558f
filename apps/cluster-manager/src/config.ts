import { buildInfo, effectiveFlags, flag, helpText, parseFlags, callerLimitFlags, callerLimitsFrom, metricsAddressFrom, metricsFlags, securityFlags, securityFrom } from '@flotilla/config';
import { isLogLevel, logLevels, parseListenAddress, type LogLevel, type CallerLimitsOptions, type Security } from '@flotilla/grpc';
import { InvalidArgumentError } from '@flotilla/errors';
import { defaultHeartbeatRate, defaultMaxQueuedEvents, engineLimitDefaults, normaliseEngineAddress } from '@flotilla/cluster';
import { loadPolicy, policyFlags, type ContainerPolicy } from '@flotilla/policy';
import { filterNames, filtersByName, strategyNames } from '@flotilla/scheduler';

export const strategies = strategyNames;
export const defaultFilters = [...filterNames];

export const managerFlags = {
  listen: flag('string', { env: 'FLOTILLA_MANAGER_LISTEN', default: '127.0.0.1:4240', placeholder: 'HOST:PORT', description: 'Where the manager serves gRPC; port 0 picks a free port (printed in the "listening" log line).' }),
  ...securityFlags('FLOTILLA_MANAGER'),
  ...metricsFlags('FLOTILLA_MANAGER'),
  ...callerLimitFlags('FLOTILLA_MANAGER'),
  ...policyFlags('FLOTILLA_MANAGER'),
  engine: flag('list', { env: 'FLOTILLA_ENGINES', default: [] as string[], placeholder: 'HOST:PORT,...', description: 'Engine-agent addresses to add at start (discovery adds more).' }),
  'heartbeat-tolerance': flag('integer', { env: 'FLOTILLA_HEARTBEAT_TOLERANCE', default: 3, min: 1, max: 100, description: 'Heartbeat intervals an engine may miss before it is unhealthy.' }),
  'heartbeat-rate': flag('integer', {
    env: 'FLOTILLA_HEARTBEAT_RATE',
    default: defaultHeartbeatRate,
    min: 0,
    max: 1_000_000,
    description: "Heartbeats a second the manager takes from all its engines together: with more engines than this, each agent's stream, as it opens, asks for a longer interval than the agent's own (engines ÷ rate seconds; streams opened while the cluster was smaller keep theirs until they reopen), which slows the detection of a frozen agent in proportion. 0: the agents' own intervals.",
  }),
  'flap-window': flag('duration', { env: 'FLOTILLA_FLAP_WINDOW', default: 5 * 60_000, min: 1000, description: "How long an engine's failures (becoming unhealthy) count against its health; see --flap-threshold." }),
  'flap-threshold': flag('integer', {
    env: 'FLOTILLA_FLAP_THRESHOLD',
    default: 3,
    min: 1,
    max: 1000,
    description: 'Failures within --flap-window that make a healthy engine "flapping": health 1, placed only when no steadier engine fits, until they age out. Each failure below it takes 100/threshold off its health.',
  }),
  'discovery-grace': flag('duration', {
    env: 'FLOTILLA_DISCOVERY_GRACE',
    default: 5 * 60_000,
    min: 1000,
    description: "A discovery identity (its certificate's name) that has not pushed for longer than this loses its sources: the engines only they listed, and not added by hand, are removed. Discovery re-pushes every --push-interval (30 s) even when nothing changed.",
  }),
  'reconnect-min': flag('duration', { env: 'FLOTILLA_RECONNECT_MIN', default: 200, min: 10, description: 'First back-off before reconnecting to an unhealthy engine; it doubles, with jitter.' }),
  'reconnect-max': flag('duration', { env: 'FLOTILLA_RECONNECT_MAX', default: 10_000, min: 10, description: 'Longest back-off between reconnects.' }),
  'pending-retry-min': flag('duration', { env: 'FLOTILLA_PENDING_RETRY_MIN', default: 1000, min: 10, description: 'First back-off before validating a pending engine again.' }),
  'pending-retry-max': flag('duration', { env: 'FLOTILLA_PENDING_RETRY_MAX', default: 30_000, min: 10, description: 'Longest back-off between validation attempts.' }),
  overcommit: flag('number', { env: 'FLOTILLA_OVERCOMMIT', default: 0.05, min: -1, max: 100, description: "Overcommit ratio: an engine's usable CPUs and memory are total x (1 + ratio)." }),
  'create-retry': flag('integer', {
    env: 'FLOTILLA_CREATE_RETRY',
    default: 0,
    min: 0,
    max: 100,
    description: 'Other engines a failed container create is retried on: only after a failure that proves the engine created nothing (NOT_FOUND, FAILED_PRECONDITION, RESOURCE_EXHAUSTED), never after UNAVAILABLE or DEADLINE_EXCEEDED.',
  }),
  'orphan-grace': flag('duration', {
    env: 'FLOTILLA_ORPHAN_GRACE',
    default: 10 * 60_000,
    min: 0,
    description: 'How long a container whose create carried a request ID and asked to start it may stay never started before the manager removes it (logged, and an "orphan-remove" event); 0 never removes one.',
  }),
  strategy: flag('string', { env: 'FLOTILLA_STRATEGY', default: 'spread', choices: strategies, description: 'Placement strategy.' }),
  'placement-candidates': flag('integer', {
    env: 'FLOTILLA_PLACEMENT_CANDIDATES',
    default: 100,
    min: 0,
    max: 1_000_000,
    description:
      'With the spread and random strategies, a placement weighs at most this many engines that pass the filters, starting where the previous placement stopped, so its cost does not grow with the cluster (binpack and explain weigh every engine); 0 weighs every engine.',
  }),
  filters: flag('list', { env: 'FLOTILLA_FILTERS', default: defaultFilters, description: 'Scheduler filters, in order.' }),
  'max-queued-events': flag('integer', {
    env: 'FLOTILLA_MAX_QUEUED_EVENTS',
    default: defaultMaxQueuedEvents,
    min: 1,
    description: 'Events a WatchEvents reader may fall behind before it is cut off (RESOURCE_EXHAUSTED). Keep it above twice --max-engines: a discovery push that replaces every engine publishes two events per engine at once.',
  }),
  'max-engines': flag('integer', {
    env: 'FLOTILLA_MAX_ENGINES',
    default: engineLimitDefaults.maxEngines,
    min: 1,
    description: 'Engines the cluster may hold, pending or not, however they were added; AddEngine and SyncEngines that would pass it are refused (RESOURCE_EXHAUSTED) and change nothing.',
  }),
  'max-pending-engines': flag('integer', {
    env: 'FLOTILLA_MAX_PENDING_ENGINES',
    default: engineLimitDefaults.maxPendingEngines,
    min: 1,
    description: 'Pending engines added by hand (AddEngine, --engine) the cluster may hold at once; past it AddEngine is refused (RESOURCE_EXHAUSTED). Engines discovery pushes count only against --max-engines.',
  }),
  'shutdown-grace': flag('duration', { env: 'FLOTILLA_SHUTDOWN_GRACE', default: 5000, min: 0, description: 'On SIGTERM/SIGINT, how long open calls may run before they are closed.' }),
  'log-level': flag('string', { env: 'FLOTILLA_LOG_LEVEL', default: 'info', choices: logLevels, description: 'Least severe log level written (JSON lines on stderr).' }),
};

export const managerHelp = helpText(
  'Usage: flotilla-cluster-manager [flags]',
  `Owns a Flotilla cluster and serves flotilla.cluster.v1.ClusterService over gRPC: engines (added by
address, validated through their engine-agent's Watch stream), their health (pushed by the agents:
a broken stream, an unreachable Docker engine or missed heartbeats make an engine unhealthy; it is
reconnected with back-off), cluster info, and a merged event stream. Also serves
grpc.health.v1.Health and server reflection.`,
  managerFlags,
);

export interface ManagerConfig {
  listen: string;
  /** --metrics-address: the loopback Prometheus endpoint; undefined: none. */
  metricsAddress?: string;
  /** Serves clients and dials engine-agents with one identity. */
  security: Security;
  /** Per-caller stream and rate limits of the service's own API. */
  callerLimits: CallerLimitsOptions;
  /** What a container may take of its host, per caller role; checked before placement. */
  containerPolicy: ContainerPolicy;
  engines: string[];
  heartbeatTolerance: number;
  /** --heartbeat-rate: see ClusterOptions.heartbeatRate. */
  heartbeatRate: number;
  /** --flap-window and --flap-threshold: when a healthy engine counts as flapping. */
  flapWindowMs: number;
  flapThreshold: number;
  /** --discovery-grace: see ClusterOptions.discoveryGraceMs. */
  discoveryGraceMs: number;
  reconnect: { initialMs: number; maxMs: number };
  pendingRetry: { initialMs: number; maxMs: number };
  overcommitRatio: number;
  createRetry: number;
  /** --orphan-grace: see ClusterContainers.sweepOrphans. */
  orphanGraceMs: number;
  strategy: string;
  placementCandidates: number;
  filters: string[];
  maxQueuedEvents: number;
  /** --max-engines: every engine, however added. */
  maxEngines: number;
  /** --max-pending-engines: pending engines added by hand. */
  maxPendingEngines: number;
  shutdownGraceMs: number;
  logLevel: LogLevel;
  /** Every flag as parsed (command line, environment, default): the "configuration" log line. */
  flags: Readonly<Record<string, unknown>>;
}

export function parseManagerConfig(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): ManagerConfig {
  const f = parseFlags(managerFlags, argv, env);
  // Engines given at start are added by hand: both limits apply to them.
  const engines = new Set(f.engine.map((address) => normaliseEngineAddress(address, '--engine'))).size;
  if (engines > Math.min(f['max-engines'], f['max-pending-engines'])) {
    const flag = f['max-pending-engines'] <= f['max-engines'] ? 'max-pending-engines' : 'max-engines';
    throw InvalidArgumentError.field('--engine', `${engines} addresses`, `more than --${flag} ${f[flag]}; raise --${flag}`);
  }
  filtersByName(f.filters, '--filters');
  const listen = parseListenAddress('--listen', f.listen);
  return {
    listen,
    metricsAddress: metricsAddressFrom(f),
    security: securityFrom(f, listen),
    callerLimits: callerLimitsFrom(f),
    containerPolicy: loadPolicy(f['container-policy'], 'cluster-manager'),
    engines: f.engine,
    heartbeatTolerance: f['heartbeat-tolerance'],
    heartbeatRate: f['heartbeat-rate'],
    flapWindowMs: f['flap-window'],
    flapThreshold: f['flap-threshold'],
    discoveryGraceMs: f['discovery-grace'],
    reconnect: { initialMs: f['reconnect-min'], maxMs: Math.max(f['reconnect-min'], f['reconnect-max']) },
    pendingRetry: { initialMs: f['pending-retry-min'], maxMs: Math.max(f['pending-retry-min'], f['pending-retry-max']) },
    overcommitRatio: f.overcommit,
    createRetry: f['create-retry'],
    orphanGraceMs: f['orphan-grace'],
    strategy: f.strategy,
    placementCandidates: f['placement-candidates'],
    filters: f.filters,
    maxQueuedEvents: f['max-queued-events'],
    maxEngines: f['max-engines'],
    maxPendingEngines: f['max-pending-engines'],
    shutdownGraceMs: f['shutdown-grace'],
    logLevel: isLogLevel(f['log-level']) ? f['log-level'] : 'info',
    flags: f,
  };
}

/**
 * The fields of the "configuration" line the cluster-manager logs at start: its version and build, and
 * every flag's effective value, secrets masked (see effectiveFlags).
 */
export function managerConfigurationFields(config: Pick<ManagerConfig, 'flags'>): Record<string, unknown> {
  return { ...buildInfo(__dirname, '@flotilla/cluster-manager'), flags: effectiveFlags(managerFlags, config.flags) };
}
