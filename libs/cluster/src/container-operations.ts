import { FailedPreconditionError, InvalidArgumentError, NotFoundError } from '@flotilla/errors';
import { checkArchivePiece, checkAttachOptions, checkContainerPath, type ArchiveMessage, checkSessionInput, checkExecOptions, checkNewContainerName, checkPsArgs, checkResourceChange, checkWaitCondition, type SessionInput, type SessionRequestMessage } from '@flotilla/policy';
import type { AttachOptions, Container, ContainerResources, ContainerStats, ExecOptions, PathStat } from '@flotilla/proto';
import type { EngineRef } from '@flotilla/proto/cluster';
import type { AgentOperations, AttachOutput, ExecOutput, SessionOutput } from './agent-connector';
import type { ClusterContainers } from './cluster-containers';
import { engineRef } from './engine-view';

/** A container for a message: its name and short ID. */
function shown(container: Container): string {
  const name = container.names[0];
  return name ? `${JSON.stringify(name)} (${container.id.slice(0, 12)})` : container.id.slice(0, 12);
}

/**
 * Docker refuses a pause or an unpause in the wrong state with its own words; the answer names
 * the container and the state the cluster shows, and keeps Docker's message.
 */
async function inState<T>(verb: string, container: Container, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (err) {
    throw stateRefusal(verb, container, err);
  }
}

/** Docker's FAILED_PRECONDITION in the cluster's words (see inState); any other error as it is. */
function stateRefusal(verb: string, container: Container, err: unknown): unknown {
  if (!(err instanceof FailedPreconditionError)) return err;
  return new FailedPreconditionError(`cannot ${verb} container ${shown(container)}: it is ${container.state || 'in an unknown state'} (${err.message})`, { cause: err });
}

/** What a refused exec or attach could not do, for its message. */
const sessionVerbs = { exec: 'run a program in', attach: 'attach to' } as const;

/** An exec's answers through the cluster: its start names the container and the engine. */
export type ClusterExecOutput = SessionOutput | { $case: 'started'; value: { execId: string; containerId: string; engine: EngineRef } };

/** An attach's answers through the cluster: its start names the container and the engine. */
export type ClusterAttachOutput = SessionOutput | { $case: 'started'; value: { tty: boolean; containerId: string; engine: EngineRef } };

/**
 * The container operations past start, stop, kill and remove, routed to the container's engine
 * as those are (ClusterContainers.on): pause, unpause, rename, wait and top. The changes answer
 * once the engine's stream shows them (or say `unsettled`), so the caller reads its own change.
 */
export class ContainerOperations {
  constructor(private readonly containers: ClusterContainers) {}

  pause(reference: string) {
    return this.containers.on(reference, async (engine, id, agent, container) => {
      await inState('pause', container, () => agent.pauseContainer(id));
      return { unsettled: !(await this.containers.settle(engine, id, (c) => c === undefined || c.state === 'paused')) };
    });
  }

  unpause(reference: string) {
    return this.containers.on(reference, async (engine, id, agent, container) => {
      await inState('unpause', container, () => agent.unpauseContainer(id));
      return { unsettled: !(await this.containers.settle(engine, id, (c) => c?.state !== 'paused')) };
    });
  }

  /** Renames; the new name is held cluster-wide until the engine's stream shows it (or the settle gives up). */
  async rename(reference: string, newName: string) {
    const name = checkNewContainerName('new_name', newName);
    return this.containers.on(reference, async (engine, id, agent, container) => {
      if (container.names.includes(name)) throw InvalidArgumentError.field('new_name', newName, `is already the name of container ${container.id.slice(0, 12)}`);
      const release = this.containers.claimName(name);
      try {
        await agent.renameContainer(id, name);
        return { id, unsettled: !(await this.containers.settle(engine, id, (c) => c === undefined || c.names.includes(name))) };
      } finally {
        release();
      }
    });
  }

  /**
   * Changes the container's resources. A larger CPU or memory limit must fit its engine as a
   * placement would, and is held there until the engine's stream shows it, so a placement made
   * meanwhile cannot take the same capacity.
   */
  async update(reference: string, resources: ContainerResources | undefined) {
    const change = checkResourceChange(resources);
    return this.containers.on(reference, async (engine, id, agent, container) => {
      const more = (asked: number | undefined, now: string) => Math.max(0, (asked ?? 0) - (Number(now) || 0));
      const cpu = more(change.nanoCpus, container.nanoCpus);
      const memory = more(change.memoryBytes, container.memoryBytes);
      const held = cpu || memory ? this.containers.holdMore(engine, cpu, memory, `the update of container ${shown(container)}`) : undefined;
      try {
        const answer = await agent.updateContainer(id, resources!);
        const shows = (c: Container | undefined) => c === undefined || ((change.nanoCpus === undefined || Number(c.nanoCpus) === change.nanoCpus) && (change.memoryBytes === undefined || Number(c.memoryBytes) === change.memoryBytes));
        return { id, warnings: answer.warnings, unsettled: !(await this.containers.settle(engine, id, shows)) };
      } finally {
        if (held) engine.release(held);
      }
    });
  }

  /** Waits as long as `signal` lets it (the caller's deadline or cancellation), on the agent too. */
  async wait(reference: string, condition: string, signal: AbortSignal) {
    const checked = checkWaitCondition('condition', condition);
    return this.containers.on(reference, (_engine, id, agent) => agent.waitContainer(id, checked, signal));
  }

  /** Docker's samples, each with the container's engine; `signal` ends the stream on the agent too. */
  async *stats(reference: string, stream: boolean, signal: AbortSignal): AsyncIterable<{ stats: ContainerStats | undefined; engine: EngineRef }> {
    const { engine, container, agent } = this.containers.onHealthyEngine(reference);
    const ref = engineRef(engine);
    for await (const sample of agent.containerStats(container.id, stream, signal)) yield { stats: sample.stats, engine: ref };
  }

  /**
   * Runs a program in the container on its engine (Docker's exec). The first answer names the
   * exec, the container and its engine; the caller's messages after its start are checked as they
   * come and reach the agent as fast as it takes them; `signal` ends the exec's connection on the
   * agent too.
   */
  exec(reference: string, options: ExecOptions | undefined, requests: AsyncIterable<SessionRequestMessage>, signal: AbortSignal): AsyncIterable<ClusterExecOutput> {
    const checked = checkExecOptions('start.options', options);
    return this.session<ExecOutput, ClusterExecOutput>(reference, 'exec', { stdin: checked.stdin, tty: () => checked.tty }, requests, (agent, id, input) => agent.execContainer(id, checked, input, signal), (started, containerId, engine) => ({ ...started, containerId, engine }));
  }

  /**
   * Attaches to the container's main process on its engine (Docker's attach), streamed as `exec`
   * is; the first answer says whether the container has a TTY.
   */
  attach(reference: string, options: AttachOptions | undefined, requests: AsyncIterable<SessionRequestMessage>, signal: AbortSignal): AsyncIterable<ClusterAttachOutput> {
    const checked = checkAttachOptions('start.options', options);
    let tty = false;
    return this.session<AttachOutput, ClusterAttachOutput>(reference, 'attach', { stdin: checked.stdin, tty: () => tty }, requests, (agent, id, input) => agent.attachContainer(id, checked, input, signal), (started, containerId, engine) => {
      tty = started.tty;
      return { ...started, containerId, engine };
    });
  }

  /**
   * An exec or an attach on the container's healthy engine: the caller's messages checked as they
   * come (`tty` may be known only once the agent answered), the agent's start answer given the
   * container and its engine, and Docker's refusal of a stopped or paused container put in the
   * cluster's words.
   */
  private async *session<Out extends { $case: string; value: unknown }, ClusterOut>(
    reference: string,
    what: keyof typeof sessionVerbs,
    shape: { stdin: boolean; tty: () => boolean },
    requests: AsyncIterable<SessionRequestMessage>,
    open: (agent: AgentOperations, id: string, input: AsyncIterable<SessionInput>) => AsyncIterable<Out>,
    started: (value: Extract<Out, { $case: 'started' }>['value'], containerId: string, engine: EngineRef) => unknown,
  ): AsyncGenerator<ClusterOut> {
    const { engine, container, agent } = this.containers.onHealthyEngine(reference);
    const input = (async function* (): AsyncGenerator<SessionInput> {
      for await (const request of requests) yield checkSessionInput({ stdin: shape.stdin, tty: shape.tty() }, request, what);
    })();
    let answered = false;
    try {
      for await (const output of open(agent, container.id, input)) {
        answered = true;
        yield (output.$case === 'started' ? { $case: 'started', value: started(output.value as Extract<Out, { $case: 'started' }>['value'], container.id, engineRef(engine)) } : output) as ClusterOut;
      }
    } catch (err) {
      throw answered ? err : stateRefusal(sessionVerbs[what], container, err);
    }
  }

  /** An exec of the container: Docker's exec of another container is NOT_FOUND here, as one that does not exist. */
  async inspectExec(reference: string, execId: string) {
    if (!execId.trim()) throw InvalidArgumentError.field('exec_id', execId, 'is required');
    return this.containers.on(reference, async (_engine, id, agent, container) => {
      const answer = await agent.inspectExec(execId.trim());
      if (answer.exec?.containerId !== id) throw new NotFoundError(`no exec ${JSON.stringify(execId.slice(0, 80))} of container ${shown(container)}`);
      return answer;
    });
  }

  /** What a path in the container is (docker cp asks before it copies). */
  async statPath(reference: string, path: string) {
    const checked = checkContainerPath('path', path);
    return this.containers.on(reference, async (_engine, id, agent) => ({ stat: await agent.statContainerPath(id, checked) }));
  }

  /** A path of the container as a tar archive: its stat and engine first, then the archive's pieces; `signal` ends it on the agent too. */
  async *copyFrom(reference: string, path: string, signal: AbortSignal): AsyncIterable<{ $case: 'source'; value: { stat: PathStat; engine: EngineRef } } | { $case: 'data'; value: Buffer }> {
    const checked = checkContainerPath('path', path);
    const { engine, container, agent } = this.containers.onHealthyEngine(reference);
    for await (const piece of agent.copyFromContainer(container.id, checked, signal)) {
      yield piece.$case === 'stat' ? { $case: 'source', value: { stat: piece.value, engine: engineRef(engine) } } : piece;
    }
  }

  /**
   * Extracts an archive into a directory of the container: the caller's messages after its start
   * are checked as they come (archive pieces only) and reach the agent as fast as it takes them.
   */
  async copyTo(reference: string, path: string, noOverwriteDirNonDir: boolean, requests: AsyncIterable<ArchiveMessage>, signal: AbortSignal) {
    const checked = checkContainerPath('start.path', path);
    const { engine, container, agent } = this.containers.onHealthyEngine(reference);
    const archive = (async function* (): AsyncGenerator<Buffer> {
      for await (const request of requests) yield checkArchivePiece(request);
    })();
    await agent.copyToContainer(container.id, checked, noOverwriteDirNonDir, archive, signal);
    return { engine: engineRef(engine) };
  }

  async top(reference: string, psArgs: string) {
    const args = checkPsArgs('ps_args', psArgs);
    return this.containers.on(reference, (_engine, id, agent, container) => inState('list the processes of', container, () => agent.topContainer(id, args)));
  }
}
