import { FailedPreconditionError, UnavailableError } from '@flotilla/errors';
import type { DockerVersionReply, NegotiatedApi } from './docker-backend';

/**
 * The agent speaks Docker API 1.40 (Docker 19.03) to 1.43. It uses NanoCpus, host-config port
 * bindings, restart policies and `since` on events, which every version in that range has.
 */
export const minimumApiVersion = '1.40';
export const maximumApiVersion = '1.43';

function parse(version: string): [number, number] | null {
  const match = /^v?(\d+)\.(\d+)$/.exec(version.trim());
  return match ? [Number(match[1]), Number(match[2])] : null;
}

export function compareApiVersions(a: string, b: string): number {
  const [x, y] = [parse(a), parse(b)];
  if (!x || !y) throw new Error(`cannot compare API versions ${a} and ${b}`);
  return x[0] - y[0] || x[1] - y[1];
}

/** Picks the highest version both sides speak, from the engine's `GET /version` reply. */
export function negotiateApiVersion(reply: DockerVersionReply, endpoint: string): NegotiatedApi {
  const engineMax = reply.ApiVersion ?? '';
  if (!parse(engineMax)) {
    throw new UnavailableError(`Docker engine at ${endpoint} answered /version without a valid ApiVersion (${JSON.stringify(reply.ApiVersion)})`);
  }
  if (compareApiVersions(engineMax, minimumApiVersion) < 0) {
    throw new FailedPreconditionError(
      `Docker engine at ${endpoint} speaks API ${engineMax} (Docker ${reply.Version ?? 'unknown'}); the agent needs at least API ${minimumApiVersion} (Docker 19.03)`,
    );
  }
  const apiVersion = compareApiVersions(engineMax, maximumApiVersion) < 0 ? engineMax : maximumApiVersion;
  return { apiVersion, engineMaxApiVersion: engineMax };
}
