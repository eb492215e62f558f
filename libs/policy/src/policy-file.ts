import { closeSync, openSync, readSync } from 'node:fs';
import { flag } from '@flotilla/config';
import { InvalidArgumentError } from '@flotilla/errors';
import { defaultPolicy, parsePolicy, policyFileLimitBytes, policyFlagName, type ContainerPolicy } from './container-policy';

/** The flag that names a service's policy file; `envPrefix` names its variable, e.g. FLOTILLA_MANAGER. */
export function policyFlags(envPrefix: string) {
  return {
    'container-policy': flag('string', {
      env: `${envPrefix}_CONTAINER_POLICY`,
      placeholder: 'FILE',
      description:
        'JSON file saying, per caller role, what a container may take of its host: {"roles": {"operator": {"hostNetwork": true, "bindPaths": ["/srv/data"]}}} (keys hostNetwork, hostPid, hostIpc, hostUts, privileged, capabilities, devices, bindPaths, containerNamespaces). Without it, nothing of the host for anyone.',
    }),
  };
}

/** The policy in the file at `path` (at most 64 KiB), or the default policy when no file is named. */
export function loadPolicy(path: string | undefined, holder = ''): ContainerPolicy {
  if (path === undefined || path.trim() === '') return defaultPolicy(holder);
  const cannot = (err: unknown) => InvalidArgumentError.field(policyFlagName, path, `cannot read it: ${(err as Error).message}`);
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (err) {
    throw cannot(err);
  }
  // Read at most one byte past the limit, so a huge file (or a device) is never read whole.
  const buffer = Buffer.alloc(policyFileLimitBytes + 1);
  let length = 0;
  try {
    while (length < buffer.length) {
      const n = readSync(fd, buffer, length, buffer.length - length, null);
      if (n === 0) break;
      length += n;
    }
  } catch (err) {
    throw cannot(err);
  } finally {
    closeSync(fd);
  }
  if (length > policyFileLimitBytes) throw InvalidArgumentError.field(policyFlagName, path, `larger than ${policyFileLimitBytes / 1024} KiB`);
  return parsePolicy(buffer.subarray(0, length).toString('utf8'), path, holder);
}
