import type { Container, DockerEvent, EngineInfo, Image, Network, Volume } from '@flotilla/proto';
import type { WatchResponse } from '@flotilla/proto/agent';

// What the cluster accepts from an agent.
//
// An agent's stream is outside input: a broken or hostile agent can send anything the types allow
// (and a fake one more). Items are checked before they touch the engine's state; a bad item is
// skipped and reported, the rest of the message is applied. Numbers must be whole, non-negative
// and within what a real engine could have, times within a protobuf Timestamp's range (an invalid
// Date would break every later encoding of the item), and enum-like strings known.

/** Longest ID (engine, container, image, network) taken; Docker's are 64 hex digits. */
const maxIdChars = 256;
/** A million CPUs, in nano-CPUs: any more is not a real reservation. */
const maxNanoCpus = 1e15;
const maxEngineCpus = 1_000_000;
const maxInt64 = 2n ** 63n - 1n;
const minTimeMs = -62135596800000; // 0001-01-01T00:00:00Z
const maxTimeMs = 253402300799999; // 9999-12-31T23:59:59.999Z
const containerStates = new Set(['', 'created', 'running', 'paused', 'restarting', 'removing', 'exited', 'dead']);
const restartPolicies = new Set(['', 'no', 'always', 'unless-stopped', 'on-failure']);
const protocols = new Set(['', 'tcp', 'udp', 'sctp']);

function isId(value: unknown): value is string {
  return typeof value === 'string' && value.length > 0 && value.length <= maxIdChars;
}

/** A decimal int64 string, not negative, at most `max`. */
function isCount(value: unknown, max: number): boolean {
  return typeof value === 'string' && /^\d{1,19}$/.test(value) && Number(value) <= max;
}

function isTime(value: unknown): boolean {
  if (value === undefined) return true;
  if (!(value instanceof Date)) return false;
  const t = value.getTime();
  return Number.isFinite(t) && t >= minTimeMs && t <= maxTimeMs;
}

function isStrings(value: unknown): value is string[] {
  return Array.isArray(value) && value.every((v) => typeof v === 'string');
}

function isLabels(value: unknown): value is Record<string, string> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && Object.values(value).every((v) => typeof v === 'string');
}

function isPort(value: unknown, min: number): boolean {
  return typeof value === 'number' && Number.isInteger(value) && value >= min && value <= 65535;
}

const quote = (value: unknown) => JSON.stringify(typeof value === 'string' ? value.slice(0, 80) : value) ?? String(value);

/** Why the engine description of a snapshot cannot be taken, or undefined. */
export function engineInfoProblem(info: EngineInfo | undefined): string | undefined {
  if (!info || typeof info.id !== 'string' || !info.id) return 'the agent sent a snapshot without an engine ID';
  if (info.id.length > maxIdChars) return `the agent sent an engine ID of ${info.id.length} characters`;
  if (!(Number(info.cpus) > 0)) return `engine ${info.id} reports ${info.cpus} CPUs`;
  if (!(Number(info.memoryBytes) > 0)) return `engine ${info.id} reports ${info.memoryBytes} bytes of memory`;
  if (!isCount(info.cpus, maxEngineCpus)) return `engine ${info.id} reports ${quote(info.cpus)} CPUs, not a whole number up to ${maxEngineCpus}`;
  if (!isCount(info.memoryBytes, Number.MAX_SAFE_INTEGER)) return `engine ${info.id} reports ${quote(info.memoryBytes)} bytes of memory, not a whole number up to ${Number.MAX_SAFE_INTEGER}`;
  if (typeof info.name !== 'string' || !isLabels(info.labels)) return `engine ${info.id} has a malformed name or labels`;
  if (!isTime(info.systemTime)) return `engine ${info.id} reports a system time that is not a time`;
  return undefined;
}

/** Why a container from an agent cannot be taken, or undefined. */
export function containerProblem(c: Container | undefined): string | undefined {
  if (!c || !isId(c.id)) return `container without a usable ID (${quote(c?.id)})`;
  const bad = (what: string, value: unknown) => `container ${c.id.slice(0, 80)}: ${what} ${quote(value)}`;
  if (!containerStates.has(c.state)) return bad('unknown state', c.state);
  if (!isCount(c.nanoCpus, maxNanoCpus)) return bad('nano_cpus', c.nanoCpus);
  if (!isCount(c.memoryBytes, Number.MAX_SAFE_INTEGER)) return bad('memory_bytes', c.memoryBytes);
  if (!isCount(c.cpuShares, Number.MAX_SAFE_INTEGER)) return bad('cpu_shares', c.cpuShares);
  if (!isStrings(c.names) || !isStrings(c.command)) return bad('names or command', 'not a list of strings');
  if (!isLabels(c.labels)) return bad('labels', 'not strings');
  if (!restartPolicies.has(c.restartPolicy)) return bad('unknown restart policy', c.restartPolicy);
  if (typeof c.image !== 'string' || typeof c.imageId !== 'string' || typeof c.status !== 'string' || typeof c.networkMode !== 'string') return bad('text field', 'not a string');
  if (!Number.isInteger(c.exitCode) || c.exitCode < -(2 ** 31) || c.exitCode >= 2 ** 31) return bad('exit_code', c.exitCode);
  if (!isTime(c.created) || !isTime(c.startedAt) || !isTime(c.finishedAt)) return bad('time', 'not a time');
  if (!Array.isArray(c.portBindings)) return bad('port_bindings', 'not a list');
  for (const p of c.portBindings) {
    if (typeof p !== 'object' || p === null || !isPort(p.containerPort, 0) || !isPort(p.hostPort, 0) || !protocols.has(p.protocol) || typeof p.hostIp !== 'string') return bad('port binding', p);
  }
  return undefined;
}

export function imageProblem(i: Image | undefined): string | undefined {
  if (!i || !isId(i.id)) return `image without a usable ID (${quote(i?.id)})`;
  if (!isStrings(i.repoTags) || !isStrings(i.repoDigests) || !isLabels(i.labels)) return `image ${i.id.slice(0, 80)}: malformed tags, digests or labels`;
  if (!isCount(i.sizeBytes, Number.MAX_SAFE_INTEGER)) return `image ${i.id.slice(0, 80)}: size_bytes ${quote(i.sizeBytes)}`;
  if (!isTime(i.created)) return `image ${i.id.slice(0, 80)}: created is not a time`;
  return undefined;
}

export function networkProblem(n: Network | undefined): string | undefined {
  if (!n || !isId(n.id)) return `network without a usable ID (${quote(n?.id)})`;
  if (typeof n.name !== 'string' || typeof n.driver !== 'string' || typeof n.scope !== 'string' || !isLabels(n.labels)) return `network ${n.id.slice(0, 80)}: malformed fields`;
  return undefined;
}

export function volumeProblem(v: Volume | undefined): string | undefined {
  if (!v || typeof v.name !== 'string' || !v.name) return `volume without a name (${quote(v?.name)})`;
  if (typeof v.driver !== 'string' || typeof v.mountpoint !== 'string' || !isLabels(v.labels)) return `volume ${v.name.slice(0, 80)}: malformed fields`;
  return undefined;
}

/** Why a Docker event from an agent cannot be published, or undefined. */
export function eventProblem(e: DockerEvent): string | undefined {
  if (typeof e.type !== 'string' || !e.type || typeof e.action !== 'string' || !e.action) return `event without a type or action (${quote(e.type)}/${quote(e.action)})`;
  if (typeof e.actorId !== 'string' || typeof e.scope !== 'string' || !isLabels(e.actorAttributes)) return `event ${e.type}/${e.action}: malformed actor`;
  if (typeof e.timeNano !== 'string' || !/^\d{1,19}$/.test(e.timeNano) || BigInt(e.timeNano) > maxInt64) return `event ${e.type}/${e.action}: time ${quote(e.timeNano)}`;
  return undefined;
}

/** A list from an agent, or none when it sent something else in its place. */
export function listOf<T>(value: T[]): T[] {
  return Array.isArray(value) ? value : [];
}

type Message = NonNullable<WatchResponse['message']>;

/**
 * A change an agent streams after its snapshot. A snapshot part is in the union only so callers
 * can pass what is left of a message; it is refused.
 */
export type EngineDelta = Exclude<Message, { $case: 'snapshot' | 'heartbeat' | 'state' }>;

/** Why a delta cannot be applied, or undefined. A removal needs only the ID of what went. */
export function deltaProblem(message: EngineDelta): string | undefined {
  if (message.$case === 'event') return message.value ? eventProblem(message.value) : 'an event message without an event';
  if (message.$case === 'snapshotPart') return 'a snapshot part is not a delta';
  const delta = message.value;
  if (typeof delta !== 'object' || delta === null) return `a ${message.$case} delta without content`;
  const eventWhy = delta.event ? eventProblem(delta.event) : undefined;
  if (eventWhy) return `${message.$case} delta: ${eventWhy}`;
  const removed = delta.removed === true;
  const actor = delta.event?.actorId;
  switch (message.$case) {
    case 'container': {
      // A container goes out with the event even on a removal, so it is checked either way.
      const c = message.value.container;
      if (c) return containerProblem(c);
      return isId(actor) ? undefined : 'a container removal without an ID';
    }
    case 'image':
      if (message.value.image && !removed) return imageProblem(message.value.image);
      return isId(actor) ? undefined : 'an image removal without an ID';
    case 'network':
      if (message.value.network && !removed) return networkProblem(message.value.network);
      return isId(actor) ? undefined : 'a network removal without an ID';
    case 'volume':
      if (message.value.volume && !removed) return volumeProblem(message.value.volume);
      return typeof actor === 'string' && actor ? undefined : 'a volume removal without a name';
  }
}

