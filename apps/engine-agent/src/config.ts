import { buildInfo, effectiveFlags, flag, helpText, parseFlags, callerLimitFlags, callerLimitsFrom, metricsAddressFrom, metricsFlags, securityFlags, securityFrom, type FlagValues } from '@flotilla/config';
import { parseDiscoveryUri, type DiscoveryUri } from '@flotilla/discovery';
import { formatHostPort, isLogLevel, logLevels, parseHostPort, parseListenAddress, type LogLevel, type CallerLimitsOptions, type Security, type TlsFiles } from '@flotilla/grpc';
import { InvalidArgumentError } from '@flotilla/errors';
import { loadPolicy, policyFlags, type ContainerPolicy } from '@flotilla/policy';
import { maximumApiVersion, minimumApiVersion } from './docker/api-version';
import { parseDockerEndpoint } from './docker/docker-endpoint';
import { defaultReconcileIntervalMs } from './monitor/reconcile-diff';
import { advertiseAddress } from './registration/advertise-address';

export const agentFlags = {
  'docker-host': flag('string', { env: 'FLOTILLA_DOCKER_HOST', default: 'unix:///var/run/docker.sock', placeholder: 'URL', description: 'The Docker engine: unix:///path/to/docker.sock or tcp://host:port.' }),
  'docker-tls-ca': flag('string', { env: 'FLOTILLA_DOCKER_TLS_CA', placeholder: 'FILE', description: 'CA certificate to verify a tcp:// Docker engine (turns on TLS).' }),
  'docker-tls-cert': flag('string', { env: 'FLOTILLA_DOCKER_TLS_CERT', placeholder: 'FILE', description: 'Client certificate for the Docker engine.' }),
  'docker-tls-key': flag('string', { env: 'FLOTILLA_DOCKER_TLS_KEY', placeholder: 'FILE', description: 'Client key for the Docker engine.' }),
  listen: flag('string', { env: 'FLOTILLA_AGENT_LISTEN', default: '127.0.0.1:4250', placeholder: 'HOST:PORT', description: 'Where the agent serves gRPC; port 0 picks a free port (printed in the "listening" log line).' }),
  ...securityFlags('FLOTILLA_AGENT'),
  ...metricsFlags('FLOTILLA_AGENT'),
  ...callerLimitFlags('FLOTILLA_AGENT'),
  ...policyFlags('FLOTILLA_AGENT'),
  'heartbeat-interval': flag('duration', { env: 'FLOTILLA_HEARTBEAT_INTERVAL', default: 1000, min: 50, max: 600_000, description: 'How often Watch streams carry a heartbeat; the agent also pings its Docker engine this often.' }),
  'reconcile-interval': flag('duration', {
    env: 'FLOTILLA_RECONCILE_INTERVAL',
    default: defaultReconcileIntervalMs,
    min: 0,
    max: 86_400_000,
    description: 'How often the agent lists its Docker engine and corrects what its model got wrong (a lost event), sending each correction as a delta; 0 turns it off, else at least 1s.',
  }),
  discovery: flag('string', { env: 'FLOTILLA_DISCOVERY', placeholder: 'URI', description: 'Register this agent in discovery (etcd://HOST:PORT[,HOST:PORT]/PREFIX), renewed every --discovery-heartbeat while its Docker engine is reachable. Off when not set.' }),
  advertise: flag('string', { env: 'FLOTILLA_ADVERTISE', placeholder: 'HOST:PORT', description: 'The address registered in discovery, which managers dial; defaults to --listen (with the bound port) unless that is a wildcard.' }),
  'discovery-heartbeat': flag('duration', { env: 'FLOTILLA_DISCOVERY_HEARTBEAT', default: 10_000, min: 100, description: 'How often the registration is renewed.' }),
  'discovery-ttl': flag('duration', { env: 'FLOTILLA_DISCOVERY_TTL', default: 30_000, min: 1000, description: 'How long a registration outlives its last renewal (etcd counts whole seconds); must exceed the heartbeat.' }),
  'etcd-tls-ca': flag('string', { env: 'FLOTILLA_ETCD_TLS_CA', placeholder: 'FILE', description: 'CA to verify etcd (turns on TLS to etcd).' }),
  'etcd-tls-cert': flag('string', { env: 'FLOTILLA_ETCD_TLS_CERT', placeholder: 'FILE', description: 'Client certificate for etcd.' }),
  'etcd-tls-key': flag('string', { env: 'FLOTILLA_ETCD_TLS_KEY', placeholder: 'FILE', description: 'Client key for etcd.' }),
  'shutdown-grace': flag('duration', { env: 'FLOTILLA_SHUTDOWN_GRACE', default: 5000, min: 0, description: 'On SIGTERM/SIGINT, how long open calls may run before they are closed.' }),
  'log-level': flag('string', { env: 'FLOTILLA_LOG_LEVEL', default: 'info', choices: logLevels, description: 'Least severe log level written (JSON lines on stderr).' }),
};

export const agentHelp = helpText(
  'Usage: flotilla-engine-agent [flags]',
  `Runs beside one Docker engine and serves flotilla.agent.v1.EngineAgentService over gRPC: a Watch stream
of the engine's state (snapshot, then deltas from Docker's events, heartbeats, reachability) and
container operations for the cluster-manager. It negotiates the Docker API version with the engine
(it speaks ${minimumApiVersion} to ${maximumApiVersion}) and refuses an engine older than API ${minimumApiVersion}.
Also serves grpc.health.v1.Health and server reflection.`,
  agentFlags,
);

export interface AgentConfig {
  dockerHost: string;
  dockerTls: TlsFiles;
  listen: string;
  /** --metrics-address: the loopback Prometheus endpoint; undefined: none. */
  metricsAddress?: string;
  /** Serves managers with its certificate; only callers with role manager are obeyed. */
  security: Security;
  /** Per-caller stream and rate limits of the service's own API. */
  callerLimits: CallerLimitsOptions;
  /** Checked on every create, for the role the manager acts for: the second line behind the manager's. */
  containerPolicy: ContainerPolicy;
  heartbeatIntervalMs: number;
  /** How often the monitor reconciles its model with the engine; 0: never. */
  reconcileIntervalMs: number;
  shutdownGraceMs: number;
  logLevel: LogLevel;
  /** Every flag as parsed (command line, environment, default): the "configuration" log line. */
  flags: Readonly<Record<string, unknown>>;
  /** Set when the agent registers itself in discovery. */
  registration?: RegistrationConfig;
}

export interface RegistrationConfig {
  discovery: DiscoveryUri;
  /** Undefined: the listen address with the bound port. */
  advertise?: string;
  heartbeatMs: number;
  ttlMs: number;
  etcdTls: TlsFiles;
}

function registrationConfig(f: FlagValues<typeof agentFlags>, listen: string): RegistrationConfig | undefined {
  if (f.discovery === undefined || f.discovery.trim() === '') {
    if (f.advertise !== undefined) throw InvalidArgumentError.field('--advertise', f.advertise, 'only means something with --discovery');
    return undefined;
  }
  const discovery = parseDiscoveryUri(f.discovery, '--discovery');
  if (discovery.scheme !== 'etcd') {
    throw InvalidArgumentError.field('--discovery', discovery.source, 'an agent can register only in etcd://HOST:PORT/PREFIX (file and node lists are written by hand)');
  }
  if (f['discovery-ttl'] <= f['discovery-heartbeat']) {
    throw InvalidArgumentError.field('--discovery-ttl', f['discovery-ttl'], `must be longer than --discovery-heartbeat (${f['discovery-heartbeat']} ms), or the entry lapses between renewals`);
  }
  // Refuse a wildcard --listen without --advertise now, not after the server started.
  advertiseAddress(listen, 1, f.advertise);
  return {
    discovery,
    advertise: f.advertise !== undefined ? formatHostPort(parseHostPort('--advertise', f.advertise)) : undefined,
    heartbeatMs: f['discovery-heartbeat'],
    ttlMs: f['discovery-ttl'],
    etcdTls: { ca: f['etcd-tls-ca'], cert: f['etcd-tls-cert'], key: f['etcd-tls-key'] },
  };
}

export function parseAgentConfig(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): AgentConfig {
  const f = parseFlags(agentFlags, argv, env);
  const dockerTls = { ca: f['docker-tls-ca'], cert: f['docker-tls-cert'], key: f['docker-tls-key'] };
  parseDockerEndpoint('--docker-host', f['docker-host'], dockerTls);
  const logLevel = f['log-level'];
  const listen = parseListenAddress('--listen', f.listen);
  const reconcileIntervalMs = f['reconcile-interval'];
  if (reconcileIntervalMs > 0 && reconcileIntervalMs < 1000) {
    throw InvalidArgumentError.field('--reconcile-interval', reconcileIntervalMs, 'must be 0 (off) or at least 1s: each reconcile lists the whole engine');
  }
  return {
    dockerHost: f['docker-host'],
    dockerTls,
    listen,
    metricsAddress: metricsAddressFrom(f),
    security: securityFrom(f, listen),
    callerLimits: callerLimitsFrom(f),
    containerPolicy: loadPolicy(f['container-policy'], 'engine-agent'),
    heartbeatIntervalMs: f['heartbeat-interval'],
    reconcileIntervalMs,
    shutdownGraceMs: f['shutdown-grace'],
    logLevel: isLogLevel(logLevel) ? logLevel : 'info',
    flags: f,
    registration: registrationConfig(f, listen),
  };
}

/**
 * The fields of the "configuration" line the engine-agent logs at start: its version and build, and
 * every flag's effective value, secrets masked (see effectiveFlags).
 */
export function agentConfigurationFields(config: Pick<AgentConfig, 'flags'>): Record<string, unknown> {
  return { ...buildInfo(__dirname, '@flotilla/engine-agent'), flags: effectiveFlags(agentFlags, config.flags) };
}
