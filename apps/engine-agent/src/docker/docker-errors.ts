import { AlreadyExistsError, FailedPreconditionError, FlotillaError, InternalError, InvalidArgumentError, NotFoundError, PermissionDeniedError, UnavailableError } from '@flotilla/errors';

/** The parts of a dockerode / Node error the mapping reads. */
interface DockerErrorLike {
  statusCode?: number;
  code?: string;
  message?: string;
  json?: { message?: string } | null;
  reason?: string;
}

const unreachableCodes = new Set(['ECONNREFUSED', 'ENOENT', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN', 'ENOTFOUND', 'ESOCKETTIMEDOUT', 'ECONNABORTED']);

/** Docker's own message, without dockerode's "(HTTP code 404) no such container -" prefix. */
export function dockerMessage(err: DockerErrorLike): string {
  const fromJson = err.json && typeof err.json.message === 'string' ? err.json.message : undefined;
  const text = fromJson ?? err.message ?? String(err);
  return text.replace(/^\(HTTP code \d+\)\s*[^-]*-\s*/, '').trim();
}

/**
 * Maps an error from the Docker engine onto the typed error for its gRPC status, keeping Docker's
 * message: 403 FAILED_PRECONDITION; 404 NOT_FOUND; 409 on a name ALREADY_EXISTS, other 409 FAILED_PRECONDITION; 400
 * INVALID_ARGUMENT; a refused or broken connection UNAVAILABLE.
 */
export function mapDockerError(err: unknown, endpoint: string): FlotillaError {
  if (err instanceof FlotillaError) return err;
  const e = (typeof err === 'object' && err !== null ? err : { message: String(err) }) as DockerErrorLike;
  const message = dockerMessage(e);
  if (e.code && unreachableCodes.has(e.code)) {
    return new UnavailableError(`Docker engine at ${endpoint} is unreachable: ${e.code} ${message}`, { cause: err });
  }
  switch (e.statusCode) {
    case 400:
      return new InvalidArgumentError(message, { cause: err });
    case 403:
      // Docker's "forbidden": a network with active endpoints, a predefined network.
      return new FailedPreconditionError(message, { cause: err });
    case 404:
      return new NotFoundError(message, { cause: err });
    case 409:
      return /name .* is already in use|Conflict\. The container name|network with name .* already exists/i.test(message)
        ? new AlreadyExistsError(message, { cause: err })
        : new FailedPreconditionError(message, { cause: err });
    case 500:
      // Docker reports some bad requests (e.g. an invalid signal or restart policy) as 500, and
      // some refusals in the container's state too (unpausing one that is not paused).
      if (/invalid|not supported|unknown/i.test(message)) return new InvalidArgumentError(message, { cause: err });
      if (/container \S+ is (not paused|not running|already paused|paused)/i.test(message)) return new FailedPreconditionError(message, { cause: err });
      return new InternalError(`Docker engine at ${endpoint}: ${message}`, { cause: err });
    case 503:
      return new UnavailableError(`Docker engine at ${endpoint}: ${message}`, { cause: err });
    default:
      return new InternalError(`Docker engine at ${endpoint}: ${message}`, { cause: err });
  }
}

/** A pull failure, from Docker's answer or from inside its progress stream, by what the message says. */
export function pullFailure(message: string, cause?: unknown): FlotillaError {
  if (/invalid reference|invalid tag|invalid repository|must be lowercase/i.test(message)) return new InvalidArgumentError(message, { cause });
  // The registry wants credentials, or refused the ones given: the caller's to fix, not a missing image.
  if (/unauthorized|no basic auth credentials|authentication required|incorrect username or password/i.test(message)) {
    // Docker's own reason comes last ("...: no basic auth credentials"); the whole message follows it.
    const reason = message.slice(message.lastIndexOf(': ') + 2);
    return new PermissionDeniedError(`the registry refused the pull (${reason}); send its credentials with the pull (RegistryAuth; flotilla login). ${message}`, { cause });
  }
  if (/not found|manifest unknown|does not exist|pull access denied/i.test(message)) return new NotFoundError(message, { cause });
  if (/connection refused|no such host|i\/o timeout|timeout|dial tcp|network is unreachable|TLS handshake/i.test(message)) return new UnavailableError(message, { cause });
  return new InternalError(message, { cause });
}
