/*
 * The container policy: what of its host a container may take, per role of the caller who asks
 * for it. A Docker engine is root on its host, so a container with the host's network, PID, IPC
 * or UTS namespace, privileged mode, added capabilities, host devices or a bind mount of a host
 * path hands its creator (part of) the host. The cluster-manager checks every spec against its
 * policy for the caller's role, and each engine-agent checks again against its own policy for
 * the role the manager says it acts for, so only a stolen manager certificate gets past both.
 *
 * The default policy allows nothing of the host to anyone. A policy file (--container-policy
 * FILE, JSON, at most 64 KiB) allows more per role:
 *
 *   {
 *     "roles": {
 *       "operator": {
 *         "hostNetwork": true,             networkMode "host"
 *         "hostPid": false,                pidMode "host"
 *         "hostIpc": false,                ipcMode "host"
 *         "hostUts": false,                utsMode "host"
 *         "privileged": false,             privileged: every capability and every device
 *         "capabilities": ["NET_ADMIN"],   capAdd entries allowed (any case, "CAP_" optional; "ALL" allows all)
 *         "devices": ["/dev/fuse"],        host device paths allowed in devices, exactly
 *         "bindPaths": ["/srv/data"],      host paths binds (and bind mounts) may mount: the path itself or anything under it
 *         "logDrivers": ["syslog"],        log drivers allowed beyond json-file, local and none, which
 *                                          keep output on the engine (others send it off the host)
 *         "containerNamespaces": true      "container:<name|id>" modes (joining another container's
 *                                          namespaces, not the host's); true unless set false
 *       }
 *     }
 *   }
 *
 * Every key is optional: a role left out, or a key left out, allows nothing of the host. Roles are
 * manager, agent, discovery, operator and reader. Unknown keys, unknown roles and values of the
 * wrong type are errors naming the key. Named volumes (a bind whose SOURCE does not start with "/",
 * a mount of type volume) and tmpfs mounts are always allowed.
 */
import { InvalidArgumentError } from '@flotilla/errors';
import { isRole, roles, type Role } from '@flotilla/pki';
import { capabilityProblem, hostPathProblem, logDriverPattern, normaliseCapability, normalPath } from './host-access';

/** What one role may take of the host. Lists are normalised: capabilities upper case without CAP_, paths absolute and clean. */
export interface RoleAllowance {
  hostNetwork: boolean;
  hostPid: boolean;
  hostIpc: boolean;
  hostUts: boolean;
  privileged: boolean;
  /** "ALL" allows every capability. */
  capabilities: readonly string[];
  /** Host device paths, matched exactly. */
  devices: readonly string[];
  /** Host path prefixes: a bind may mount the prefix or anything under it. */
  bindPaths: readonly string[];
  /** Log drivers allowed beyond json-file, local and none (always allowed), by exact name. */
  logDrivers: readonly string[];
  /** "container:<x>" namespace modes: sharing another container's namespaces is no host access. */
  containerNamespaces: boolean;
}

export interface ContainerPolicy {
  roles: Readonly<Partial<Record<Role, RoleAllowance>>>;
  /** For messages: the file the policy was read from, or "default: nothing of the host". */
  source: string;
  /** For messages: whose policy this is, e.g. "cluster-manager"; empty when unsaid. */
  holder: string;
}

/** What a role left out of the policy, or a caller without a role, may take: nothing. */
export const noHostAccess: RoleAllowance = Object.freeze({
  hostNetwork: false,
  hostPid: false,
  hostIpc: false,
  hostUts: false,
  privileged: false,
  capabilities: Object.freeze([]),
  devices: Object.freeze([]),
  bindPaths: Object.freeze([]),
  logDrivers: Object.freeze([]),
  containerNamespaces: true,
});

export const defaultPolicySource = 'default: nothing of the host';

/** Nothing of the host for anyone. */
export function defaultPolicy(holder = ''): ContainerPolicy {
  return { roles: {}, source: defaultPolicySource, holder };
}

/** What `role` may take under `policy`; a caller without a role may take nothing. */
export function allowanceFor(policy: ContainerPolicy, role: Role | undefined): RoleAllowance {
  if (role === undefined) return { ...noHostAccess, containerNamespaces: false };
  return policy.roles[role] ?? noHostAccess;
}

/** The largest policy file read. */
export const policyFileLimitBytes = 64 * 1024;

/** The flag a policy comes in by, named in errors and in the hints of refusals. */
export const policyFlagName = '--container-policy';

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

function typeName(value: Json): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  return typeof value === 'object' ? 'an object' : JSON.stringify(value);
}

function isObject(value: Json): value is { [key: string]: Json } {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

const booleanKeys = ['hostNetwork', 'hostPid', 'hostIpc', 'hostUts', 'privileged', 'containerNamespaces'] as const;
const listKeys = ['capabilities', 'devices', 'bindPaths', 'logDrivers'] as const;
const allowanceKeys: readonly string[] = [...booleanKeys, ...listKeys];

/** Reads a policy from the text of a policy file; `source` (its path) is named in errors. */
export function parsePolicy(text: string, source: string, holder = ''): ContainerPolicy {
  const fail = (why: string) => InvalidArgumentError.field(policyFlagName, source, why);
  let document: Json;
  try {
    document = JSON.parse(text) as Json;
  } catch (err) {
    throw fail(`not JSON: ${(err as Error).message}`);
  }
  if (!isObject(document)) throw fail(`expected an object such as {"roles": {"operator": {"hostNetwork": true}}}, not ${typeName(document)}`);
  for (const key of Object.keys(document)) if (key !== 'roles') throw fail(`${key}: unknown key (expected "roles")`);
  const byRole: Partial<Record<Role, RoleAllowance>> = {};
  const rolesValue = document.roles ?? {};
  if (!isObject(rolesValue)) throw fail(`roles: expected an object of roles, not ${typeName(rolesValue)}`);
  for (const [role, value] of Object.entries(rolesValue)) {
    if (!isRole(role)) throw fail(`roles.${role}: unknown role (expected one of ${roles.join(', ')})`);
    byRole[role] = allowanceFrom(value, `roles.${role}`, fail);
  }
  return { roles: byRole, source, holder };
}

function allowanceFrom(value: Json, at: string, fail: (why: string) => Error): RoleAllowance {
  if (!isObject(value)) throw fail(`${at}: expected an object of what the role may take, not ${typeName(value)}`);
  for (const key of Object.keys(value)) {
    if (!allowanceKeys.includes(key)) throw fail(`${at}.${key}: unknown key (expected ${allowanceKeys.join(', ')})`);
  }
  const flag = (key: (typeof booleanKeys)[number], otherwise: boolean): boolean => {
    const v = value[key];
    if (v === undefined) return otherwise;
    if (typeof v !== 'boolean') throw fail(`${at}.${key}: expected true or false, not ${typeName(v)}`);
    return v;
  };
  const list = (key: (typeof listKeys)[number], normalise: (entry: string, where: string) => string): string[] => {
    const v = value[key];
    if (v === undefined) return [];
    if (!Array.isArray(v)) throw fail(`${at}.${key}: expected a list of strings, not ${typeName(v)}`);
    return v.map((entry, i) => {
      if (typeof entry !== 'string') throw fail(`${at}.${key}[${i}]: expected a string, not ${typeName(entry)}`);
      return normalise(entry, `${at}.${key}[${i}]`);
    });
  };
  const path = (entry: string, where: string) => {
    const problem = hostPathProblem(entry);
    if (problem) throw fail(`${where} ${JSON.stringify(entry)}: ${problem}`);
    return normalPath(entry);
  };
  return {
    hostNetwork: flag('hostNetwork', false),
    hostPid: flag('hostPid', false),
    hostIpc: flag('hostIpc', false),
    hostUts: flag('hostUts', false),
    privileged: flag('privileged', false),
    containerNamespaces: flag('containerNamespaces', true),
    capabilities: list('capabilities', (entry, where) => {
      const capability = normaliseCapability(entry);
      const problem = capabilityProblem(capability);
      if (problem) throw fail(`${where} ${JSON.stringify(entry)}: ${problem}`);
      return capability;
    }),
    devices: list('devices', path),
    bindPaths: list('bindPaths', path),
    logDrivers: list('logDrivers', (entry, where) => {
      if (!logDriverPattern.test(entry)) throw fail(`${where} ${JSON.stringify(entry)}: expected a log driver name such as syslog`);
      return entry;
    }),
  };
}
