import { randomUUID } from 'node:crypto';
import { flag } from '@flotilla/config';
import type { ContainerSpec } from '@flotilla/proto/cluster';
import type { OptionValues } from './args';
import { UsageError } from './errors';
import { parseCpus, parseMemory, parsePort, parseRestart } from './output/units';
import { runOnlyOptions, runSpecFields, runSpecOptions, type RunSpecValues } from './run-options';

/** The options `run` and `explain` share: what to run and where it may go. */
export const specOptions = {
  name: flag('string', { placeholder: 'NAME', description: 'Container name, unique in the cluster' }),
  env: flag('string', { short: 'e', repeat: true, placeholder: 'KEY=VALUE', description: 'Environment variable; constraint:EXPR, affinity:EXPR and reschedule:off are read as on classic Swarm (reschedule:on-node-failure is refused: not supported yet)' }),
  label: flag('string', { short: 'l', repeat: true, placeholder: 'KEY=VALUE', description: 'Container label' }),
  memory: flag('string', { short: 'm', placeholder: 'SIZE', description: 'Memory reserved and limit: 64m, 512k, 1g, or bytes' }),
  cpus: flag('string', { short: 'c', placeholder: 'CPUS', description: 'CPUs reserved and limit, e.g. 0.5' }),
  publish: flag('string', { short: 'p', repeat: true, placeholder: '[IP:]HOST:CONTAINER[/PROTO]', description: 'Publish a container port on the engine\'s host' }),
  network: flag('string', { placeholder: 'MODE', description: 'Network mode: none, host, container:NAME, or a network name', complete: ['none', 'host', 'bridge'] }),
  restart: flag('string', { placeholder: 'POLICY', description: 'no, always, unless-stopped, on-failure[:N]', complete: ['no', 'always', 'unless-stopped', 'on-failure'] }),
  entrypoint: flag('string', { placeholder: 'CMD', description: "Override the image's entrypoint" }),
  constraint: flag('string', { repeat: true, placeholder: 'EXPR', description: 'Engine constraint: KEY==VALUE or KEY!=VALUE (node: engine name, ID, address, IP or ID|address; or an engine label; glob, /regex/, ~ for soft)' }),
  affinity: flag('string', { repeat: true, placeholder: 'EXPR', description: 'Affinity: container==NAME, image==REF, or a container label' }),
  strategy: flag('string', { placeholder: 'STRATEGY', choices: ['spread', 'binpack', 'random'], description: "Placement strategy for this container (default: the manager's)" }),
  // What the container may take of its host: refused (exit 7) unless the container policy allows it for your role.
  privileged: flag('boolean', { description: 'Give the container every capability and every host device (needs the container policy to allow it)' }),
  pid: flag('string', { placeholder: 'MODE', description: 'PID namespace: host, or container:NAME', complete: ['host'] }),
  ipc: flag('string', { placeholder: 'MODE', description: 'IPC namespace: private, shareable, none, host, or container:NAME', complete: ['private', 'shareable', 'none', 'host'] }),
  uts: flag('string', { placeholder: 'MODE', description: 'UTS namespace: host', complete: ['host'] }),
  'cap-add': flag('string', { repeat: true, placeholder: 'CAP', description: 'Add a Linux capability, e.g. NET_ADMIN' }),
  device: flag('string', { repeat: true, placeholder: 'HOST_PATH[:CONTAINER_PATH[:PERMS]]', description: 'Give the container a host device', complete: 'files' as const }),
  volume: flag('string', { short: 'v', repeat: true, placeholder: 'SOURCE:TARGET[:OPTIONS]', description: 'Bind a host path (absolute) or mount a named volume (an existing one places the container on its engine)' }),
  ...runSpecOptions,
};

/** Flags of `run` alone: -t, -i and -h (hostname, as in docker run). */
export { runOnlyOptions };

export type SpecValues = OptionValues<typeof specOptions> & RunSpecValues;

/**
 * The create's request ID: the one given (--request-id, so a script that runs the same command
 * again after a lost answer gets the container the first made), or a fresh one per invocation.
 */
export function requestIdFor(given: string | undefined): string {
  if (given === undefined) return randomUUID();
  if (!/^[A-Za-z0-9._-]{1,128}$/.test(given)) throw new UsageError(`--request-id ${JSON.stringify(given)}: expected 1 to 128 of A-Z a-z 0-9 . _ -`);
  return given;
}

function keyValue(text: string, flagName: string): [string, string] {
  const eq = text.indexOf('=');
  if (eq <= 0) throw new UsageError(`${flagName} ${JSON.stringify(text)}: expected KEY=VALUE`);
  return [text.slice(0, eq), text.slice(eq + 1)];
}

/** `KEY=VALUE` entries of a repeated flag as a map; an entry without `=` has an empty value, as docker's `--label`. */
export function keyValues(entries: string[], flagName: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const entry of entries) {
    if (!entry.includes('=')) {
      if (!entry) throw new UsageError(`${flagName} "": expected KEY=VALUE`);
      out[entry] = '';
      continue;
    }
    const [k, v] = keyValue(entry, flagName);
    out[k] = v;
  }
  return out;
}

/**
 * The container spec from the flags and `IMAGE [CMD...]`. `-e KEY` without a value takes KEY from
 * this environment, as docker does (and is left out when unset).
 */
export function buildSpec(values: SpecValues & { rm?: boolean; detach?: boolean }, positionals: string[], env: NodeJS.ProcessEnv): ContainerSpec {
  const [image, ...command] = positionals;
  if (!image) throw new UsageError('an IMAGE is required');
  const containerEnv: string[] = [];
  for (const entry of values.env) {
    // reschedule:POLICY goes to the manager too, which refuses what it cannot do rather than drop it.
    if (entry.includes('=') || /^(constraint|affinity|reschedule):/.test(entry)) containerEnv.push(entry);
    else if (env[entry] !== undefined) containerEnv.push(`${entry}=${env[entry]}`);
  }
  const labels = keyValues(values.label, '--label');
  return {
    name: values.name ?? '',
    image,
    // Set by run for an attached -i (docker run's StdinOnce): the end of stdin ends the container's.
    stdinOnce: false,
    command,
    entrypoint: values.entrypoint !== undefined ? [values.entrypoint] : [],
    env: containerEnv,
    labels,
    nanoCpus: values.cpus !== undefined ? parseCpus(values.cpus) : '0',
    memoryBytes: values.memory !== undefined ? String(parseMemory(values.memory)) : '0',
    portBindings: values.publish.map(parsePort),
    networkMode: values.network ?? '',
    restartPolicy: values.restart !== undefined ? parseRestart(values.restart) : undefined,
    constraints: values.constraint,
    affinities: values.affinity,
    strategy: values.strategy ?? '',
    privileged: values.privileged,
    pidMode: values.pid ?? '',
    ipcMode: values.ipc ?? '',
    utsMode: values.uts ?? '',
    capAdd: values['cap-add'],
    devices: values.device,
    binds: values.volume,
    ...runSpecFields(values),
    // -d --rm: Docker removes the container when it exits, since nobody watches. In the foreground
    // the CLI removes it once its output is read and its exit code seen, as `docker run --rm` does
    // (Docker's own removal could beat the CLI to the output of a short-lived container).
    autoRemove: (values.rm ?? false) && (values.detach ?? false),
  };
}
