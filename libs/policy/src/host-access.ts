import * as path from 'node:path';
import { InvalidArgumentError } from '@flotilla/errors';

/**
 * The fields of a create request that reach into the container's host. flotilla.cluster.v1.ContainerSpec
 * (what the manager is asked) and flotilla.agent.v1.CreateContainerRequest (what an agent is asked)
 * both have them, so one check serves both.
 */
export interface HostAccess {
  privileged: boolean;
  networkMode: string;
  pidMode: string;
  ipcMode: string;
  utsMode: string;
  capAdd: readonly string[];
  devices: readonly string[];
  binds: readonly string[];
  /** Structured mounts; a bind's source is a host path, under the bind allow-list. */
  mounts?: readonly MountInput[];
  /** Where Docker sends the output; a driver other than json-file, local or none needs "logDrivers". */
  logConfig?: { driver: string };
}

/** Whose namespace a container joins: its own (or a named network), the host's, or another container's. */
export type NamespaceChoice = { kind: 'own' } | { kind: 'host' } | { kind: 'container'; container: string };

/** A host device given to a container, Docker's `--device` form parsed. */
export interface DeviceMapping {
  /** Normalised absolute path on the host. */
  pathOnHost: string;
  pathInContainer: string;
  /** Some of r, w and m; Docker's default is rwm. */
  cgroupPermissions: string;
}

/** A `binds` entry parsed: a host path (`/srv/data:/data`) or a named volume (`cache:/cache`). */
export type BindMount =
  | { kind: 'host'; /** Normalised absolute path. */ source: string; target: string; options: string[] }
  | { kind: 'volume'; source: string; target: string; options: string[] };

/** What a host path may not be, in words; undefined when it is fine. */
export function hostPathProblem(text: string): string | undefined {
  if (!text.startsWith('/')) return 'a host path must be absolute (start with /)';
  if (text.split('/').includes('..')) return 'a host path must not contain ".."';
  if (text.includes('\0')) return 'a host path must not contain NUL';
  return undefined;
}

/** A host path without `.`, doubled or trailing slashes; only for paths hostPathProblem passed. */
export function normalPath(text: string): string {
  const normal = path.posix.normalize(text);
  return normal.length > 1 ? normal.replace(/\/+$/, '') : normal;
}

/** Checks a host path (`..` is refused, never resolved) and normalises it; `whole` is the value the field holds. */
function hostPath(field: string, text: string, whole: string): string {
  const problem = hostPathProblem(text);
  if (problem) throw InvalidArgumentError.field(field, whole, problem);
  return normalPath(text);
}

/** True when `hostPath` (normalised) is `prefix` (normalised) or under it. */
export function isUnder(hostPath: string, prefix: string): boolean {
  if (prefix === '/') return true;
  return hostPath === prefix || hostPath.startsWith(`${prefix}/`);
}

/** `cap_net_admin`, `CAP_NET_ADMIN` and `NET_ADMIN` are one capability: NET_ADMIN. */
export function normaliseCapability(text: string): string {
  return text.trim().toUpperCase().replace(/^CAP_/, '');
}

const capabilityPattern = /^[A-Z][A-Z0-9_]*$/;

export function capabilityProblem(normalised: string): string | undefined {
  return capabilityPattern.test(normalised) ? undefined : 'expected a capability name such as NET_ADMIN (or ALL)';
}

/**
 * How a namespace mode is read, as Docker reads it but more eagerly: "host" in any case or with
 * spaces counts as the host (Docker then refuses what it does not know, so nothing slips past).
 */
export function namespaceChoice(field: string, mode: string, others: readonly string[], joinable = true): NamespaceChoice {
  const text = mode.trim().toLowerCase();
  if (text === 'host') return { kind: 'host' };
  if (joinable && text.startsWith('container:')) {
    const container = mode.trim().slice('container:'.length);
    if (!container) throw InvalidArgumentError.field(field, mode, 'container: needs a container name or ID');
    return { kind: 'container', container };
  }
  if (text === '' || others.includes(text) || others.includes('*')) return { kind: 'own' };
  throw InvalidArgumentError.field(field, mode, `expected ${['host', ...(joinable ? ['container:NAME'] : []), ...others].join(', ')} or empty`);
}

/** Docker's network modes: anything else is a network's name, which is the container's own. */
export const networkModeOthers = ['*'];
export const pidModeOthers: readonly string[] = [];
export const ipcModeOthers = ['private', 'shareable', 'none'];
export const utsModeOthers: readonly string[] = [];

function validPermissions(text: string): boolean {
  return /^[rwm]{1,3}$/.test(text) && new Set(text).size === text.length;
}

/** Docker's `--device HOST_PATH[:CONTAINER_PATH][:PERMISSIONS]`, as the docker CLI parses it. */
export function parseDevice(field: string, text: string): DeviceMapping {
  const parts = text.split(':');
  if (parts.length > 3) throw InvalidArgumentError.field(field, text, 'expected HOST_PATH[:CONTAINER_PATH[:PERMISSIONS]]');
  if (!parts[0]) throw InvalidArgumentError.field(field, text, 'a device needs a host path');
  const pathOnHost = hostPath(field, parts[0], text);
  let pathInContainer = '';
  let cgroupPermissions = 'rwm';
  if (parts.length === 3) {
    pathInContainer = parts[1];
    cgroupPermissions = parts[2];
    if (!validPermissions(cgroupPermissions)) throw InvalidArgumentError.field(field, text, 'permissions are some of r, w and m');
  } else if (parts.length === 2) {
    if (validPermissions(parts[1])) cgroupPermissions = parts[1];
    else pathInContainer = parts[1];
  }
  if (!pathInContainer) pathInContainer = parts[0];
  if (!pathInContainer.startsWith('/')) throw InvalidArgumentError.field(field, text, 'the path in the container must be absolute');
  return { pathOnHost, pathInContainer, cgroupPermissions };
}

/** Docker's local volume names. */
const volumeNamePattern = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;
const bindOptions = new Set(['ro', 'rw', 'z', 'Z', 'shared', 'rshared', 'slave', 'rslave', 'private', 'rprivate', 'nocopy', 'consistent', 'cached', 'delegated']);

/**
 * Docker's `-v SOURCE:TARGET[:OPTIONS]`. A SOURCE starting with "/" is a host path, as Docker
 * decides; any other SOURCE must be a volume name, so a relative path is refused here rather than
 * left for Docker to guess at.
 */
export function parseBind(field: string, text: string): BindMount {
  const parts = text.split(':');
  if (parts.length < 2 || parts.length > 3) throw InvalidArgumentError.field(field, text, 'expected SOURCE:TARGET[:OPTIONS]');
  const [source, target, optionText] = parts;
  if (!source) throw InvalidArgumentError.field(field, text, 'a bind needs a source: a host path or a volume name');
  if (!target) throw InvalidArgumentError.field(field, text, 'a bind needs a target path in the container');
  if (!target.startsWith('/')) throw InvalidArgumentError.field(field, text, 'the target must be an absolute path in the container');
  const options = optionText === undefined ? [] : optionText.split(',');
  const unknown = options.find((o) => !bindOptions.has(o));
  if (unknown !== undefined) throw InvalidArgumentError.field(field, text, `unknown option ${JSON.stringify(unknown)} (expected ${[...bindOptions].join(', ')})`);
  if (source.startsWith('/')) return { kind: 'host', source: hostPath(field, source, text), target, options };
  if (!volumeNamePattern.test(source)) {
    throw InvalidArgumentError.field(field, text, 'a host path must be absolute (start with /); a volume name is [a-zA-Z0-9][a-zA-Z0-9_.-]*');
  }
  return { kind: 'volume', source, target, options };
}

/** The parts of flotilla.engine.v1.Mount the checks read (both request types carry it). */
export interface MountInput {
  type: string;
  source: string;
  target: string;
  readOnly: boolean;
  options: Readonly<Record<string, string>>;
}

/** A `mounts` entry parsed: what Docker's HostConfig.Mounts gets. */
export type ParsedMount =
  | { type: 'volume'; /** Empty for an anonymous volume. */ source: string; target: string; readOnly: boolean; noCopy: boolean }
  | { type: 'bind'; /** Normalised absolute host path. */ source: string; target: string; readOnly: boolean; propagation: string }
  | { type: 'tmpfs'; target: string; readOnly: boolean; sizeBytes: number; mode: number };

const propagations = ['private', 'rprivate', 'shared', 'rshared', 'slave', 'rslave'];
const mountOptionKeys: Record<ParsedMount['type'], readonly string[]> = { volume: ['nocopy'], bind: ['propagation'], tmpfs: ['size', 'mode'] };

/** A size as Docker's CLI writes them: bytes, or a number with b, k, m or g (powers of 1024); NaN when malformed. */
export function parseByteSize(text: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*([bkmg]?)b?$/i.exec(text.trim());
  if (!m) return Number.NaN;
  const factor = { '': 1, b: 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 }[m[2].toLowerCase() as '' | 'b' | 'k' | 'm' | 'g'];
  const n = Math.floor(Number(m[1]) * factor);
  return Number.isSafeInteger(n) ? n : Number.NaN;
}

/** An absolute path in a container: `/` and more, no NUL. */
function containerPathProblem(text: string): string | undefined {
  if (!text) return 'required: an absolute path in the container';
  if (!text.startsWith('/')) return 'must be an absolute path in the container (start with /)';
  if (text.includes('\0')) return 'must not contain NUL';
  if (normalPath(text) === '/') return 'must not be the container\'s root';
  return undefined;
}

/**
 * One flotilla.engine.v1.Mount, checked: bad values are INVALID_ARGUMENT naming `${field}.source`,
 * `${field}.target`, `${field}.type` or `${field}.options[KEY]`. A bind's host path is normalised
 * (and ".." refused, never resolved), so the policy and Docker see the same path.
 */
export function parseMount(field: string, mount: MountInput): ParsedMount {
  const type = mount.type === '' ? 'volume' : mount.type;
  if (type !== 'volume' && type !== 'bind' && type !== 'tmpfs') throw InvalidArgumentError.field(`${field}.type`, mount.type, 'expected volume, bind or tmpfs (empty is volume)');
  const targetProblem = containerPathProblem(mount.target);
  if (targetProblem) throw InvalidArgumentError.field(`${field}.target`, mount.target, targetProblem);
  const target = mount.target;
  for (const key of Object.keys(mount.options)) {
    if (!mountOptionKeys[type].includes(key)) {
      throw InvalidArgumentError.field(`${field}.options[${key}]`, mount.options[key], `unknown option for a ${type} mount (expected ${mountOptionKeys[type].join(' or ')})`);
    }
  }
  const option = (key: string) => mount.options[key] ?? '';
  if (type === 'volume') {
    if (mount.source && !volumeNamePattern.test(mount.source)) {
      throw InvalidArgumentError.field(`${field}.source`, mount.source, 'a volume name is [a-zA-Z0-9][a-zA-Z0-9_.-]* (empty for an anonymous volume); a host path needs type "bind"');
    }
    const nocopy = option('nocopy');
    if (!['', 'true', 'false', '1', '0'].includes(nocopy)) throw InvalidArgumentError.field(`${field}.options[nocopy]`, nocopy, 'expected true or false');
    return { type, source: mount.source, target, readOnly: mount.readOnly, noCopy: nocopy === 'true' || nocopy === '1' };
  }
  if (type === 'bind') {
    if (!mount.source) throw InvalidArgumentError.field(`${field}.source`, mount.source, 'a bind mount needs the host path to mount');
    const source = hostPath(`${field}.source`, mount.source, mount.source);
    const propagation = option('propagation');
    if (propagation && !propagations.includes(propagation)) throw InvalidArgumentError.field(`${field}.options[propagation]`, propagation, `expected ${propagations.join(', ')}`);
    return { type, source, target, readOnly: mount.readOnly, propagation };
  }
  if (mount.source) throw InvalidArgumentError.field(`${field}.source`, mount.source, 'a tmpfs mount has no source');
  const sizeText = option('size');
  const sizeBytes = sizeText ? parseByteSize(sizeText) : 0;
  if (!Number.isFinite(sizeBytes) || sizeBytes < 0) throw InvalidArgumentError.field(`${field}.options[size]`, sizeText, 'expected bytes, or a number with b, k, m or g');
  const modeText = option('mode');
  if (modeText && !/^[0-7]{1,4}$/.test(modeText)) throw InvalidArgumentError.field(`${field}.options[mode]`, modeText, 'expected octal permission bits, e.g. 1777');
  return { type, target, readOnly: mount.readOnly, sizeBytes, mode: modeText ? parseInt(modeText, 8) : 0 };
}

/**
 * The named volumes a create mounts, from `binds` (SOURCE not starting with "/") and `mounts`
 * (type volume with a source), each once. Entries that do not parse are skipped: the checks
 * refuse them before anything is placed.
 */
export function namedVolumes(request: { binds: readonly string[]; mounts?: readonly MountInput[] }): string[] {
  const names = new Set<string>();
  for (const text of request.binds) {
    const source = text.split(':')[0];
    if (source && !source.startsWith('/') && volumeNamePattern.test(source)) names.add(source);
  }
  for (const m of request.mounts ?? []) {
    if ((m.type === '' || m.type === 'volume') && m.source && volumeNamePattern.test(m.source)) names.add(m.source);
  }
  return [...names];
}

/** Log drivers that keep a container's output on its engine: no policy needed. */
export const localLogDrivers: readonly string[] = ['json-file', 'local', 'none'];

/** A log driver's name, as Docker's plugins are named (at most 64 bytes is the request's limit). */
export const logDriverPattern = /^[a-z0-9][a-z0-9_.\/:-]*$/;
