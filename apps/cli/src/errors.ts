import { AlreadyExistsError, CancelledError, DeadlineExceededError, FailedPreconditionError, FlotillaError, InvalidArgumentError, NotFoundError, PermissionDeniedError, ResourceExhaustedError, UnauthenticatedError, UnavailableError } from '@flotilla/errors';

/**
 * Exit codes scripts can rely on. `run` without `-d` exits with the container's own exit code
 * once the container ran; these apply to everything that fails before that.
 */
export const ExitCode = {
  ok: 0,
  /** Any other failure. */
  error: 1,
  /** A bad command line: unknown command or flag, missing or malformed argument or value (also when the manager rejects a value). */
  usage: 2,
  /** The cluster-manager cannot be reached (refused, unknown host, no answer, TLS failure) or the connection was lost. */
  unreachable: 3,
  /** No such container or engine. */
  notFound: 4,
  /** The cluster cannot do it now: no engine can take the container, the container's engine is unhealthy, wrong state. */
  precondition: 5,
  /** A container with that name already exists. */
  alreadyExists: 6,
  /** Not allowed (PERMISSION_DENIED): the caller's role may not call it, or the container policy refuses what the spec asks of the host. */
  notAllowed: 7,
  /** Interrupted (Ctrl-C, SIGINT) or terminated (SIGTERM): 128 + the signal number. */
  interrupted: 130,
  terminated: 143,
} as const;

export const exitCodeHelp = `Exit codes:
  0    success
  1    any other failure
  2    usage: unknown command or flag, bad argument or value (also when the manager rejects one)
  3    the cluster-manager cannot be reached, or the connection to it was lost
  4    not found: no such container or engine
  5    the cluster cannot do it: no engine can take the container (explain exits 5 too), the
       container's engine is unhealthy, or the container is in the wrong state
  6    already exists: a container with that name is already in the cluster
  7    not allowed: your certificate's role may not do it, or the container policy does not
       allow what the container asks of its host (--network host, --privileged, -v /path, ...)
  130  interrupted by Ctrl-C (143 for SIGTERM); streams are cancelled on the manager too
  run without -d exits with the container's exit code once the container ran.`;

/** A failure the CLI reports as one line on stderr, with the exit code it maps to. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: number,
    /** More lines printed after the one-line message (e.g. the per-engine placement table). */
    readonly more: string = '',
  ) {
    super(message);
    this.name = 'CliError';
  }
}

/** A bad command line. */
export class UsageError extends CliError {
  constructor(message: string, readonly command = '') {
    super(message, ExitCode.usage);
    this.name = 'UsageError';
  }
}

/** The process was interrupted; the command cancelled what it was doing. */
export class InterruptedError extends CliError {
  /** `note` is printed (e.g. "web keeps running"); a plain interruption prints nothing. */
  constructor(signal: NodeJS.Signals = 'SIGINT', readonly note = '') {
    super(note || 'interrupted', signal === 'SIGTERM' ? ExitCode.terminated : ExitCode.interrupted);
    this.name = 'InterruptedError';
  }
}

/** The manager could not be reached, with why in a few words. */
export class UnreachableError extends CliError {
  constructor(
    readonly manager: string,
    readonly why: string,
    readonly lost = false,
    readonly tls = false,
  ) {
    const hint = /refused|unknown host/.test(why)
      ? 'start it or pass --manager HOST:PORT'
      : tls
        ? 'check that it runs, --manager HOST:PORT and the TLS files (--tls-ca, --tls-cert, --tls-key)'
        : // Something answered and hung up: most likely a manager with mutual TLS (the default).
          "a manager with mutual TLS (the default) answers only a client certificate of its CA: get one with 'flotilla ca issue --role operator --install NAME', or pass --tls-ca, --tls-cert and --tls-key";
    // Several managers (--manager a:4240,b:4240): none of them could be reached.
    const at = manager.includes(',') ? `any cluster-manager of ${manager.split(',').join(', ')}` : `the cluster-manager at ${manager}`;
    super(
      lost ? `lost the connection to ${manager.includes(',') ? `the cluster-managers at ${manager.split(',').join(', ')}` : at} (${why}); check that it still runs, then retry` : `cannot reach ${at} (${why}); ${hint}`,
      ExitCode.unreachable,
    );
    this.name = 'UnreachableError';
  }
}

/** A few words for why a connection failed, from grpc-js's message. */
export function connectionProblem(message: string): string {
  const rules: Array<[RegExp, string]> = [
    [/ECONNREFUSED/, 'connection refused'],
    [/ENOTFOUND|EAI_AGAIN|Name resolution failed|DNS resolution failed/i, 'unknown host'],
    [/ETIMEDOUT|timed out/i, 'connection timed out'],
    [/EHOSTUNREACH|ENETUNREACH/, 'host unreachable'],
    [/ECONNRESET|Connection dropped|socket hang up|ended by the server|GOAWAY/i, 'connection reset'],
    [/certificate|SSL|TLS|handshake|wrong version number|self.signed/i, `TLS handshake failed: ${message.replace(/^.*Last error:\s*/, '').replace(/\s*\(\d{4}-[^)]*\)\s*$/, '')}`],
    [/Deadline exceeded|deadline/i, 'no answer in time'],
  ];
  for (const [re, why] of rules) if (re.test(message)) return why;
  return message.replace(/^No connection established\.\s*Last error:\s*/, '').replace(/\s*\(\d{4}-[^)]*\)\s*$/, '') || 'unavailable';
}

/** What to do next, appended to a server error by the kind of thing a command works on. */
export interface ErrorHints {
  notFound?: string;
  alreadyExists?: string;
  precondition?: string;
}

/** The exit code for a typed error from the manager. */
export function exitCodeOf(err: FlotillaError): number {
  if (err instanceof InvalidArgumentError) return ExitCode.usage;
  if (err instanceof NotFoundError) return ExitCode.notFound;
  if (err instanceof FailedPreconditionError || err instanceof ResourceExhaustedError) return ExitCode.precondition;
  if (err instanceof AlreadyExistsError) return ExitCode.alreadyExists;
  if (err instanceof PermissionDeniedError) return ExitCode.notAllowed;
  if (err instanceof CancelledError) return ExitCode.interrupted;
  return ExitCode.error;
}

/** Turns anything a command threw into one line (plus optional detail) and an exit code. */
export function describeError(err: unknown, hints: ErrorHints = {}): CliError {
  if (err instanceof CliError) return err;
  if (err instanceof FlotillaError) {
    const code = exitCodeOf(err);
    const message = err.message.replace(/\s+/g, ' ').trim();
    let hint = '';
    if (err instanceof NotFoundError && hints.notFound) hint = hints.notFound;
    else if (err instanceof AlreadyExistsError && hints.alreadyExists) hint = hints.alreadyExists;
    else if (err instanceof FailedPreconditionError && hints.precondition) hint = hints.precondition;
    // A container policy refusal already says what would allow it; a certificate has nothing to do with it.
    else if (err instanceof UnauthenticatedError || (err instanceof PermissionDeniedError && !/container policy/.test(message))) hint = 'check the client certificate (--tls-cert, --tls-key)';
    else if (err instanceof DeadlineExceededError) hint = 'the manager or an engine is slow; retry, or raise --timeout';
    else if (err instanceof UnavailableError) hint = 'an engine or its agent is unreachable; see flotilla engine ls';
    return new CliError(hint ? `${message}; ${hint}` : message, code);
  }
  if (err instanceof Error) return new CliError(err.message, ExitCode.error);
  return new CliError(String(err), ExitCode.error);
}
