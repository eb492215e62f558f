import { FailedPreconditionError, InvalidArgumentError } from '@flotilla/errors';
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
  /**
   * Named volumes the container mounts that some engine of the cluster holds: the chosen engine
   * must hold every one (the "volume" filter). A volume no engine holds is left out: Docker
   * creates it on the chosen engine. The cluster fills this in; placementRequestFrom leaves it empty.
   */
  volumes?: readonly string[];
  /**
   * The user-defined network the container joins (its network mode), when some engine of the
   * cluster holds it: the chosen engine must hold it too (the "network" filter). The cluster fills
   * this in.
   */
  networks?: readonly string[];
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
export const reschedulePoliciesLabel = 'com.docker.swarm.reschedule-policies';
/** Classic Swarm's reschedule policies; "on-node-failure" is refused until rescheduling exists. */
export const reschedulePolicies = ['off', 'on-node-failure'] as const;

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
 * A JSON-array label of a container as classic Swarm wrote it, read for display: the strings, or
 * none when the label is missing or is anything but a JSON array of strings (a container made
 * elsewhere may carry anything).
 */
export function labelList(labels: Readonly<Record<string, string>>, key: string): string[] {
  const text = labels[key];
  if (text === undefined || text === '') return [];
  try {
    const parsed: unknown = JSON.parse(text);
    return Array.isArray(parsed) && parsed.every((x) => typeof x === 'string') ? parsed : [];
  } catch {
    return [];
  }
}

/** The reschedule policy of a spec: at most one (repeats of one are fine), "off" or "on-node-failure". */
function checkReschedule(policies: Array<{ value: string; field: string }>): string[] {
  for (const p of policies) {
    if (!(reschedulePolicies as readonly string[]).includes(p.value)) throw InvalidArgumentError.field(p.field, p.value, `unknown reschedule policy; expected ${reschedulePolicies.join(' or ')}`);
  }
  const distinct = [...new Set(policies.map((p) => p.value))];
  if (distinct.length > 1) throw InvalidArgumentError.field(policies[policies.length - 1].field, policies[policies.length - 1].value, `too many reschedule policies (${distinct.join(', ')}); give one`);
  if (distinct[0] === 'on-node-failure') {
    const where = policies.find((p) => p.value === 'on-node-failure')!.field;
    throw new FailedPreconditionError(
      `${where}: reschedule policy "on-node-failure" is not supported yet: the cluster does not reschedule containers when their engine fails, so the container was not created; leave the policy out (or use "off")`,
      { reason: 'RESCHEDULE_NOT_SUPPORTED', metadata: { field: where } },
    );
  }
  return distinct;
}

/** What placement made of a spec: the request, the env for the container, and the labels the container keeps. */
export interface PlacementFromSpec {
  request: PlacementRequest;
  /** The env without the `constraint:`, `affinity:` and `reschedule:` entries, which are not for the container. */
  env: string[];
  /**
   * The spec's labels with every constraint, affinity and reschedule policy of every source (the
   * typed fields, env entries, the labels) in classic Swarm's labels, as JSON arrays of the
   * expressions as written; a label is left out when there is nothing to put in it.
   */
  labels: Record<string, string>;
  /** The reschedule policies in force ("off" at most, until rescheduling exists). */
  reschedulePolicies: string[];
}

/**
 * Reads placement from a spec: typed fields first, then, for compatibility with classic Swarm,
 * env entries `constraint:EXPR` / `affinity:EXPR` / `reschedule:POLICY` and the JSON-array labels.
 * Returns the env without those entries, which are not for the container, and the labels the
 * container is to carry them in. A reschedule policy "on-node-failure", from the env or the
 * label, is refused (FAILED_PRECONDITION): the cluster does not reschedule yet, and a user's
 * instruction is never dropped silently.
 */
export function placementRequestFrom(spec: PlacementInput): PlacementFromSpec {
  const constraints: Expression[] = spec.constraints.map((c, i) => parseExpression(c, `constraints[${i}]`));
  const affinities: Expression[] = spec.affinities.map((a, i) => parseExpression(a, `affinities[${i}]`));
  const reschedule: Array<{ value: string; field: string }> = [];
  const env: string[] = [];
  spec.env.forEach((entry, i) => {
    const m = /^(constraint|affinity|reschedule):(.*)$/.exec(entry);
    if (!m) return env.push(entry);
    if (m[1] === 'reschedule') return reschedule.push({ value: m[2].trim(), field: `env[${i}]` });
    const expression = parseExpression(m[2], `env[${i}]`);
    (m[1] === 'constraint' ? constraints : affinities).push(expression);
  });
  jsonList(`labels[${constraintsLabel}]`, spec.labels[constraintsLabel]).forEach((c, i) => constraints.push(parseExpression(c, `labels[${constraintsLabel}][${i}]`)));
  jsonList(`labels[${affinitiesLabel}]`, spec.labels[affinitiesLabel]).forEach((a, i) => affinities.push(parseExpression(a, `labels[${affinitiesLabel}][${i}]`)));
  jsonList(`labels[${reschedulePoliciesLabel}]`, spec.labels[reschedulePoliciesLabel]).forEach((p, i) => reschedule.push({ value: p.trim(), field: `labels[${reschedulePoliciesLabel}][${i}]` }));
  const policies = checkReschedule(reschedule);
  const labels: Record<string, string> = { ...spec.labels };
  const keep = (key: string, values: string[]) => {
    if (values.length) labels[key] = JSON.stringify(values);
    else delete labels[key];
  };
  keep(constraintsLabel, constraints.map((c) => c.text));
  keep(affinitiesLabel, affinities.map((a) => a.text));
  keep(reschedulePoliciesLabel, policies);
  const dependencies = [...(spec.volumesFrom ?? []).map((v) => v.split(':')[0]), ...(spec.links ?? []).map((l) => l.split(':')[0])];
  if (spec.networkMode.startsWith('container:')) dependencies.push(spec.networkMode.slice('container:'.length));
  return {
    env,
    labels,
    reschedulePolicies: policies,
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
