import { flag } from '@flotilla/config';
import type { ContainerResources } from '@flotilla/proto';
import { defineCommand } from '../command';
import { containerHints, forEachContainer } from '../each';
import { UsageError } from '../errors';
import { parseCpus, parseMemory, parseRestart } from '../output/units';
import { integer, runSpecOptions } from '../run-options';

const hints = { ...containerHints, precondition: 'see flotilla engine ls for what each engine has free' };

export default defineCommand({
  name: 'update',
  summary: "Change containers' CPU, memory and process limits or restart policy",
  usage: '[flags] CONTAINER [CONTAINER...]',
  description:
    'As docker update: only the limits given change. A larger --cpus or --memory must fit the engine the container is on (the manager checks what it has free, as a placement would). Docker cannot lift a limit: re-create the container for that.',
  options: {
    cpus: flag('string', { placeholder: 'CPUS', description: 'CPU limit, e.g. 0.5' }),
    memory: flag('string', { short: 'm', placeholder: 'SIZE', description: 'Memory limit: 64m, 1g, or bytes (at least 6m)' }),
    'cpu-shares': { ...runSpecOptions['cpu-shares'], short: 'c' },
    'cpu-quota': runSpecOptions['cpu-quota'],
    'cpu-period': runSpecOptions['cpu-period'],
    'cpuset-cpus': runSpecOptions['cpuset-cpus'],
    'memory-reservation': runSpecOptions['memory-reservation'],
    'memory-swap': runSpecOptions['memory-swap'],
    'pids-limit': runSpecOptions['pids-limit'],
    restart: flag('string', { placeholder: 'POLICY', description: 'no, always, unless-stopped, on-failure[:N]', complete: ['no', 'always', 'unless-stopped', 'on-failure'] }),
  },
  args: { names: 'CONTAINER', min: 1, complete: 'containers' },
  hints,
  examples: ['flotilla update --memory 256m --cpus 1 web', 'flotilla update --restart unless-stopped web db'],
  async run(ctx, options, args) {
    const swap = options['memory-swap'];
    const resources: ContainerResources = {
      nanoCpus: options.cpus === undefined ? undefined : parseCpus(options.cpus),
      memoryBytes: options.memory === undefined ? undefined : String(parseMemory(options.memory)),
      cpuShares: options['cpu-shares'] === undefined ? undefined : integer(options['cpu-shares'], '--cpu-shares', 0),
      cpuQuota: options['cpu-quota'] === undefined ? undefined : integer(options['cpu-quota'], '--cpu-quota', 0),
      cpuPeriod: options['cpu-period'] === undefined ? undefined : integer(options['cpu-period'], '--cpu-period', 0),
      cpusetCpus: options['cpuset-cpus'],
      memoryReservationBytes: options['memory-reservation'] === undefined ? undefined : String(parseMemory(options['memory-reservation'], '--memory-reservation')),
      memorySwapBytes: swap === undefined ? undefined : swap.trim() === '-1' ? '-1' : String(parseMemory(swap, '--memory-swap')),
      pidsLimit: options['pids-limit'] === undefined ? undefined : integer(options['pids-limit'], '--pids-limit', -1),
      restartPolicy: options.restart === undefined ? undefined : parseRestart(options.restart),
    };
    if (Object.values(resources).every((v) => v === undefined)) throw new UsageError('give at least one limit to change (see flotilla update --help)');
    return forEachContainer(
      ctx,
      args,
      async (container) => {
        const answer = await ctx.cluster.call((c, o) => c.updateContainer({ container, resources }, o));
        for (const warning of answer.warnings) ctx.io.stderr.write(`${container}: ${warning}\n`);
      },
      hints,
    );
  },
});
