import { InvalidArgumentError } from '@flotilla/errors';
import type { BinaryWriter, EngineInfo } from '@flotilla/proto';
import { ClusterEngine, EngineStatus, type EngineRef } from '@flotilla/proto/cluster';
import { addressIp } from '@flotilla/scheduler';
import type { Engine, EngineHealthState, EngineStatusName } from './engine';

const toStatus: Record<EngineStatusName, EngineStatus> = {
  pending: EngineStatus.ENGINE_STATUS_PENDING,
  healthy: EngineStatus.ENGINE_STATUS_HEALTHY,
  unhealthy: EngineStatus.ENGINE_STATUS_UNHEALTHY,
  disconnected: EngineStatus.ENGINE_STATUS_DISCONNECTED,
};

export function engineStatusOf(name: EngineStatusName): EngineStatus {
  return toStatus[name];
}

export function engineStatusName(status: EngineStatus, field = 'statuses'): EngineStatusName {
  const found = (Object.keys(toStatus) as EngineStatusName[]).find((k) => toStatus[k] === status);
  if (!found) throw InvalidArgumentError.field(field, status, 'expected PENDING, HEALTHY, UNHEALTHY or DISCONNECTED');
  return found;
}

/** How events, containers and placements name an engine: ID, name, address and, as classic Swarm's node did, IP. */
export function engineRef(engine: Engine): EngineRef {
  return { id: engine.id, name: engine.name, address: engine.address, ip: addressIp(engine.address) };
}

const classicActions: Readonly<Record<string, string>> = { connect: 'engine_connect', disconnect: 'engine_disconnect', reconnect: 'engine_reconnect' };

/** Classic Swarm's name of an engine event's action (engine_connect, ...); empty where classic had none. */
export function classicEngineAction(action: string): string {
  return classicActions[action] ?? '';
}

/** Capacity with overcommit: total · (1 + ratio). */
export function usable(total: number, overcommitRatio: number): number {
  const exact = total * (1 + overcommitRatio);
  // 1 + ratio is rarely exact in binary (1 + 0.15 is 1.1499999999999999), so a whole product can
  // land a hair below it (3e9 · 1.15 gave 3449999999): take a value within rounding error of a
  // whole number as that number before flooring.
  const whole = Math.round(exact);
  return Math.abs(exact - whole) <= Math.abs(exact) * 4 * Number.EPSILON ? whole : Math.floor(exact);
}

/** Why an engine is in the cluster: added by hand, listed by discovery sources, or both. */
export interface EngineMembership {
  addedByHand: boolean;
  /** Each as the discovery identity, a space and the source (the source alone without an identity). */
  discoverySources: string[];
}

/**
 * What an engine's view is made of besides the fields that change on their own (`updatedAt`, which
 * every heartbeat moves, and the memberships, which are the cluster's): when all of these are as
 * they were, the view is too. Compared field by field on every call, so no mutation path of the
 * engine (its deltas, its stream's lifecycle, reservations) needs to report itself.
 */
interface ViewInputs {
  id: string;
  name: string;
  status: EngineStatusName;
  failureCount: number;
  lastError: string;
  info: EngineInfo | undefined;
  health: number;
  overcommitRatio: number;
  running: number;
  paused: number;
  stopped: number;
  reservedNanoCpus: number;
  reservedMemoryBytes: number;
  images: number;
  healthState: EngineHealthState;
  recentFailures: number;
  flappingUntil: number | undefined;
}

/**
 * A base view's encoding in two parts: fields 1–6 (before `updated_at`) and 8–17 (between it and
 * the per-copy fields 18–20). Each field of a message encodes on its own, so head, a copy's own
 * `updated_at`, tail and the copy's own fields 18–20, in that order, are ClusterEngine.encode's
 * bytes exactly.
 */
interface EncodedBase {
  head: Uint8Array;
  tail: Uint8Array;
}

/** The encoding of a copy's memberships and `flapping_until` (fields 18–20), kept for the next copy. */
interface EncodedRest {
  addedByHand: boolean;
  flappingUntil: number | undefined;
  discoverySources: string[];
  bytes: Uint8Array;
}

/** An engine's view without its changing fields, and that view's encoding once asked. */
interface CachedView {
  inputs: ViewInputs;
  /** With no `updatedAt`, no `flappingUntil`, no memberships: those are added to each copy handed out. */
  base: ClusterEngine;
  encoded?: EncodedBase;
  /** The last memberships and `flapping_until` encoded. */
  rest?: EncodedRest;
}

const views = new WeakMap<Engine, CachedView>();
/**
 * The cache entry a view handed out came from, for engineViewBytes and writeEngineView: a hidden
 * property of the view itself (not enumerable, so a copy of the view does not carry it). It was a
 * WeakMap keyed by every view handed out, 10,000 entries a listing at 10,000 engines, and the
 * manager stalled in the collector's marking for up to a second at a time while it was listed
 * (B2, tools/bench/README.md).
 */
const cacheOf = Symbol('engine view cache');
type HandedOutView = ClusterEngine & { readonly [cacheOf]?: CachedView };
let builds = 0;
const noFields = ClusterEngine.fromPartial({});

function sameInputs(a: ViewInputs, b: ViewInputs): boolean {
  return (
    a.id === b.id &&
    a.name === b.name &&
    a.status === b.status &&
    a.failureCount === b.failureCount &&
    a.lastError === b.lastError &&
    a.info === b.info &&
    a.health === b.health &&
    Object.is(a.overcommitRatio, b.overcommitRatio) &&
    a.running === b.running &&
    a.paused === b.paused &&
    a.stopped === b.stopped &&
    a.reservedNanoCpus === b.reservedNanoCpus &&
    a.reservedMemoryBytes === b.reservedMemoryBytes &&
    a.images === b.images &&
    a.healthState === b.healthState &&
    a.recentFailures === b.recentFailures &&
    a.flappingUntil === b.flappingUntil
  );
}

/** Views built (not reused) since the process started: tests count rebuilds by it. */
export function engineViewBuilds(): number {
  return builds;
}

/** Drops the engine's cached view: the next one is built afresh (a new snapshot, the engine left). */
export function forgetEngineView(engine: Engine): void {
  views.delete(engine);
}

/**
 * The engine as the cluster API shows it. The view is kept per engine and built again only when
 * something it shows changed (see ViewInputs): a heartbeat, which moves only `updatedAt`, reuses
 * it. Each call answers a copy of its own.
 */
export function engineView(engine: Engine, health: number, overcommitRatio: number, membership: EngineMembership = { addedByHand: false, discoverySources: [] }): ClusterEngine {
  const { running, paused, stopped } = engine.tally;
  const until = engine.flappingUntil();
  const inputs: ViewInputs = {
    id: engine.id,
    name: engine.name,
    status: engine.status,
    failureCount: engine.failureCount,
    lastError: engine.lastError,
    info: engine.info,
    health,
    overcommitRatio,
    running,
    paused,
    stopped,
    reservedNanoCpus: engine.reservedNanoCpus,
    reservedMemoryBytes: engine.reservedMemoryBytes,
    images: engine.images.size,
    healthState: engine.healthState(),
    recentFailures: engine.recentFailures(),
    flappingUntil: until,
  };
  let cached = views.get(engine);
  if (!cached || !sameInputs(cached.inputs, inputs)) {
    cached = { inputs, base: baseView(engine, inputs) };
    views.set(engine, cached);
    builds++;
  }
  const base = cached.base;
  const view: ClusterEngine = {
    ...base,
    updatedAt: new Date(engine.updatedAt),
    containers: { ...base.containers! },
    flappingUntil: until === undefined ? undefined : new Date(until),
    addedByHand: membership.addedByHand,
    discoverySources: membership.discoverySources,
  };
  Object.defineProperty(view, cacheOf, { value: cached });
  return view;
}

function baseView(engine: Engine, v: ViewInputs): ClusterEngine {
  return {
    address: engine.address,
    id: v.id,
    name: v.name,
    status: engineStatusOf(v.status),
    failureCount: v.failureCount,
    lastError: v.lastError,
    updatedAt: undefined,
    health: v.health,
    info: v.info,
    containers: { running: v.running, paused: v.paused, stopped: v.stopped, total: v.running + v.paused + v.stopped },
    reservedNanoCpus: String(v.reservedNanoCpus),
    reservedMemoryBytes: String(v.reservedMemoryBytes),
    usableNanoCpus: String(usable(engine.cpus * 1e9, v.overcommitRatio)),
    usableMemoryBytes: String(usable(engine.memoryBytes, v.overcommitRatio)),
    images: v.images,
    healthState: v.healthState,
    recentFailures: v.recentFailures,
    flappingUntil: undefined,
    addedByHand: false,
    discoverySources: [],
  };
}

/** Bytes of a varint of a whole number (a negative int32 or int64 takes ten, sign-extended). */
function varintBytes(n: number): number {
  if (n < 0) return 10;
  let bytes = 1;
  for (let rest = n; rest >= 0x80; rest = Math.floor(rest / 0x80)) bytes++;
  return bytes;
}

/**
 * Bytes of field 7 (`updated_at`, a google.protobuf.Timestamp) as ClusterEngine.encode writes it:
 * a one-byte tag, the length, then seconds and nanos, each only when not zero. Undefined for a
 * time it would not encode (not a number).
 */
function updatedAtBytes(date: Date | undefined): number | undefined {
  if (date === undefined) return 0;
  const ms = date.getTime();
  if (!Number.isFinite(ms)) return undefined;
  const seconds = Math.trunc(ms / 1000);
  const nanos = (ms % 1000) * 1_000_000;
  const inner = (seconds !== 0 ? 1 + varintBytes(seconds) : 0) + (nanos !== 0 ? 1 + varintBytes(nanos) : 0);
  return 1 + varintBytes(inner) + inner;
}

function sameList(a: readonly string[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function encodedBase(cached: CachedView): EncodedBase {
  if (!cached.encoded) {
    const { address, id, name, status, failureCount, lastError } = cached.base;
    cached.encoded = {
      head: ClusterEngine.encode({ ...noFields, address, id, name, status, failureCount, lastError }).finish(),
      tail: ClusterEngine.encode({ ...cached.base, address: '', id: '', name: '', status: noFields.status, failureCount: 0, lastError: '' }).finish(),
    };
  }
  return cached.encoded;
}

/** Fields 18–20 of `view`, encoded again only when they differ from the engine's last ones. */
function encodedRest(cached: CachedView, view: ClusterEngine): Uint8Array {
  const until = view.flappingUntil?.getTime();
  let rest = cached.rest;
  if (!rest || rest.addedByHand !== view.addedByHand || !Object.is(rest.flappingUntil, until) || !sameList(rest.discoverySources, view.discoverySources)) {
    const own: ClusterEngine = { ...noFields, flappingUntil: view.flappingUntil, addedByHand: view.addedByHand, discoverySources: view.discoverySources };
    rest = { addedByHand: view.addedByHand, flappingUntil: until, discoverySources: [...view.discoverySources], bytes: ClusterEngine.encode(own).finish() };
    cached.rest = rest;
  }
  return rest.bytes;
}

/**
 * ClusterEngine.encode(view).finish().length, for a view engineView answered and nobody changed
 * since: the engine's cached encoding, plus `updated_at` (counted), plus the memberships and
 * `flapping_until`. Any other view is encoded.
 */
export function engineViewBytes(view: ClusterEngine): number {
  const cached = (view as HandedOutView)[cacheOf];
  const updated = updatedAtBytes(view.updatedAt);
  if (!cached || updated === undefined) return ClusterEngine.encode(view).finish().length;
  const { head, tail } = encodedBase(cached);
  return head.length + updated + tail.length + encodedRest(cached, view).length;
}

/**
 * Writes `view` into `writer` as ClusterEngine.encode(view, writer) would, byte for byte. A view
 * engineView answered (and nobody changed since) is copied from the engine's cached encoding, so
 * a page of engines costs copies, not encodes; any other view is encoded.
 */
export function writeEngineView(view: ClusterEngine, writer: BinaryWriter): BinaryWriter {
  const cached = (view as HandedOutView)[cacheOf];
  if (!cached || updatedAtBytes(view.updatedAt) === undefined) return ClusterEngine.encode(view, writer);
  const { head, tail } = encodedBase(cached);
  writer.raw(head);
  if (view.updatedAt !== undefined) ClusterEngine.encode({ ...noFields, updatedAt: view.updatedAt }, writer);
  return writer.raw(tail).raw(encodedRest(cached, view));
}
