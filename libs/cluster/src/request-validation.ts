import { clip, InvalidArgumentError } from '@flotilla/errors';
import type { PortBinding, RegistryAuth } from '@flotilla/proto';
import { ContainerSpec, type AttachStart, type ClusterServiceService, type CopyToStart, type ExecStart } from '@flotilla/proto/cluster';
import { affinitiesLabel, constraintsLabel } from '@flotilla/scheduler';
import { checkContainerName, checkCount, checkList, checkMap, checkRange, checkText } from './request-checks';
import { requestLimits as L } from './request-limits';

/**
 * The size limits of every ClusterService request (see request-limits.ts), one check per method,
 * run before the method does any work. Only sizes and shapes are checked here; what a value means
 * (an address, a status, a placement expression) is checked by the code that uses it.
 */

type Methods = typeof ClusterServiceService;
type RequestOf<K extends keyof Methods> = ReturnType<Methods[K]['requestDeserialize']>;

/** A check per ClusterService method: a new method does not compile until it has one. */
export type ClusterRequestChecks = { readonly [K in keyof Methods]: (request: RequestOf<K>) => void };

const labels = { entries: L.labelEntries, keyBytes: L.labelKeyBytes, valueBytes: L.labelValueBytes, totalBytes: L.labelsTotalBytes };
const references = { entries: L.filterEntries, entryBytes: L.referenceBytes };
const filterValues = { entries: L.filterEntries, entryBytes: L.filterValueBytes };

const reference = (field: string, value: string) => checkText(field, value, L.referenceBytes);

function checkPortBindings(field: string, bindings: readonly PortBinding[]): void {
  checkCount(field, bindings.length, L.portBindings);
  bindings.forEach((p, i) => {
    checkRange(`${field}[${i}].container_port`, p.containerPort, 1, 65535);
    checkRange(`${field}[${i}].host_port`, p.hostPort, 0, 65535);
    checkText(`${field}[${i}].protocol`, p.protocol, L.protocolBytes);
    checkText(`${field}[${i}].host_ip`, p.hostIp, L.hostIpBytes);
  });
}

/** The length of a JSON array label; anything else is left to the scheduler to refuse. */
function jsonArrayItems(text: string | undefined): unknown[] {
  if (text === undefined) return [];
  try {
    const parsed: unknown = JSON.parse(text);
    return Array.isArray(parsed) ? parsed : [];
  } catch {
    return [];
  }
}

/**
 * Placement expressions come from three places (the field, `constraint:`/`affinity:` env entries,
 * the classic Swarm label); each is evaluated against every engine, so all of them count.
 */
function checkExpressions(spec: ContainerSpec, kind: 'constraint' | 'affinity'): void {
  const plural = kind === 'constraint' ? 'constraints' : 'affinities';
  const listed = kind === 'constraint' ? spec.constraints : spec.affinities;
  const label = kind === 'constraint' ? constraintsLabel : affinitiesLabel;
  const limit = kind === 'constraint' ? L.constraints : L.affinities;
  checkList(`spec.${plural}`, listed, { entries: limit, entryBytes: L.expressionBytes });
  const prefix = `${kind}:`;
  let count = listed.length;
  spec.env.forEach((entry, i) => {
    if (!entry.startsWith(prefix)) return;
    count++;
    checkText(`spec.env[${i}]`, entry, L.expressionBytes + prefix.length);
  });
  const items = jsonArrayItems(spec.labels[label]);
  items.forEach((item, i) => {
    if (typeof item === 'string') checkText(`spec.labels[${JSON.stringify(label)}][${i}]`, item, L.expressionBytes);
  });
  count += items.length;
  if (count > limit) {
    throw InvalidArgumentError.field(`spec.${plural}`, `${count} expressions`, `${count} ${plural} from the field, env entries "${prefix}" and the label ${label} together; at most ${limit}`);
  }
}

/** Every field of a container spec, then the spec as a whole. */
export function checkContainerSpec(spec: ContainerSpec | undefined): void {
  if (!spec) return; // "a spec is required" is the handler's to say
  checkContainerName('spec.name', spec.name, L.nameBytes);
  checkText('spec.image', spec.image, L.imageBytes);
  checkList('spec.command', spec.command, { entries: L.argvEntries, entryBytes: L.argBytes, totalBytes: L.argvTotalBytes });
  checkList('spec.entrypoint', spec.entrypoint, { entries: L.argvEntries, entryBytes: L.argBytes, totalBytes: L.argvTotalBytes });
  checkList('spec.env', spec.env, { entries: L.envEntries, entryBytes: L.envEntryBytes, totalBytes: L.envTotalBytes });
  checkMap('spec.labels', spec.labels, labels);
  checkPortBindings('spec.port_bindings', spec.portBindings);
  checkText('spec.network_mode', spec.networkMode, L.modeBytes);
  if (spec.restartPolicy) checkText('spec.restart_policy.name', spec.restartPolicy.name, L.wordBytes);
  checkExpressions(spec, 'constraint');
  checkExpressions(spec, 'affinity');
  checkText('spec.strategy', spec.strategy, L.wordBytes);
  checkText('spec.pid_mode', spec.pidMode, L.modeBytes);
  checkText('spec.ipc_mode', spec.ipcMode, L.modeBytes);
  checkText('spec.uts_mode', spec.utsMode, L.modeBytes);
  checkList('spec.cap_add', spec.capAdd, { entries: L.capabilities, entryBytes: L.capabilityBytes });
  checkList('spec.devices', spec.devices, { entries: L.devices, entryBytes: L.deviceBytes });
  checkList('spec.binds', spec.binds, { entries: L.binds, entryBytes: L.bindBytes });
  checkCount('spec.mounts', spec.mounts.length, L.mounts);
  spec.mounts.forEach((m, i) => {
    checkText(`spec.mounts[${i}].type`, m.type, L.wordBytes);
    checkText(`spec.mounts[${i}].source`, m.source, L.mountPathBytes);
    checkText(`spec.mounts[${i}].target`, m.target, L.mountPathBytes);
    checkMap(`spec.mounts[${i}].options`, m.options, { entries: L.mountOptions, keyBytes: L.mountOptionBytes, valueBytes: L.mountOptionBytes, totalBytes: L.mountOptions * L.mountOptionBytes * 2 });
  });
  checkMap('spec.tmpfs', spec.tmpfs, { entries: L.tmpfsEntries, keyBytes: L.tmpfsPathBytes, valueBytes: L.tmpfsOptionsBytes, totalBytes: L.tmpfsEntries * (L.tmpfsPathBytes + L.tmpfsOptionsBytes) });
  checkText('spec.user', spec.user, L.userBytes);
  checkText('spec.working_dir', spec.workingDir, L.pathBytes);
  checkText('spec.hostname', spec.hostname, L.hostnameBytes);
  checkList('spec.dns', spec.dns, { entries: L.dnsEntries, entryBytes: L.dnsBytes });
  checkList('spec.extra_hosts', spec.extraHosts, { entries: L.extraHosts, entryBytes: L.extraHostBytes });
  if (spec.healthCheck) checkList('spec.health_check.test', spec.healthCheck.test, { entries: L.argvEntries, entryBytes: L.argBytes, totalBytes: L.healthTestTotalBytes });
  if (spec.logConfig) {
    checkText('spec.log_config.driver', spec.logConfig.driver, L.logDriverBytes);
    checkMap('spec.log_config.options', spec.logConfig.options, { entries: L.logOptionEntries, keyBytes: L.logOptionKeyBytes, valueBytes: L.logOptionValueBytes, totalBytes: L.logOptionEntries * (L.logOptionKeyBytes + L.logOptionValueBytes) });
  }
  checkCount('spec.ulimits', spec.ulimits.length, L.ulimits);
  spec.ulimits.forEach((u, i) => checkText(`spec.ulimits[${i}].name`, u.name, L.wordBytes));
  checkText('spec.stop_signal', spec.stopSignal, L.signalBytes);
  checkText('spec.cpuset_cpus', spec.cpusetCpus, L.cpusetBytes);
  // Every field is within its limit, but together they may still be more than an agent takes.
  const bytes = ContainerSpec.encode(spec).finish().length;
  if (bytes > L.specBytes) throw InvalidArgumentError.field('spec', `${clip(spec.image)} (${bytes} bytes)`, `the spec is ${bytes} bytes encoded; at most ${L.specBytes}`);
}

/** The sizes of an exec's first message; the messages after it are checked as they come (checkSessionInput). */
export function checkExecStartSizes(start: ExecStart): void {
  reference('start.container', start.container);
  const options = start.options;
  if (!options) return;
  checkList('start.options.command', options.command, { entries: L.argvEntries, entryBytes: L.argBytes, totalBytes: L.argvTotalBytes });
  checkList('start.options.env', options.env, { entries: L.envEntries, entryBytes: L.envEntryBytes, totalBytes: L.envTotalBytes });
  checkText('start.options.user', options.user, L.userBytes);
  checkText('start.options.working_dir', options.workingDir, L.pathBytes);
}

/** The sizes of an attach's first message; the messages after it are checked as they come (checkSessionInput). */
export function checkAttachStartSizes(start: AttachStart): void {
  reference('start.container', start.container);
}

/** Registry credentials' sizes; the values are never put in a message (they are secrets). */
function checkRegistryAuthSizes(field: string, auth: RegistryAuth | undefined): void {
  if (!auth) return;
  for (const [name, value, limit] of [
    ['username', auth.username, L.registryNameBytes],
    ['password', auth.password, L.registrySecretBytes],
    ['identity_token', auth.identityToken, L.registrySecretBytes],
    ['server_address', auth.serverAddress, L.registryNameBytes],
  ] as const) {
    const bytes = Buffer.byteLength(value);
    if (bytes > limit) throw InvalidArgumentError.field(`${field}.${name}`, `(${bytes} bytes)`, `at most ${limit} bytes`);
  }
}

/** The sizes of a copy's first message; its data messages are checked as they come. */
export function checkCopyToStartSizes(start: CopyToStart): void {
  reference('start.container', start.container);
  checkText('start.path', start.path, L.pathBytes);
}

/** A discovery push's sizes; the generation and the engine limit are the cluster's to check. */
export function checkSyncSizes(source: string, addresses: readonly string[]): void {
  checkText('source', source, L.sourceBytes);
  checkList('addresses', addresses, { entries: L.syncAddresses, entryBytes: L.addressBytes });
}

export const clusterRequestChecks: ClusterRequestChecks = {
  addEngine: (r) => checkText('address', r.address, L.addressBytes),
  removeEngine: (r) => reference('engine', r.engine),
  listEngines: (r) => {
    checkCount('statuses', r.statuses.length, L.filterEntries);
    checkMap('labels', r.labels, labels);
    checkText('page_token', r.pageToken, L.pageTokenBytes);
  },
  getEngine: (r) => reference('engine', r.engine),
  getInfo: () => undefined,
  watchEvents: (r) => {
    checkList('types', r.types, filterValues);
    checkList('engines', r.engines, references);
    checkList('containers', r.containers, references);
  },
  syncEngines: (r) => checkSyncSizes(r.source, r.addresses),
  createContainer: (r) => {
    checkContainerSpec(r.spec);
    checkText('request_id', r.requestId, L.requestIdBytes);
    checkRegistryAuthSizes('registry_auth', r.registryAuth);
  },
  explainPlacement: (r) => checkContainerSpec(r.spec),
  startContainer: (r) => reference('container', r.container),
  stopContainer: (r) => {
    reference('container', r.container);
    if (r.timeoutSeconds !== undefined) checkRange('timeout_seconds', r.timeoutSeconds, 0, L.stopTimeoutSeconds);
  },
  killContainer: (r) => {
    reference('container', r.container);
    checkText('signal', r.signal, L.signalBytes);
  },
  removeContainer: (r) => reference('container', r.container),
  pauseContainer: (r) => reference('container', r.container),
  unpauseContainer: (r) => reference('container', r.container),
  renameContainer: (r) => {
    reference('container', r.container);
    checkText('new_name', r.newName, L.nameBytes);
  },
  updateContainer: (r) => {
    reference('container', r.container);
    if (r.resources?.cpusetCpus !== undefined) checkText('resources.cpuset_cpus', r.resources.cpusetCpus, L.cpusetBytes);
    if (r.resources?.restartPolicy) checkText('resources.restart_policy.name', r.resources.restartPolicy.name, L.wordBytes);
  },
  waitContainer: (r) => {
    reference('container', r.container);
    checkText('condition', r.condition, L.waitConditionBytes);
  },
  topContainer: (r) => {
    reference('container', r.container);
    checkText('ps_args', r.psArgs, L.psArgsBytes);
  },
  inspectContainer: (r) => reference('container', r.container),
  containerLogs: (r) => {
    reference('container', r.container);
    // A Timestamp beyond what a Date holds decodes to an invalid Date, which cannot be sent on.
    if (r.since !== undefined && !Number.isFinite(r.since.getTime())) throw InvalidArgumentError.field('since', String(r.since), 'not a time a log can have');
  },
  containerStats: (r) => reference('container', r.container),
  listContainers: (r) => {
    checkList('engines', r.engines, references);
    checkList('states', r.states, filterValues);
    checkMap('labels', r.labels, labels);
    checkList('names', r.names, references);
    checkText('page_token', r.pageToken, L.pageTokenBytes);
  },
  pullImage: (r) => {
    checkText('image', r.image, L.imageBytes);
    checkList('engines', r.engines, references);
    checkRegistryAuthSizes('auth', r.auth);
  },
  listVolumes: (r) => {
    checkList('engines', r.engines, references);
    checkList('names', r.names, references);
    checkMap('labels', r.labels, labels);
    checkText('page_token', r.pageToken, L.pageTokenBytes);
  },
  createVolume: (r) => {
    checkText('name', r.name, L.nameBytes);
    checkList('engines', r.engines, references);
    checkText('driver', r.driver, L.filterValueBytes);
    checkMap('labels', r.labels, labels);
    checkMap('driver_opts', r.driverOpts, labels);
  },
  inspectVolume: (r) => {
    checkText('name', r.name, L.nameBytes);
    checkText('engine', r.engine, L.referenceBytes);
  },
  removeVolume: (r) => {
    checkText('name', r.name, L.nameBytes);
    checkText('engine', r.engine, L.referenceBytes);
  },
  listNetworks: (r) => {
    checkList('engines', r.engines, references);
    checkList('names', r.names, references);
    checkMap('labels', r.labels, labels);
    checkText('page_token', r.pageToken, L.pageTokenBytes);
  },
  createNetwork: (r) => {
    checkText('name', r.name, L.nameBytes);
    checkList('engines', r.engines, references);
    checkText('driver', r.driver, L.filterValueBytes);
    checkMap('labels', r.labels, labels);
    checkText('subnet', r.subnet, L.hostIpBytes);
    checkText('gateway', r.gateway, L.hostIpBytes);
  },
  inspectNetwork: (r) => {
    checkText('network', r.network, L.referenceBytes);
    checkText('engine', r.engine, L.referenceBytes);
  },
  removeNetwork: (r) => {
    checkText('network', r.network, L.referenceBytes);
    checkText('engine', r.engine, L.referenceBytes);
  },
  listImages: (r) => {
    checkList('engines', r.engines, references);
    checkList('references', r.references, references);
    checkMap('labels', r.labels, labels);
    checkText('page_token', r.pageToken, L.pageTokenBytes);
  },
  inspectImage: (r) => {
    checkText('image', r.image, L.imageBytes);
    checkText('engine', r.engine, L.referenceBytes);
  },
  removeImage: (r) => {
    checkText('image', r.image, L.imageBytes);
    checkText('engine', r.engine, L.referenceBytes);
  },
  tagImage: (r) => {
    checkText('image', r.image, L.imageBytes);
    checkText('tag', r.tag, L.imageBytes);
    checkText('engine', r.engine, L.referenceBytes);
  },
  // A two-way stream has no single request: its first message is checked by checkExecStartSizes.
  execContainer: () => undefined,
  attachContainer: () => undefined,
  inspectExec: (r) => {
    reference('container', r.container);
    checkText('exec_id', r.execId, L.referenceBytes);
  },
  statContainerPath: (r) => {
    reference('container', r.container);
    checkText('path', r.path, L.pathBytes);
  },
  copyFromContainer: (r) => {
    reference('container', r.container);
    checkText('path', r.path, L.pathBytes);
  },
  // A client stream: its start is checked by checkCopyToStartSizes.
  copyToContainer: () => undefined,
};
