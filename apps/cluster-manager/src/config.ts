import { flag, helpText, parseFlags } from '@flotilla/config';
import { isLogLevel, logLevels, parseListenAddress, type LogLevel, type TlsFiles } from '@flotilla/grpc';
import { normaliseEngineAddress } from '@flotilla/cluster';
import { filterNames, filtersByName, strategyNames } from '@flotilla/scheduler';

export const strategies = strategyNames;
export const defaultFilters = [...filterNames];

export const managerFlags = {
  listen: flag('string', { env: 'FLOTILLA_MANAGER_LISTEN', default: '127.0.0.1:4240', placeholder: 'HOST:PORT', description: 'Where the manager serves gRPC; port 0 picks a free port (printed in the "listening" log line).' }),
  'tls-cert': flag('string', { env: 'FLOTILLA_MANAGER_TLS_CERT', placeholder: 'FILE', description: 'Server certificate (turns on TLS).' }),
  'tls-key': flag('string', { env: 'FLOTILLA_MANAGER_TLS_KEY', placeholder: 'FILE', description: 'Server private key.' }),
  'tls-ca': flag('string', { env: 'FLOTILLA_MANAGER_TLS_CA', placeholder: 'FILE', description: 'CA for client certificates: when set, clients must present one (mutual TLS).' }),
  'agent-tls-ca': flag('string', { env: 'FLOTILLA_AGENT_TLS_CA', placeholder: 'FILE', description: 'CA to verify engine-agents (turns on TLS to agents).' }),
  'agent-tls-cert': flag('string', { env: 'FLOTILLA_AGENT_CLIENT_CERT', placeholder: 'FILE', description: 'Client certificate the manager presents to engine-agents.' }),
  'agent-tls-key': flag('string', { env: 'FLOTILLA_AGENT_CLIENT_KEY', placeholder: 'FILE', description: 'Client key for engine-agents.' }),
  engine: flag('list', { env: 'FLOTILLA_ENGINES', default: [] as string[], placeholder: 'HOST:PORT,...', description: 'Engine-agent addresses to add at start (discovery adds more).' }),
  'heartbeat-tolerance': flag('integer', { env: 'FLOTILLA_HEARTBEAT_TOLERANCE', default: 3, min: 1, max: 100, description: 'Heartbeat intervals an engine may miss before it is unhealthy.' }),
  'reconnect-min': flag('duration', { env: 'FLOTILLA_RECONNECT_MIN', default: 200, min: 10, description: 'First back-off before reconnecting to an unhealthy engine; it doubles, with jitter.' }),
  'reconnect-max': flag('duration', { env: 'FLOTILLA_RECONNECT_MAX', default: 10_000, min: 10, description: 'Longest back-off between reconnects.' }),
  'pending-retry-min': flag('duration', { env: 'FLOTILLA_PENDING_RETRY_MIN', default: 1000, min: 10, description: 'First back-off before validating a pending engine again.' }),
  'pending-retry-max': flag('duration', { env: 'FLOTILLA_PENDING_RETRY_MAX', default: 30_000, min: 10, description: 'Longest back-off between validation attempts.' }),
  overcommit: flag('number', { env: 'FLOTILLA_OVERCOMMIT', default: 0.05, min: -1, max: 100, description: "Overcommit ratio: an engine's usable CPUs and memory are total x (1 + ratio)." }),
  'create-retry': flag('integer', { env: 'FLOTILLA_CREATE_RETRY', default: 0, min: 0, max: 100, description: 'Other engines a failed container create is retried on.' }),
  strategy: flag('string', { env: 'FLOTILLA_STRATEGY', default: 'spread', choices: strategies, description: 'Placement strategy.' }),
  filters: flag('list', { env: 'FLOTILLA_FILTERS', default: defaultFilters, description: 'Scheduler filters, in order.' }),
  'max-queued-events': flag('integer', { env: 'FLOTILLA_MAX_QUEUED_EVENTS', default: 10_000, min: 1, description: 'Events a WatchEvents reader may fall behind before it is cut off (RESOURCE_EXHAUSTED).' }),
  'shutdown-grace': flag('duration', { env: 'FLOTILLA_SHUTDOWN_GRACE', default: 5000, min: 0, description: 'On SIGTERM/SIGINT, how long open calls may run before they are closed.' }),
  'log-level': flag('string', { env: 'FLOTILLA_LOG_LEVEL', default: 'info', choices: logLevels, description: 'Least severe log level written (JSON lines on stderr).' }),
};

export const managerHelp = helpText(
  'Usage: flotilla-cluster-manager [flags]',
  `Owns a Flotilla cluster and serves flotilla.v1.ClusterService over gRPC: engines (added by
address, validated through their engine-agent's Watch stream), their health (pushed by the agents:
a broken stream, an unreachable Docker engine or missed heartbeats make an engine unhealthy; it is
reconnected with back-off), cluster info, and a merged event stream. Also serves
grpc.health.v1.Health and server reflection.`,
  managerFlags,
);

export interface ManagerConfig {
  listen: string;
  tls: TlsFiles;
  agentTls: TlsFiles;
  engines: string[];
  heartbeatTolerance: number;
  reconnect: { initialMs: number; maxMs: number };
  pendingRetry: { initialMs: number; maxMs: number };
  overcommitRatio: number;
  createRetry: number;
  strategy: string;
  filters: string[];
  maxQueuedEvents: number;
  shutdownGraceMs: number;
  logLevel: LogLevel;
}

export function parseManagerConfig(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): ManagerConfig {
  const f = parseFlags(managerFlags, argv, env);
  f.engine.forEach((address) => normaliseEngineAddress(address, '--engine'));
  filtersByName(f.filters, '--filters');
  return {
    listen: parseListenAddress('--listen', f.listen),
    tls: { ca: f['tls-ca'], cert: f['tls-cert'], key: f['tls-key'] },
    agentTls: { ca: f['agent-tls-ca'], cert: f['agent-tls-cert'], key: f['agent-tls-key'] },
    engines: f.engine,
    heartbeatTolerance: f['heartbeat-tolerance'],
    reconnect: { initialMs: f['reconnect-min'], maxMs: Math.max(f['reconnect-min'], f['reconnect-max']) },
    pendingRetry: { initialMs: f['pending-retry-min'], maxMs: Math.max(f['pending-retry-min'], f['pending-retry-max']) },
    overcommitRatio: f.overcommit,
    createRetry: f['create-retry'],
    strategy: f.strategy,
    filters: f.filters,
    maxQueuedEvents: f['max-queued-events'],
    shutdownGraceMs: f['shutdown-grace'],
    logLevel: isLogLevel(f['log-level']) ? f['log-level'] : 'info',
  };
}
