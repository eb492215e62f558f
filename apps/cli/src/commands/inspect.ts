import { ClusterContainer, type InspectContainerResponse } from '@flotilla/proto/cluster';
import { defineCommand } from '../command';
import { describeError, UnreachableError } from '../errors';
import { containerHints } from '../each';
import { formatOption, parseFormat, printObject } from '../output/format';

/** The engine as classic Swarm's `Node` in inspect; from the container's engine alone when the manager sends no node. */
export function nodeDocument(answer: InspectContainerResponse): Record<string, unknown> {
  const engine = answer.container?.engine;
  const node = answer.node;
  return {
    ID: node?.id || engine?.id || '',
    IP: node?.ip ?? '',
    Addr: node?.address || engine?.address || '',
    Name: node?.name || engine?.name || '',
    Cpus: Number(node?.cpus ?? 0),
    Memory: Number(node?.memoryBytes ?? 0),
    Labels: node?.labels ?? {},
  };
}

export default defineCommand({
  name: 'inspect',
  summary: "Show containers as Docker's inspect document, with the engine each is on",
  usage: '[flags] CONTAINER [CONTAINER...]',
  description: `Prints a JSON array of Docker's inspect documents, each with "Node" added as classic Swarm did: the
engine's ID, IP, Addr (its agent's address), Name, Cpus, Memory (bytes) and Labels. A container on
an unhealthy engine shows what the cluster last knew of it.`,
  options: { format: formatOption },
  args: { names: 'CONTAINER', min: 1, complete: 'containers' },
  hints: containerHints,
  examples: ['flotilla inspect web', "flotilla inspect --format '{{.State.Status}} {{.Node.Addr}}' web", "flotilla inspect --format '{{json .Node.Labels}}' web"],
  async run(ctx, options, args) {
    const format = parseFormat(options.format);
    const documents: unknown[] = [];
    let code = 0;
    for (const ref of args) {
      try {
        const answer = await ctx.cluster.call((c, o) => c.inspectContainer({ container: ref }, o));
        const node = nodeDocument(answer);
        if (answer.rawJson) {
          documents.push({ ...(JSON.parse(answer.rawJson) as Record<string, unknown>), Node: node });
        } else {
          ctx.io.stderr.write(`flotilla: warning: ${ref} is on an engine that is not healthy; showing what the cluster last knew of it\n`);
          documents.push({ ...(ClusterContainer.toJSON(answer.container!) as Record<string, unknown>), Node: node });
        }
      } catch (err) {
        if (err instanceof UnreachableError) throw err;
        const failure = describeError(err, containerHints);
        ctx.io.stderr.write(`flotilla: ${failure.message}\n`);
        code ||= failure.exitCode;
      }
    }
    if (format.kind === 'template') for (const doc of documents) printObject(ctx.io, format, doc);
    else if (documents.length || !code) printObject(ctx.io, format, documents);
    return code;
  },
});
