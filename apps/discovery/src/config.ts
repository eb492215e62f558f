import { buildInfo, effectiveFlags, flag, helpText, parseFlags, callerLimitFlags, callerLimitsFrom, metricsAddressFrom, metricsFlags, securityFlags, securityFrom } from '@flotilla/config';
import { MAX_ADDRESSES_PER_ENTRY, MAX_ADDRESSES_PER_SET, parseDiscoveryUri, type DiscoveryUri } from '@flotilla/discovery';
import { checkDialAllowed, formatHostPort, isLogLevel, logLevels, parseHostPort, parseListenAddress, type LogLevel, type CallerLimitsOptions, type Security, type TlsFiles } from '@flotilla/grpc';
import { InvalidArgumentError } from '@flotilla/errors';

export const discoveryFlags = {
  discovery: flag('string', {
    env: 'FLOTILLA_DISCOVERY',
    placeholder: 'URI',
    description: 'Where the engines are: nodes://HOST:PORT,... (or a bare list), file:///PATH (one per line), or etcd://HOST:PORT[,HOST:PORT]/PREFIX. Required.',
  }),
  manager: flag('list', { env: 'FLOTILLA_MANAGERS', default: [] as string[], placeholder: 'HOST:PORT,...', description: 'Cluster-managers to push the engine addresses to. Required.' }),
  listen: flag('string', { env: 'FLOTILLA_DISCOVERY_LISTEN', default: '127.0.0.1:4230', placeholder: 'HOST:PORT', description: 'Where discovery serves gRPC; port 0 picks a free port (printed in the "listening" log line).' }),
  ...securityFlags('FLOTILLA_DISCOVERY'),
  ...metricsFlags('FLOTILLA_DISCOVERY'),
  ...callerLimitFlags('FLOTILLA_DISCOVERY'),
  'etcd-tls-ca': flag('string', { env: 'FLOTILLA_ETCD_TLS_CA', placeholder: 'FILE', description: 'CA to verify etcd (turns on TLS to etcd).' }),
  'etcd-tls-cert': flag('string', { env: 'FLOTILLA_ETCD_TLS_CERT', placeholder: 'FILE', description: 'Client certificate for etcd.' }),
  'etcd-tls-key': flag('string', { env: 'FLOTILLA_ETCD_TLS_KEY', placeholder: 'FILE', description: 'Client key for etcd.' }),
  'push-interval': flag('duration', { env: 'FLOTILLA_PUSH_INTERVAL', default: 30_000, min: 100, description: 'The safety net: the whole set is pushed again this often even when nothing changed (managers apply only differences).' }),
  'push-timeout': flag('duration', { env: 'FLOTILLA_PUSH_TIMEOUT', default: 10_000, min: 100, description: 'Deadline of one push to a manager.' }),
  'retry-min': flag('duration', { env: 'FLOTILLA_RETRY_MIN', default: 200, min: 10, description: 'First back-off after a failed push or an unreachable etcd; it doubles, with jitter.' }),
  'retry-max': flag('duration', { env: 'FLOTILLA_RETRY_MAX', default: 5000, min: 10, description: 'Longest back-off: a manager that is back gets the set within about this long.' }),
  'file-reread-interval': flag('duration', { env: 'FLOTILLA_FILE_REREAD_INTERVAL', default: 5000, min: 50, description: 'The safety net for file://: the file is read this often even when no change was seen.' }),
  'shutdown-grace': flag('duration', { env: 'FLOTILLA_SHUTDOWN_GRACE', default: 5000, min: 0, description: 'On SIGTERM/SIGINT, how long open calls may run before they are closed.' }),
  'log-level': flag('string', { env: 'FLOTILLA_LOG_LEVEL', default: 'info', choices: logLevels, description: 'Least severe log level written (JSON lines on stderr).' }),
};

export const discoveryHelp = helpText(
  'Usage: flotilla-discovery --discovery URI --manager HOST:PORT[,HOST:PORT...] [flags]',
  `Watches where the engines are and pushes their addresses to every cluster-manager
(flotilla.cluster.v1.ClusterService/SyncEngines: the whole set with a generation; the manager applies only
the difference, removals first). A push is repeated when the set changes, when a manager comes
back after a restart or a broken connection (with back-off while it is away), and every
--push-interval. Serves flotilla.discovery.v1.DiscoveryService (ListEntries, WatchEntries),
grpc.health.v1.Health and server reflection.

Entries (list items, file lines) are HOST:PORT and may hold ranges: 10.0.0.[10:20]:2375,
engine[1:3].example:2375, 127.0.0.1:[4250:4252]. A range may expand to at most
${MAX_ADDRESSES_PER_ENTRY} addresses, a whole set to ${MAX_ADDRESSES_PER_SET}. A bad entry is reported (ListEntries, logs) with
its line or position and skipped; a file that is missing or has no usable entry, or an
unreachable etcd, keeps the last good set. In etcd, engines are the keys PREFIX/HOST:PORT with a
lease (engine-agent --discovery registers them).`,
  discoveryFlags,
);

export interface DiscoveryConfig {
  discovery: DiscoveryUri;
  managers: string[];
  listen: string;
  /** --metrics-address: the loopback Prometheus endpoint; undefined: none. */
  metricsAddress?: string;
  /** Serves its API and dials the managers with one identity (role discovery). */
  security: Security;
  /** Per-caller stream and rate limits of the service's own API. */
  callerLimits: CallerLimitsOptions;
  etcdTls: TlsFiles;
  pushIntervalMs: number;
  pushTimeoutMs: number;
  retry: { initialMs: number; maxMs: number };
  fileRereadIntervalMs: number;
  shutdownGraceMs: number;
  logLevel: LogLevel;
  /** Every flag as parsed (command line, environment, default): the "configuration" log line. */
  flags: Readonly<Record<string, unknown>>;
}

export function parseDiscoveryConfig(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): DiscoveryConfig {
  const f = parseFlags(discoveryFlags, argv, env);
  if (f.discovery === undefined) throw InvalidArgumentError.field('--discovery', '', 'is required (or FLOTILLA_DISCOVERY), e.g. file:///etc/flotilla/engines');
  if (f.manager.length === 0) throw InvalidArgumentError.field('--manager', '', 'at least one cluster-manager address is required (or FLOTILLA_MANAGERS)');
  const managers = [...new Set(f.manager.map((m) => formatHostPort(parseHostPort('--manager', m))))];
  const logLevel = f['log-level'];
  const listen = parseListenAddress('--listen', f.listen);
  const security = securityFrom(f, listen);
  managers.forEach((m) => checkDialAllowed(security, '--manager', m));
  return {
    discovery: parseDiscoveryUri(f.discovery, '--discovery'),
    managers,
    listen,
    metricsAddress: metricsAddressFrom(f),
    security,
    callerLimits: callerLimitsFrom(f),
    etcdTls: { ca: f['etcd-tls-ca'], cert: f['etcd-tls-cert'], key: f['etcd-tls-key'] },
    pushIntervalMs: f['push-interval'],
    pushTimeoutMs: f['push-timeout'],
    retry: { initialMs: f['retry-min'], maxMs: Math.max(f['retry-min'], f['retry-max']) },
    fileRereadIntervalMs: f['file-reread-interval'],
    shutdownGraceMs: f['shutdown-grace'],
    logLevel: isLogLevel(logLevel) ? logLevel : 'info',
    flags: f,
  };
}

/**
 * The fields of the "configuration" line the discovery logs at start: its version and build, and
 * every flag's effective value, secrets masked (see effectiveFlags).
 */
export function discoveryConfigurationFields(config: Pick<DiscoveryConfig, 'flags'>): Record<string, unknown> {
  return { ...buildInfo(__dirname, '@flotilla/discovery-service'), flags: effectiveFlags(discoveryFlags, config.flags) };
}
