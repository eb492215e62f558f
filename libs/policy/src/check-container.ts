import { InvalidArgumentError, PermissionDeniedError } from '@flotilla/errors';
import type { Role } from '@flotilla/pki';
import { allowanceFor, policyFlagName, type ContainerPolicy, type RoleAllowance } from './container-policy';
import {
  capabilityProblem,
  ipcModeOthers,
  isUnder,
  localLogDrivers,
  namespaceChoice,
  networkModeOthers,
  normaliseCapability,
  parseBind,
  parseDevice,
  parseMount,
  pidModeOthers,
  utsModeOthers,
  type HostAccess,
} from './host-access';

/** "the cluster-manager's container policy (/etc/flotilla/policy.json)". */
export function describePolicy(policy: ContainerPolicy): string {
  return `the ${policy.holder ? `${policy.holder}'s ` : ''}container policy (${policy.source})`;
}

function forWhom(role: Role | undefined): string {
  return role === undefined ? 'a caller without a role' : `role "${role}"`;
}

type NamespaceKey = 'hostNetwork' | 'hostPid' | 'hostIpc' | 'hostUts';

const namespaces: ReadonlyArray<{ field: 'networkMode' | 'pidMode' | 'ipcMode' | 'utsMode'; key: NamespaceKey; what: string; others: readonly string[]; joinable: boolean }> = [
  { field: 'networkMode', key: 'hostNetwork', what: 'host networking', others: networkModeOthers, joinable: true },
  { field: 'pidMode', key: 'hostPid', what: "the host's PID namespace", others: pidModeOthers, joinable: true },
  { field: 'ipcMode', key: 'hostIpc', what: "the host's IPC namespace", others: ipcModeOthers, joinable: true },
  // Docker has no container:<x> for UTS.
  { field: 'utsMode', key: 'hostUts', what: "the host's UTS namespace", others: utsModeOthers, joinable: false },
];

/**
 * Refuses, with PERMISSION_DENIED naming the field, the value and the policy, anything in the
 * request that `policy` does not allow `role` to take of the host; malformed values (a bind
 * without a target, a relative or `..` host path, a device without a path) are INVALID_ARGUMENT.
 * Every value is read first, so a malformed request is answered as such whatever the policy.
 */
export function checkContainer(request: HostAccess, role: Role | undefined, policy: ContainerPolicy): void {
  const allowance = allowanceFor(policy, role);
  const deny = (field: string, value: unknown, what: string, key: keyof RoleAllowance, allowed = '') => {
    const hint = role === undefined ? 'a caller without a role is allowed nothing of the host' : `${allowed ? `allowed: ${allowed}; ` : ''}allow it with "${key}" in ${policyFlagName}`;
    return new PermissionDeniedError(`${field} ${JSON.stringify(value)}: ${describePolicy(policy)} does not allow ${what} for ${forWhom(role)} (${hint})`);
  };

  const modes = namespaces.map((n) => ({ ...n, value: request[n.field], choice: namespaceChoice(n.field, request[n.field], n.others, n.joinable) }));
  const capabilities = request.capAdd.map((text, i) => {
    const capability = normaliseCapability(text);
    const problem = capabilityProblem(capability);
    if (problem) throw InvalidArgumentError.field(`capAdd[${i}]`, text, problem);
    return { field: `capAdd[${i}]`, text, capability };
  });
  const devices = request.devices.map((text, i) => ({ field: `devices[${i}]`, text, device: parseDevice(`devices[${i}]`, text) }));
  const binds = request.binds.map((text, i) => ({ field: `binds[${i}]`, text, bind: parseBind(`binds[${i}]`, text) }));
  const mounts = (request.mounts ?? []).map((m, i) => ({ field: `mounts[${i}].source`, mount: parseMount(`mounts[${i}]`, m) }));
  const logDriver = request.logConfig?.driver ?? '';

  if (request.privileged && !allowance.privileged) throw deny('privileged', true, 'privileged containers', 'privileged');
  for (const m of modes) {
    if (m.choice.kind === 'host' && !allowance[m.key]) throw deny(m.field, m.value, m.what, m.key);
    if (m.choice.kind === 'container' && !allowance.containerNamespaces) throw deny(m.field, m.value, "joining another container's namespaces", 'containerNamespaces');
  }
  const anyCapability = allowance.capabilities.includes('ALL');
  for (const c of capabilities) {
    if (!anyCapability && !allowance.capabilities.includes(c.capability)) {
      throw deny(c.field, c.text, `adding capability ${c.capability}`, 'capabilities', allowance.capabilities.join(', '));
    }
  }
  for (const d of devices) {
    if (!allowance.devices.includes(d.device.pathOnHost)) throw deny(d.field, d.text, `host device ${d.device.pathOnHost}`, 'devices', allowance.devices.join(', '));
  }
  for (const b of binds) {
    // Named volumes live in Docker's own storage, not in the host's tree.
    if (b.bind.kind !== 'host') continue;
    const source = b.bind.source;
    if (!allowance.bindPaths.some((prefix) => isUnder(source, prefix))) {
      throw deny(b.field, b.text, `binding host path ${source}`, 'bindPaths', allowance.bindPaths.join(', '));
    }
  }
  for (const m of mounts) {
    // Volumes and tmpfs live in Docker's storage and in memory, not in the host's tree.
    if (m.mount.type !== 'bind') continue;
    const source = m.mount.source;
    if (!allowance.bindPaths.some((prefix) => isUnder(source, prefix))) {
      throw deny(m.field, source, `binding host path ${source}`, 'bindPaths', allowance.bindPaths.join(', '));
    }
  }
  if (logDriver && !localLogDrivers.includes(logDriver) && !allowance.logDrivers.includes(logDriver)) {
    throw deny('logConfig.driver', logDriver, `log driver ${logDriver} (it sends the output off the engine)`, 'logDrivers', [...localLogDrivers, ...allowance.logDrivers].join(', '));
  }
}
