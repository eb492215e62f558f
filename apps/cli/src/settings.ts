import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { flag, parseDuration } from '@flotilla/config';
import { formatHostPort, hasTls, parseHostPort, type TlsFiles } from '@flotilla/grpc';
import { InvalidArgumentError } from '@flotilla/errors';
import { convert, type OptionSpecs } from './args';
import { UsageError } from './errors';

/** The local cluster's manager (`bash tools/local-cluster.sh`). */
export const defaultManager = '127.0.0.1:4240';

/** Options every command accepts, before or after the command name. */
export const globalOptions = {
  manager: flag('string', {
    short: 'H',
    env: 'FLOTILLA_MANAGER',
    default: defaultManager,
    placeholder: 'HOST:PORT',
    description: 'The cluster-manager to talk to; several, comma-separated (a:4240,b:4240), are tried in turn when one cannot be reached',
  }),
  'tls-ca': flag('string', { env: 'FLOTILLA_TLS_CA', placeholder: 'FILE', complete: 'files', description: 'CA certificate that signed the manager\'s certificate (turns on TLS)' }),
  'tls-cert': flag('string', { env: 'FLOTILLA_TLS_CERT', placeholder: 'FILE', complete: 'files', description: 'Client certificate, for a manager that requires one (mutual TLS)' }),
  'tls-key': flag('string', { env: 'FLOTILLA_TLS_KEY', placeholder: 'FILE', complete: 'files', description: 'Client private key' }),
  timeout: flag('duration', { env: 'FLOTILLA_TIMEOUT', default: 30_000, min: 1, placeholder: 'DURATION', description: 'How long to wait for the manager to answer a call (500ms, 10s, 2m)' }),
  config: flag('string', { env: 'FLOTILLA_CONFIG', placeholder: 'FILE', complete: 'files', description: 'Config file (default $XDG_CONFIG_HOME/flotilla/config.json, else ~/.config/flotilla/config.json)' }),
} satisfies OptionSpecs;

export interface Settings {
  /** The managers as given, normalised and comma-separated (one address in the usual case): for messages. */
  manager: string;
  /** Each manager address, in the order they are tried. */
  managers: string[];
  tls: TlsFiles;
  timeoutMs: number;
  /** The config file that was read, if any. */
  configFile: string | undefined;
}

/** What the config file may hold. Relative TLS paths are relative to the file. */
export interface ConfigFile {
  manager?: string;
  tls?: { ca?: string; cert?: string; key?: string };
  /** A duration such as "30s", or milliseconds. */
  timeout?: string | number;
}

export function defaultConfigPath(env: NodeJS.ProcessEnv): string {
  const base = env.XDG_CONFIG_HOME && path.isAbsolute(env.XDG_CONFIG_HOME) ? env.XDG_CONFIG_HOME : path.join(env.HOME || os.homedir(), '.config');
  return path.join(base, 'flotilla', 'config.json');
}

/**
 * Where the CLI finds its certificate when no flag, variable or config file names one, as the
 * docker CLI looks in ~/.docker: `ca.crt`, `client.crt` and `client.key` (what `flotilla ca
 * issue --install` and tools/local-cluster.sh put there).
 */
export function defaultTlsDir(env: NodeJS.ProcessEnv): string {
  return path.join(path.dirname(defaultConfigPath(env)), 'tls');
}

export const defaultTlsFiles = { ca: 'ca.crt', cert: 'client.crt', key: 'client.key' } as const;

function defaultTls(env: NodeJS.ProcessEnv): TlsFiles | undefined {
  const dir = defaultTlsDir(env);
  const files = { ca: path.join(dir, defaultTlsFiles.ca), cert: path.join(dir, defaultTlsFiles.cert), key: path.join(dir, defaultTlsFiles.key) };
  return Object.values(files).every((f) => fs.existsSync(f)) ? files : undefined;
}

export function readConfigFile(file: string, required: boolean): ConfigFile | undefined {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    if (!required && (err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new UsageError(`cannot read the config file ${file}: ${(err as Error).message}`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new UsageError(`the config file ${file} is not valid JSON: ${(err as Error).message}`);
  }
  if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) throw new UsageError(`the config file ${file} must hold a JSON object such as {"manager": "host:port"}`);
  const config = parsed as Record<string, unknown>;
  const known = new Set(['manager', 'tls', 'timeout']);
  const unknown = Object.keys(config).filter((k) => !known.has(k));
  if (unknown.length) throw new UsageError(`the config file ${file} has unknown keys ${unknown.join(', ')}; known: manager, tls {ca, cert, key}, timeout`);
  const str = (value: unknown, key: string): string | undefined => {
    if (value === undefined) return undefined;
    if (typeof value !== 'string') throw new UsageError(`the config file ${file}: "${key}" must be a string`);
    return value;
  };
  const tls = config.tls as Record<string, unknown> | undefined;
  if (tls !== undefined && (typeof tls !== 'object' || tls === null || Array.isArray(tls))) throw new UsageError(`the config file ${file}: "tls" must be an object {ca, cert, key}`);
  const relative = (p: string | undefined) => (p && !path.isAbsolute(p) ? path.resolve(path.dirname(file), p) : p);
  const timeout = config.timeout;
  if (timeout !== undefined && typeof timeout !== 'string' && typeof timeout !== 'number') throw new UsageError(`the config file ${file}: "timeout" must be a duration such as "30s"`);
  return {
    manager: str(config.manager, 'manager'),
    tls: tls ? { ca: relative(str(tls.ca, 'tls.ca')), cert: relative(str(tls.cert, 'tls.cert')), key: relative(str(tls.key, 'tls.key')) } : undefined,
    timeout,
  };
}

/** Accepts host:port, and tcp:// or grpc:// in front of it as docker users write it. */
export function normaliseManager(value: string, field = '--manager'): string {
  const text = value.trim().replace(/^(tcp|grpc|http):\/\//, '').replace(/\/$/, '');
  try {
    return formatHostPort(parseHostPort(field, text));
  } catch (err) {
    if (err instanceof InvalidArgumentError) throw new UsageError(err.message);
    throw err;
  }
}

/** One address or several, comma-separated (`a:4240,b:4240`), each normalised; duplicates dropped. */
export function normaliseManagers(value: string, field = '--manager'): string[] {
  const parts = value.split(',').map((p) => p.trim()).filter((p) => p !== '');
  if (parts.length === 0) return [normaliseManager(value, field)];
  return [...new Set(parts.map((p) => normaliseManager(p, field)))];
}

/**
 * The global settings: a flag wins over its environment variable, which wins over the config
 * file, which wins over the built-in default.
 */
export function resolveSettings(given: Map<string, string[]>, env: NodeJS.ProcessEnv): Settings {
  const first = convert(globalOptions, given, env);
  const explicit = first.config;
  const file = explicit ? path.resolve(explicit) : defaultConfigPath(env);
  const config = readConfigFile(file, Boolean(explicit));
  const specs = {
    ...globalOptions,
    manager: { ...globalOptions.manager, default: config?.manager ?? defaultManager },
    'tls-ca': { ...globalOptions['tls-ca'], default: config?.tls?.ca },
    'tls-cert': { ...globalOptions['tls-cert'], default: config?.tls?.cert },
    'tls-key': { ...globalOptions['tls-key'], default: config?.tls?.key },
    timeout: {
      ...globalOptions.timeout,
      default: config?.timeout === undefined ? globalOptions.timeout.default : typeof config.timeout === 'number' ? config.timeout : configDuration(file, config.timeout),
    },
  };
  const values = convert(specs, given, env);
  const managers = normaliseManagers(values.manager, given.has('manager') ? '--manager' : env.FLOTILLA_MANAGER ? 'FLOTILLA_MANAGER' : config?.manager ? `manager in ${file}` : '--manager');
  return {
    manager: managers.join(','),
    managers,
    tls: hasTls({ ca: values['tls-ca'], cert: values['tls-cert'], key: values['tls-key'] })
      ? { ca: values['tls-ca'] || undefined, cert: values['tls-cert'] || undefined, key: values['tls-key'] || undefined }
      : (defaultTls(env) ?? {}),
    timeoutMs: values.timeout,
    configFile: config ? file : undefined,
  };
}

function configDuration(file: string, text: string): number {
  try {
    return parseDuration('timeout', text);
  } catch {
    throw new UsageError(`the config file ${file}: "timeout" ${JSON.stringify(text)} is not a duration such as 30s`);
  }
}
