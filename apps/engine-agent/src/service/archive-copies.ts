import { PassThrough } from 'node:stream';
import { drained, firstEvent, firstStart, requestsOf, type CallContext } from '@flotilla/grpc';
import { InvalidArgumentError, NotFoundError } from '@flotilla/errors';
import { checkArchivePiece, checkContainerPath, maxArchiveMessageBytes } from '@flotilla/policy';
import type { CopyFromContainerRequest, CopyFromContainerResponse, CopyToContainerRequest, CopyToContainerResponse, StatContainerPathRequest, StatContainerPathResponse } from '@flotilla/proto/agent';
import type { ServerReadableStream, ServerWritableStream } from '@grpc/grpc-js';
import type { DockerBackend } from '../docker/docker-backend';
import { pathStatFrom } from '../monitor/docker-mapping';
import { chunksOf } from './docker-chunks';

/*
 * docker cp's three calls: a path's stat, a path as a tar archive, and a tar archive extracted
 * into a directory. The archives pass through in pieces, each side as fast as the other takes them.
 */


function containerId(value: string): string {
  const id = value.trim();
  if (!id) throw InvalidArgumentError.field('id', value, 'is required');
  return id;
}

/**
 * Docker answers a missing path and a missing container alike (404, and for HEAD no words at
 * all): the container is asked for, so a missing path says so.
 */
async function pathFailure(backend: DockerBackend, id: string, path: string, err: unknown): Promise<never> {
  if (!(err instanceof NotFoundError)) throw err;
  await backend.inspectContainer(id);
  throw new NotFoundError(`no such file or directory in container ${id.slice(0, 12)}: ${path}`, { cause: err });
}

export async function statContainerPath(backend: DockerBackend, request: StatContainerPathRequest): Promise<StatContainerPathResponse> {
  const id = containerId(request.id);
  const path = checkContainerPath('path', request.path);
  const stat = await backend.statPath(id, path).catch((err: unknown) => pathFailure(backend, id, path, err));
  return { stat: pathStatFrom(stat) };
}

export async function copyFromContainer(backend: DockerBackend, request: CopyFromContainerRequest, call: ServerWritableStream<CopyFromContainerRequest, CopyFromContainerResponse>, signal: AbortSignal): Promise<void> {
  const id = containerId(request.id);
  const path = checkContainerPath('path', request.path);
  const { stat, archive } = await backend.getArchive(id, path).catch((err: unknown) => pathFailure(backend, id, path, err));
  const write = async (response: CopyFromContainerResponse['response']): Promise<void> => {
    if (!call.write({ response })) await drained(call, signal);
  };
  await write({ $case: 'stat', value: pathStatFrom(stat) });
  for await (const chunk of chunksOf(archive, signal)) {
    if (signal.aborted) return;
    await write({ $case: 'data', value: chunk });
  }
}

export async function copyToContainer(backend: DockerBackend, call: ServerReadableStream<CopyToContainerRequest, CopyToContainerResponse>, signal: AbortSignal, { logger }: CallContext): Promise<CopyToContainerResponse> {
  const requests = requestsOf<CopyToContainerRequest>(call, signal);
  const start = await firstStart(requests, (r) => (r?.$case === 'start' ? r.value : undefined));
  if (!start) throw InvalidArgumentError.field('start', 'empty', 'the first message must carry start');
  const id = containerId(start.id);
  const path = checkContainerPath('start.path', start.path);
  // Docker reads the archive from here as it extracts it; the caller's pieces go in only as fast.
  const archive = new PassThrough({ highWaterMark: maxArchiveMessageBytes });
  let putFailure: unknown;
  const put = backend.putArchive(id, path, start.noOverwriteDirNonDir, archive).catch((err: unknown) => {
    putFailure = err;
    archive.destroy();
  });
  let bytes = 0;
  try {
    for await (const { request } of requests) {
      const piece = checkArchivePiece(request);
      if (putFailure || archive.destroyed) break;
      bytes += piece.length;
      if (!archive.write(piece)) await firstEvent(archive, ['drain', 'close'], signal);
    }
  } catch (err) {
    archive.destroy();
    await put;
    throw err;
  }
  if (signal.aborted) {
    // The caller went before the end of the archive: Docker must not extract what came of it.
    archive.destroy(new Error('the copy was cancelled'));
    await put;
    return {};
  }
  archive.end();
  await put;
  if (putFailure) throw putFailure;
  logger.info('archive copied into the container', { id, path, bytes });
  return {};
}
