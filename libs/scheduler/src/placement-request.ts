import { InvalidArgumentError } from '@flotilla/grpc';
import { parseExpression, type Expression } from './expression';
import type { HostPortRequest } from './placement-engine';

/** What the scheduler needs to know of a container to place it. */
export interface PlacementRequest {
  name: string;
  image: string;
  nanoCpus: number;
  memoryBytes: number;
  /** Host ports the container binds (host port 0 lets the engine pick, and never clashes). */
  ports: HostPortRequest[];
  constraints: Expression[];
  affinities: Expression[];
  /** Containers that must be on the same engine: volumes-from, links, `container:` network mode. */
  dependencies: string[];
  /** Set by the cluster for create-retry: only these engine IDs. */
  whitelist?: ReadonlySet<string>;
  /** Engines already tried, by ID, with why they failed. */
  excluded?: ReadonlyMap<string, string>;
  /** Overrides the scheduler's strategy for this request. */
  strategy?: string;
}

/** The fields of a container spec that placement reads (the shape of the gRPC ContainerSpec). */
export interface PlacementInput {
  name: string;
  image: string;
  env: string[];
  labels: Record<string, string>;
  nanoCpus: string | number;
  memoryBytes: string | number;
  portBindings: Array<{ hostPort: number; protocol: string; hostIp: string }>;
  networkMode: string;
  constraints: string[];
  affinities: string[];
  strategy: string;
  volumesFrom?: string[];
  links?: string[];
}

export const constraintsLabel = 'com.docker.swarm.constraints';
export const affinitiesLabel = 'com.docker.swarm.affinities';

function jsonList(field: string, text: string | undefined): string[] {
  if (text === undefined) return [];
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw InvalidArgumentError.field(field, text, 'expected a JSON array of expressions');
  }
  if (!Array.isArray(parsed) || !parsed.every((x) => typeof x === 'string')) throw InvalidArgumentError.field(field, text, 'expected a JSON array of strings');
  return parsed;
}

function amount(field: string, value: string | number): number {
  // Only an empty (unset) value means 0: a numeric NaN must be rejected like the string 'NaN'.
  const n = typeof value === 'number' ? value : Number(value || 0);
  if (!Number.isSafeInteger(n) || n < 0) throw InvalidArgumentError.field(field, value, 'must be a whole number, not negative');
  return n;
}

/**
 * Reads placement from a spec: typed fields first, then, for compatibility with classic Swarm,
 * env entries `constraint:EXPR` / `affinity:EXPR` and the JSON-array labels. Returns the env
 * without the placement entries, which are not for the container.
 */
export function placementRequestFrom(spec: PlacementInput): { request: PlacementRequest; env: string[] } {
  const constraints: Expression[] = spec.constraints.map((c, i) => parseExpression(c, `constraints[${i}]`));
  const affinities: Expression[] = spec.affinities.map((a, i) => parseExpression(a, `affinities[${i}]`));
  const env: string[] = [];
  spec.env.forEach((entry, i) => {
    const m = /^(constraint|affinity):(.*)$/.exec(entry);
    if (!m) return env.push(entry);
    const expression = parseExpression(m[2], `env[${i}]`);
    (m[1] === 'constraint' ? constraints : affinities).push(expression);
  });
  jsonList(`labels[${constraintsLabel}]`, spec.labels[constraintsLabel]).forEach((c, i) => constraints.push(parseExpression(c, `labels[${constraintsLabel}][${i}]`)));
  jsonList(`labels[${affinitiesLabel}]`, spec.labels[affinitiesLabel]).forEach((a, i) => affinities.push(parseExpression(a, `labels[${affinitiesLabel}][${i}]`)));
  const dependencies = [...(spec.volumesFrom ?? []).map((v) => v.split(':')[0]), ...(spec.links ?? []).map((l) => l.split(':')[0])];
  if (spec.networkMode.startsWith('container:')) dependencies.push(spec.networkMode.slice('container:'.length));
  return {
    env,
    request: {
      name: spec.name,
      image: spec.image,
      nanoCpus: amount('nano_cpus', spec.nanoCpus),
      memoryBytes: amount('memory_bytes', spec.memoryBytes),
      ports: spec.portBindings.filter((p) => p.hostPort > 0).map((p) => ({ hostPort: p.hostPort, protocol: p.protocol || 'tcp', hostIp: p.hostIp })),
      constraints,
      affinities,
      dependencies,
      strategy: spec.strategy || undefined,
    },
  };
}
