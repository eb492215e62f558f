import { readFileSync } from 'node:fs';
import type { IncomingMessage } from 'node:http';
import { PassThrough, type Duplex, type Readable } from 'node:stream';
import Docker from 'dockerode';
import { type TlsFiles } from '@flotilla/grpc';
import { UnavailableError } from '@flotilla/errors';
import { negotiateApiVersion } from './api-version';
import type {
  ContainerInspectReply,
  DockerBackend,
  DockerAuthConfig,
  PathStatReply,
  DockerCreateBody,
  DockerExecBody,
  ExecInspectReply,
  DockerInfoReply,
  DockerVersionReply,
  ImageDeleteReply,
  ImageInspectReply,
  ImageReply,
  LogOptions,
  NegotiatedApi,
  NetworkReply,
  VolumeReply,
  DockerVolumeCreateBody,
  DockerNetworkCreateBody,
  DockerUpdateBody,
  TopReply,
  WaitCondition,
  WaitReply,
} from './docker-backend';
import { parseDockerEndpoint, type DockerEndpoint } from './docker-endpoint';
import { mapDockerError, pullFailure } from './docker-errors';

interface ModemDial {
  dial(options: Record<string, unknown>, callback: (err: unknown, data: unknown) => void): void;
}

/** Docker's stat of an archived path, from its X-Docker-Container-Path-Stat header (base64 JSON). */
function pathStatOf(response: IncomingMessage): PathStatReply {
  const header = response.headers['x-docker-container-path-stat'];
  if (typeof header !== 'string') return {};
  try {
    return JSON.parse(Buffer.from(header, 'base64').toString('utf8')) as PathStatReply;
  } catch {
    return {};
  }
}

function isNotModified(err: unknown): boolean {
  return typeof err === 'object' && err !== null && (err as { statusCode?: number }).statusCode === 304;
}

/** A Docker engine reached through dockerode, with the API version negotiated by the agent. */
export class DockerodeBackend implements DockerBackend {
  readonly endpoint: string;
  private readonly target: DockerEndpoint;
  private docker: Docker;

  constructor(endpoint: string, private readonly tls?: TlsFiles) {
    this.target = parseDockerEndpoint('docker-host', endpoint, tls);
    this.endpoint = this.target.text;
    this.docker = this.client();
  }

  private client(options: Docker.DockerOptions = {}): Docker {
    if (this.target.kind === 'unix') return new Docker({ socketPath: this.target.socketPath, ...options });
    const read = (path: string | undefined) => (path ? readFileSync(path) : undefined);
    return new Docker({
      host: this.target.host,
      port: this.target.port,
      protocol: this.target.tls ? 'https' : 'http',
      ca: read(this.tls?.ca),
      cert: read(this.tls?.cert),
      key: read(this.tls?.key),
      ...options,
    });
  }

  private async run<T>(work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } catch (err) {
      throw mapDockerError(err, this.endpoint);
    }
  }

  async connect(): Promise<NegotiatedApi> {
    // `GET /version` answers without a version prefix on every engine, so it can come first.
    const reply = (await this.run(() => this.client({ timeout: 10_000 }).version())) as DockerVersionReply;
    const negotiated = negotiateApiVersion(reply, this.endpoint);
    this.docker = this.client({ version: `v${negotiated.apiVersion}` });
    return negotiated;
  }

  async ping(timeoutMs: number): Promise<void> {
    try {
      await this.client({ timeout: timeoutMs }).ping();
    } catch (err) {
      const mapped = mapDockerError(err, this.endpoint);
      throw mapped instanceof UnavailableError ? mapped : new UnavailableError(`Docker engine at ${this.endpoint} did not answer /_ping: ${mapped.message}`);
    }
  }

  info(): Promise<DockerInfoReply> {
    return this.run(() => this.docker.info() as Promise<DockerInfoReply>);
  }

  listContainerIds(label?: string): Promise<string[]> {
    return this.run(async () => (await this.docker.listContainers({ all: true, ...(label ? { filters: { label: [label] } } : {}) })).map((c) => c.Id));
  }

  inspectContainer(id: string): Promise<ContainerInspectReply> {
    return this.run(() => this.docker.getContainer(id).inspect());
  }

  listImages(): Promise<ImageReply[]> {
    return this.run(() => this.docker.listImages());
  }

  listNetworks(): Promise<NetworkReply[]> {
    return this.run(() => this.docker.listNetworks());
  }

  inspectNetwork(id: string): Promise<NetworkReply> {
    return this.run(() => this.docker.getNetwork(id).inspect() as Promise<NetworkReply>);
  }

  createNetwork(body: DockerNetworkCreateBody): Promise<NetworkReply> {
    return this.run(async () => {
      const network = await this.docker.createNetwork(body);
      return (await network.inspect()) as NetworkReply;
    });
  }

  removeNetwork(idOrName: string): Promise<void> {
    return this.run(async () => {
      await this.docker.getNetwork(idOrName).remove();
    });
  }

  listVolumes(): Promise<VolumeReply[]> {
    return this.run(async () => (await this.docker.listVolumes()).Volumes ?? []);
  }

  inspectVolume(name: string): Promise<VolumeReply> {
    return this.run(() => this.docker.getVolume(name).inspect());
  }

  createVolume(body: DockerVolumeCreateBody): Promise<VolumeReply> {
    return this.run(async () => {
      await this.docker.createVolume({ Name: body.Name, Driver: body.Driver, Labels: body.Labels });
      return (await this.docker.getVolume(body.Name).inspect()) as VolumeReply;
    });
  }

  removeVolume(name: string, force: boolean): Promise<void> {
    return this.run(async () => {
      await this.docker.getVolume(name).remove({ force });
    });
  }

  inspectImage(reference: string): Promise<ImageInspectReply> {
    return this.run(() => this.docker.getImage(reference).inspect() as Promise<ImageInspectReply>);
  }

  removeImage(reference: string, force: boolean, noPrune: boolean): Promise<ImageDeleteReply[]> {
    return this.run(() => this.docker.getImage(reference).remove({ force, noprune: noPrune }) as Promise<ImageDeleteReply[]>);
  }

  tagImage(reference: string, repo: string, tag: string): Promise<void> {
    return this.run(async () => {
      await this.docker.getImage(reference).tag({ repo, tag });
    });
  }

  events(since: string | undefined): Promise<Readable> {
    // dockerode types `since` as a number; Docker takes `seconds.nanoseconds`, which a number cannot hold exactly.
    const options = (since ? { since } : {}) as unknown as Docker.GetEventsOptions;
    return this.run(async () => (await this.docker.getEvents(options)) as Readable);
  }

  createContainer(body: DockerCreateBody): Promise<{ id: string; warnings: string[] }> {
    const { name, ...rest } = body;
    const modem = this.docker.modem as unknown as ModemDial;
    return this.run(
      () =>
        new Promise((resolve, reject) => {
          modem.dial(
            {
              path: '/containers/create?',
              method: 'POST',
              options: { _query: name ? { name } : {}, _body: rest },
              statusCodes: { 200: true, 201: true, 400: 'bad parameter', 404: 'no such image', 409: 'conflict', 500: 'server error' },
            },
            (err, data) => {
              if (err) return reject(err);
              const reply = (data ?? {}) as { Id?: string; Warnings?: string[] | null };
              if (typeof reply.Id !== 'string') return reject(new Error(`create answered without an Id: ${JSON.stringify(data)}`));
              resolve({ id: reply.Id, warnings: reply.Warnings ?? [] });
            },
          );
        }),
    );
  }

  startContainer(id: string): Promise<boolean> {
    return this.run(async () => {
      try {
        await this.docker.getContainer(id).start();
        return true;
      } catch (err) {
        if (isNotModified(err)) return false;
        throw err;
      }
    });
  }

  stopContainer(id: string, timeoutSeconds: number | undefined): Promise<boolean> {
    return this.run(async () => {
      try {
        await this.docker.getContainer(id).stop(timeoutSeconds === undefined ? {} : { t: timeoutSeconds });
        return true;
      } catch (err) {
        if (isNotModified(err)) return false;
        throw err;
      }
    });
  }

  killContainer(id: string, signal: string): Promise<void> {
    return this.run(async () => {
      await this.docker.getContainer(id).kill({ signal });
    });
  }

  removeContainer(id: string, force: boolean, volumes: boolean): Promise<void> {
    return this.run(async () => {
      await this.docker.getContainer(id).remove({ force, v: volumes });
    });
  }

  pauseContainer(id: string): Promise<void> {
    return this.run(async () => {
      await this.docker.getContainer(id).pause();
    });
  }

  unpauseContainer(id: string): Promise<void> {
    return this.run(async () => {
      await this.docker.getContainer(id).unpause();
    });
  }

  updateContainer(id: string, body: DockerUpdateBody): Promise<{ Warnings?: string[] | null }> {
    return this.run(() => this.docker.getContainer(id).update(body) as Promise<{ Warnings?: string[] | null }>);
  }

  renameContainer(id: string, newName: string): Promise<void> {
    return this.run(async () => {
      await this.docker.getContainer(id).rename({ name: newName });
    });
  }

  waitContainer(id: string, condition: WaitCondition, signal: AbortSignal): Promise<WaitReply> {
    // The signal goes into dockerode's request: an ended call closes Docker's connection.
    return this.run(() => this.docker.getContainer(id).wait({ condition, abortSignal: signal }) as Promise<WaitReply>);
  }

  topContainer(id: string, psArgs: string): Promise<TopReply> {
    return this.run(() => this.docker.getContainer(id).top(psArgs ? { ps_args: psArgs } : {}) as Promise<TopReply>);
  }

  containerLogs(id: string, options: LogOptions): Promise<Readable> {
    const query = { follow: options.follow, stdout: options.stdout, stderr: options.stderr, timestamps: options.timestamps, since: options.since ?? 0, ...(options.tail ? { tail: options.tail } : {}) };
    const modem = this.docker.modem as unknown as ModemDial;
    // Dialled as a stream even without follow: dockerode's own logs() buffers a whole
    // non-follow answer in memory, however big the log.
    return this.run(
      () =>
        new Promise<Readable>((resolve, reject) => {
          modem.dial(
            {
              path: `/containers/${encodeURIComponent(id)}/logs?`,
              method: 'GET',
              isStream: true,
              options: query,
              statusCodes: { 200: true, 404: 'no such container', 500: 'server error' },
            },
            (err, data) => (err ? reject(err) : resolve(data as Readable)),
          );
        }),
    );
  }

  containerStats(id: string, stream: boolean): Promise<Readable> {
    const modem = this.docker.modem as unknown as ModemDial;
    // Dialled as logs are: dockerode's own stats() parses a one-sample answer, losing Docker's line.
    return this.run(
      () =>
        new Promise<Readable>((resolve, reject) => {
          modem.dial(
            {
              path: `/containers/${encodeURIComponent(id)}/stats?`,
              method: 'GET',
              isStream: true,
              options: { stream },
              statusCodes: { 200: true, 404: 'no such container', 500: 'server error' },
            },
            (err, data) => (err ? reject(err) : resolve(data as Readable)),
          );
        }),
    );
  }

  statPath(id: string, path: string): Promise<PathStatReply> {
    return this.run(async () => pathStatOf((await this.docker.getContainer(id).infoArchive({ path })) as unknown as IncomingMessage));
  }

  getArchive(id: string, path: string): Promise<{ stat: PathStatReply; archive: Readable }> {
    return this.run(async () => {
      const response = (await this.docker.getContainer(id).getArchive({ path })) as unknown as IncomingMessage;
      return { stat: pathStatOf(response), archive: response };
    });
  }

  putArchive(id: string, path: string, noOverwriteDirNonDir: boolean, archive: Readable): Promise<void> {
    // Piped, so the archive is read only as fast as Docker takes it.
    return this.run(async () => {
      await this.docker.getContainer(id).putArchive(archive, { path, noOverwriteDirNonDir });
    });
  }

  createExec(containerId: string, body: DockerExecBody): Promise<string> {
    return this.run(async () => (await this.docker.getContainer(containerId).exec(body)).id);
  }

  startExec(execId: string, tty: boolean): Promise<Duplex> {
    // Hijacked with stdin open whether or not the program reads it, as the docker CLI does: the
    // connection is then one socket both ways, and ending it is Docker's sign that stdin closed.
    return this.run(() => this.docker.getExec(execId).start({ hijack: true, stdin: true, Detach: false, Tty: tty }) as Promise<Duplex>);
  }

  resizeExec(execId: string, rows: number, columns: number): Promise<void> {
    return this.run(async () => {
      await this.docker.getExec(execId).resize({ h: rows, w: columns });
    });
  }

  attachContainer(id: string, stdin: boolean, logs: boolean): Promise<Duplex> {
    // Hijacked as an exec is; stdout and stderr always, so the caller sees everything.
    return this.run(() => this.docker.getContainer(id).attach({ stream: true, stdin, stdout: true, stderr: true, logs, hijack: true }) as Promise<Duplex>);
  }

  resizeContainer(id: string, rows: number, columns: number): Promise<void> {
    return this.run(async () => {
      await this.docker.getContainer(id).resize({ h: rows, w: columns });
    });
  }

  inspectExec(execId: string): Promise<ExecInspectReply> {
    return this.run(() => this.docker.getExec(execId).inspect() as Promise<ExecInspectReply>);
  }

  async pullImage(reference: string, auth?: DockerAuthConfig): Promise<Readable> {
    try {
      const stream = (await this.docker.pull(reference, auth ? { authconfig: auth } : {})) as Readable;
      return stream.pipe(new PassThrough());
    } catch (err) {
      const mapped = mapDockerError(err, this.endpoint);
      // Registry failures come back as HTTP 500 with Docker's reason in the message.
      return mapped instanceof UnavailableError ? Promise.reject(mapped) : Promise.reject(pullFailure(mapped.message, err));
    }
  }
}
