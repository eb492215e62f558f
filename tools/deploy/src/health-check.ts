// The health check of a deployed service (deploy/health-check.js, the image's HEALTHCHECK): asks
// the service's standard health service, grpc.health.v1.Health/Check for the whole server
// (service ""), at the address it listens on, with the certificate files the service itself was
// given. It knows the service's settings by parsing them with the service's own configuration
// parser, from the service's own command line and environment (/proc/PID/cmdline and environ), so
// flags and FLOTILLA_* variables work alike; or from its own arguments and environment when given
// any. Exit 0 when SERVING; 1 otherwise (one line on stderr says why); 2 for a usage error.
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import * as path from 'node:path';
import { makeGenericClientConstructor, type Client, type ClientUnaryCall, type Metadata, type CallOptions, type ServiceError } from '@grpc/grpc-js';
import { errorCodeName, FlotillaError } from '@flotilla/errors';
import { call, dial, dialTls, formatHostPort, parseHostPort, type Security } from '@flotilla/grpc';
import { service as healthService } from 'grpc-health-check';

interface HealthCheckRequest {
  service: string;
}
interface HealthCheckResponse {
  status?: string;
}
/** The standard health service's client, from grpc-health-check's own definition. */
type HealthClient = Client & {
  Check(request: HealthCheckRequest, metadata: Metadata, options: Partial<CallOptions>, callback: (err: ServiceError | null, response: HealthCheckResponse) => void): ClientUnaryCall;
};
const HealthClient = makeGenericClientConstructor(healthService, 'grpc.health.v1.Health') as unknown as new (...args: ConstructorParameters<typeof Client>) => HealthClient;

/** What the health check needs of a service's configuration. */
export interface HealthCheckedConfig {
  listen: string;
  security: Security;
}

export interface HealthCheckOptions {
  /** For messages, e.g. flotilla-engine-agent-health-check. */
  name: string;
  /** The service's own parser: its flags and FLOTILLA_* environment as the service reads them. */
  parseConfig(argv: readonly string[], env: NodeJS.ProcessEnv): HealthCheckedConfig;
}

/**
 * Where to dial a service that listens on `listen`: a wildcard host is reached on the loopback
 * address of its family; any other host as it is (its certificate names it).
 */
export function dialAddress(listen: string): string {
  if (/:0+$/.test(listen.trim())) throw new Error(`the service listens on ${listen}: port 0 is picked at start; give the service a fixed --listen port to health-check it`);
  const { host, port } = parseHostPort('--listen', listen);
  if (host === '0.0.0.0') return formatHostPort({ host: '127.0.0.1', port });
  if (host === '::') return formatHostPort({ host: '::1', port });
  return formatHostPort({ host, port });
}

/** A process's argv and environment, from /proc. */
export interface ProcessSettings {
  pid: number;
  argv: string[];
  env: NodeJS.ProcessEnv;
}

function nulSeparated(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  return text.split('\0').filter((part, i, all) => part !== '' || i < all.length - 1);
}

/** The settings of process `pid`, or undefined when it is gone or not readable. */
export function readProcess(pid: number, proc = '/proc'): ProcessSettings | undefined {
  try {
    const argv = nulSeparated(path.join(proc, String(pid), 'cmdline'));
    const env: NodeJS.ProcessEnv = {};
    for (const entry of nulSeparated(path.join(proc, String(pid), 'environ'))) {
      const eq = entry.indexOf('=');
      if (eq > 0) env[entry.slice(0, eq)] = entry.slice(eq + 1);
    }
    return { pid, argv, env };
  } catch {
    return undefined;
  }
}

/**
 * The service this health check belongs to: the process that runs `mainScript` (the main.js beside
 * this script) with node, PID 1 first (the service is PID 1 of its container), then any other.
 * Its arguments after the script are the service's flags.
 */
export function findService(mainScript: string, proc = '/proc'): ProcessSettings | undefined {
  let pids: number[] = [];
  try {
    pids = readdirSync(proc)
      .filter((e) => /^\d+$/.test(e))
      .map(Number)
      .filter((pid) => pid !== process.pid);
  } catch {
    return undefined;
  }
  pids.sort((a, b) => (a === 1 ? -1 : b === 1 ? 1 : a - b));
  for (const pid of pids) {
    const settings = readProcess(pid, proc);
    if (!settings) continue;
    const script = settings.argv.findIndex((arg, i) => i > 0 && !arg.startsWith('-'));
    if (script < 1) continue;
    // A relative script path is relative to the process's working directory.
    const cwd = readlinkCwd(pid, proc);
    if (cwd !== undefined && path.resolve(cwd, settings.argv[script]) === mainScript) return { ...settings, argv: settings.argv.slice(script + 1) };
  }
  return undefined;
}

function readlinkCwd(pid: number, proc: string): string | undefined {
  try {
    return readlinkSync(path.join(proc, String(pid), 'cwd'));
  } catch {
    return undefined;
  }
}

/** One Health/Check of the whole server (service ""); resolves with the status name. */
export async function checkHealth(address: string, security: Security, timeoutMs: number): Promise<string> {
  // dial: the service's own TLS files, and an IP target checked against the certificate's IP.
  const client = dial(HealthClient, address, { tls: dialTls(security), defaultDeadlineMs: timeoutMs });
  try {
    const answer = await call(client, client.Check, { service: '' }, { deadlineMs: timeoutMs });
    return answer.status ?? 'UNKNOWN';
  } finally {
    client.close();
  }
}

function describeError(err: unknown): string {
  if (err instanceof FlotillaError) return `${errorCodeName(err.code)}: ${err.message}`;
  return err instanceof Error ? err.message : String(err);
}

/** The timeout of one check: FLOTILLA_HEALTH_CHECK_TIMEOUT in milliseconds, default 5000. */
function timeoutFrom(env: NodeJS.ProcessEnv): number {
  const value = Number(env.FLOTILLA_HEALTH_CHECK_TIMEOUT ?? 5000);
  return Number.isFinite(value) && value > 0 ? value : 5000;
}

/**
 * The health check's main: `node health-check.js` finds the service beside it; `node
 * health-check.js FLAGS...` checks a service started with FLAGS (and this environment).
 */
export async function runHealthCheck(options: HealthCheckOptions, argv = process.argv.slice(2), env = process.env): Promise<void> {
  const fail = (code: number, message: string): void => {
    process.stderr.write(`${options.name}: ${message}\n`);
    process.exitCode = code;
  };
  const mainScript = path.join(path.dirname(path.resolve(process.argv[1] ?? '.')), 'main.js');
  let settings: { argv: readonly string[]; env: NodeJS.ProcessEnv };
  if (argv.length > 0) {
    settings = { argv, env };
  } else {
    const service = findService(mainScript);
    if (!service) return fail(1, `no process runs ${mainScript}: is the service running?`);
    settings = service;
  }
  let config: HealthCheckedConfig;
  let address: string;
  try {
    config = options.parseConfig(settings.argv, settings.env);
    address = dialAddress(config.listen);
  } catch (err) {
    return fail(2, err instanceof Error ? err.message : String(err));
  }
  try {
    const status = await checkHealth(address, config.security, timeoutFrom(env));
    if (status === 'SERVING') {
      process.stdout.write(`${address} SERVING\n`);
      process.exitCode = 0;
    } else {
      fail(1, `${address} answers ${status}`);
    }
  } catch (err) {
    fail(1, `${address}: ${describeError(err)}`);
  }
}
