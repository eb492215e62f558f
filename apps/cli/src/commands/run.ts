import { flag } from '@flotilla/config';
import { FailedPreconditionError, NotFoundError } from '@flotilla/errors';
import { LogStream } from '@flotilla/proto';
import { CreateContainerResponse, type ClusterEvent, type ContainerSpec } from '@flotilla/proto/cluster';
import { engineLabel, defineCommand, type Context } from '../command';
import { buildSpec, requestIdFor, runOnlyOptions, specOptions } from '../container-spec';
import { CliError, ExitCode, InterruptedError } from '../errors';
import { colourEnabled } from '../io';
import { formatOption, parseFormat, printObject } from '../output/format';
import { decodeExplanation, placementTable } from '../output/placement';
import { spinner } from '../output/progress';
import { checkInteractive, runSession } from '../session-io';
import { credentialsFor } from '../registry-auth';

/** How long a create may take: it may pull the image on the chosen engine first. */
const createDeadlineMs = 15 * 60_000;

/** Turns "no engine can take the container" into one line plus the per-engine table. */
export function placementFailure(ctx: Context, err: unknown, noTrunc = false): unknown {
  if (!(err instanceof FailedPreconditionError)) return err;
  const explanation = decodeExplanation(err);
  if (!explanation) return err;
  const table = explanation.engines.length ? placementTable(explanation, ctx.io.stderr, colourEnabled(ctx.io.stderr, ctx.io.env), noTrunc) : '';
  const line = explanation.engines.length
    ? 'no engine can take the container (why, per engine, below); relax --constraint/--affinity, ask for less memory or CPU, or add engines'
    : `${err.message}; add engines with flotilla engine add HOST:PORT`;
  return new CliError(line, ExitCode.precondition, table);
}

/** Creates the container, showing a spinner (and pull progress, from the cluster's events) on a terminal. */
async function create(ctx: Context, spec: ContainerSpec, start: boolean, requestId: string): Promise<CreateContainerResponse> {
  const waiting = spinner(ctx.io.stderr, ctx.io.env, `Creating ${spec.name || 'the container'} from ${spec.image}…`);
  const progressDone = new AbortController();
  let progress: Promise<unknown> = Promise.resolve();
  if (ctx.io.stderr.isTTY) {
    // The manager publishes pull progress as image events while it pulls a missing image.
    progress = (async () => {
      for await (const { event } of ctx.cluster.stream((c, o) => c.watchEvents({ types: ['image'], engines: [], containers: [] }, o), progressDone.signal)) {
        if (event?.action !== 'pull-progress' || event.docker?.actorId !== spec.image) continue;
        const a = event.docker.actorAttributes;
        waiting.update(`Pulling ${spec.image} on ${engineLabel(event.engine)}: ${[a.status, a.layer, a.progress].filter(Boolean).join(' ')}`);
      }
    })().catch(() => undefined);
  }
  try {
    return await ctx.cluster.call((c, o) => c.createContainer({ spec, start, requestId, registryAuth: credentialsFor(ctx.io.env, spec.image) }, o), Math.max(ctx.settings.timeoutMs, createDeadlineMs));
  } catch (err) {
    throw placementFailure(ctx, err);
  } finally {
    progressDone.abort();
    waiting.stop();
    await progress;
  }
}

function exitCodeOfEvent(event: ClusterEvent): number | undefined {
  const text = event.docker?.actorAttributes.exitCode;
  if (text !== undefined && /^-?\d+$/.test(text)) return Number(text);
  return event.container?.exitCode;
}

function delay(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}

/**
 * Starts the container, follows its output, and resolves with its exit code. The event
 * subscription is opened before the start, so the `die` event cannot be missed; the engine's own
 * state (inspect) settles it when the output ends.
 */
async function foreground(ctx: Context, id: string, label: string): Promise<number> {
  const stopWatching = new AbortController();
  let died: (code: number) => void = () => undefined;
  const dead = new Promise<number>((resolve) => (died = resolve));
  const watching = (async () => {
    for await (const { event } of ctx.cluster.stream((c, o) => c.watchEvents({ types: ['container'], engines: [], containers: [id] }, o), stopWatching.signal)) {
      if (event?.action === 'die') {
        const code = exitCodeOfEvent(event);
        if (code !== undefined) died(code);
      }
    }
  })().catch(() => undefined);
  try {
    await ctx.cluster.call((c, o) => c.startContainer({ container: id }, o));
    for await (const chunk of ctx.cluster.stream((c, o) => c.containerLogs({ container: id, follow: true, stdout: true, stderr: true, tail: 0, timestamps: false, since: undefined }, o))) {
      (chunk.stream === LogStream.LOG_STREAM_STDERR ? ctx.io.stderr : ctx.io.stdout).write(chunk.data);
    }
    // The output ended: the container has stopped (or is about to). Ask its engine, or hear it die.
    for (let wait = 100; ; wait = Math.min(wait * 2, 2000)) {
      const { container } = await ctx.cluster.call((c, o) => c.inspectContainer({ container: id }, o)).catch(async (err: unknown) => {
        // Removed by someone else once it exited (a foreground --rm is removed by this CLI, after
        // this): its die event carries the exit code.
        if (!(err instanceof NotFoundError)) throw err;
        const code = await Promise.race([dead, delay(10_000, ctx.signal).then(() => undefined)]);
        if (code === undefined) throw new CliError(`${label} was removed before its exit code was seen`, ExitCode.error);
        return { container: { container: { state: 'exited', exitCode: code } } };
      });
      const state = container?.container?.state ?? '';
      if (state === 'exited' || state === 'dead') return container!.container!.exitCode;
      const code = await Promise.race([dead, delay(wait, ctx.signal).then(() => undefined)]);
      if (code !== undefined) return code;
      if (ctx.signal.aborted) throw new InterruptedError(ctx.interruptedBy());
    }
  } catch (err) {
    if (err instanceof InterruptedError) {
      throw new InterruptedError(ctx.interruptedBy(), `detached from ${label}, which keeps running; see flotilla logs -f ${label}, stop it with flotilla stop ${label}`);
    }
    throw err;
  } finally {
    stopWatching.abort();
    await watching;
  }
}

/**
 * docker run -i/-t in the foreground: attaches before the start (nothing the container writes is
 * missed), starts it once attached, and answers its exit code. Without an exit code (a terminal
 * whose input closed while the container runs) it answers 0, as docker does.
 */
async function attached(ctx: Context, id: string, label: string, stdin: boolean, tty: boolean): Promise<number> {
  try {
    const start = { container: id, options: { stdin, logs: false, terminalSize: undefined } };
    const code = await runSession(ctx, (c, o) => c.attach(start, o), { stdin, tty, onStarted: async () => void (await ctx.cluster.call((c, o) => c.startContainer({ container: id }, o))) });
    return code ?? 0;
  } catch (err) {
    if (err instanceof InterruptedError) {
      throw new InterruptedError(ctx.interruptedBy(), `detached from ${label}, which keeps running; see flotilla logs -f ${label}, stop it with flotilla stop ${label}`);
    }
    throw err;
  }
}

export default defineCommand({
  name: 'run',
  summary: 'Run a container where the scheduler places it (-d: in the background)',
  usage: '[flags] IMAGE [COMMAND] [ARG...]',
  description: `Everything after IMAGE is the container's command, passed through untouched.
Placement rules as classic Swarm users typed them work too: -e constraint:zone==b, -e affinity:container==web,
--constraint node==X (X: the engine's name, ID, address, IP, or classic's ID|address). The container keeps them in the labels com.docker.swarm.constraints
and com.docker.swarm.affinities, as classic Swarm did. -e reschedule:on-node-failure is refused: not supported yet.
Without -d the output is followed until the container exits; Ctrl-C stops following and leaves the container running.`,
  options: {
    detach: flag('boolean', { short: 'd', description: 'Run in the background and print the container ID' }),
    rm: flag('boolean', { description: 'Docker removes the container when it exits (with -d too)' }),
    'request-id': flag('string', { placeholder: 'ID', description: 'Makes a retry safe: a run with the ID of an earlier one answers with its container (default: a fresh ID each run)' }),
    ...specOptions,
    format: formatOption,
    ...runOnlyOptions,
  },
  args: { names: 'IMAGE', min: 1, passthroughAfter: 1 },
  hints: { alreadyExists: 'pick another --name, or remove the old one with flotilla rm -f NAME', notFound: 'check the image name' },
  examples: [
    'flotilla run -d --name web --network none --constraint zone==b busybox:local sleep 300',
    'flotilla run --network none -e constraint:zone==a busybox:local sh -c "echo hello; exit 3"',
    'flotilla run -d -m 64m -c 0.5 -p 8080:80 --affinity container==web nginx',
  ],
  async run(ctx, options, args) {
    const interactive = options.interactive ?? false;
    const tty = options.tty ?? false;
    if (!options.detach) checkInteractive(ctx, interactive, tty);
    const spec = buildSpec(options, args, ctx.io.env);
    // docker run -i in the foreground: the end of this input ends the container's.
    spec.stdinOnce = interactive && !options.detach;
    const format = parseFormat(options.format);
    const created = await create(ctx, spec, options.detach, requestIdFor(options['request-id']));
    for (const warning of created.warnings) ctx.io.stderr.write(`flotilla: warning: ${warning}\n`);
    if (created.unsettled) ctx.io.stderr.write('flotilla: warning: the cluster does not show the container yet; flotilla ps may miss it for a moment\n');
    const label = created.name || created.id.slice(0, 12);
    if (options.detach) {
      if (format.kind === 'table') {
        ctx.io.stdout.write(`${created.id}\n`);
        if (ctx.io.stderr.isTTY) ctx.io.stderr.write(`${label} is running on ${engineLabel(created.engine)}${created.engine?.address && created.engine.name ? ` (${created.engine.address})` : ''}${created.pulled ? `, which pulled ${spec.image} first` : ''}\n`);
      } else {
        printObject(ctx.io, format, CreateContainerResponse.toJSON(created), {
          ID: created.id,
          Name: created.name,
          Engine: engineLabel(created.engine),
          EngineAddress: created.engine?.address ?? '',
        });
      }
      return 0;
    }
    let interrupted = false;
    try {
      if (interactive || tty) return await attached(ctx, created.id, label, interactive, tty);
      return await foreground(ctx, created.id, label);
    } catch (err) {
      interrupted = err instanceof InterruptedError;
      throw err;
    } finally {
      // --rm in the foreground: removed here once it exited (or failed to start), never one left running by Ctrl-C.
      if (options.rm && !interrupted) {
        try {
          await ctx.cluster.call((c, o) => c.removeContainer({ container: created.id, force: true, volumes: true }, o));
        } catch (err) {
          if (!(err instanceof NotFoundError)) ctx.io.stderr.write(`flotilla: warning: could not remove ${label}: ${(err as Error).message}\n`);
        }
      }
    }
  },
});
