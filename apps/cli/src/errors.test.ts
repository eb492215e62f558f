import { AlreadyExistsError, DeadlineExceededError, FailedPreconditionError, InternalError, InvalidArgumentError, NotFoundError, PermissionDeniedError, ResourceExhaustedError, UnavailableError } from '@flotilla/errors';
import { CliError, connectionProblem, describeError, ExitCode, UnreachableError } from './errors';

it.each([
  [new InvalidArgumentError('bad'), ExitCode.usage],
  [new NotFoundError('no container "x" in the cluster'), ExitCode.notFound],
  [new FailedPreconditionError('no engine can take the container'), ExitCode.precondition],
  [new ResourceExhaustedError('fell behind'), ExitCode.precondition],
  [new AlreadyExistsError('name taken'), ExitCode.alreadyExists],
  [new PermissionDeniedError('role "reader" may not call it'), ExitCode.notAllowed],
  [new InternalError('boom'), ExitCode.error],
  [new Error('plain'), ExitCode.error],
])('%s exits %i', (err, code) => expect(describeError(err).exitCode).toBe(code));

it('adds what to do to the manager\'s message, in one line', () => {
  const failure = describeError(new NotFoundError('no container "x"\n in the cluster'), { notFound: 'see flotilla ps -a' });
  expect(failure.message).toBe('no container "x" in the cluster; see flotilla ps -a');
  expect(describeError(new DeadlineExceededError('slow')).message).toMatch(/raise --timeout/);
  expect(describeError(new UnavailableError('agent down')).message).toMatch(/see flotilla engine ls/);
});

it('says why a connection failed in a few words', () => {
  expect(connectionProblem('No connection established. Last error: Error: connect ECONNREFUSED 127.0.0.1:4240 (2024-01-01T00:00:00.000Z)')).toBe('connection refused');
  expect(connectionProblem('Name resolution failed for target dns:nope.invalid:1')).toBe('unknown host');
  expect(connectionProblem('No connection established. Last error: something odd (2024-01-01T00:00:00.000Z)')).toBe('something odd');
});

it('words an unreachable manager as the help documents it', () => {
  const err = new UnreachableError('127.0.0.1:4240', 'connection refused');
  expect(err.message).toBe('cannot reach the cluster-manager at 127.0.0.1:4240 (connection refused); start it or pass --manager HOST:PORT');
  expect(err.exitCode).toBe(3);
  expect(new UnreachableError('h:1', 'connection reset', true).message).toMatch(/^lost the connection to the cluster-manager at h:1/);
  expect(new UnreachableError('h:1', 'x', false, true).message).toMatch(/TLS files/);
  expect(describeError(err)).toBe(err);
  expect(describeError(new CliError('x', 9)).exitCode).toBe(9);
});

it('reports a container policy refusal in one line, as the manager words it, and exits 7', () => {
  const refusal =
    'networkMode "host": the cluster-manager\'s container policy (default: nothing of the host) does not allow host networking for role "operator" (allow it with "hostNetwork" in --container-policy)';
  const failure = describeError(new PermissionDeniedError(refusal));
  expect(failure.message).toBe(refusal);
  expect(failure.exitCode).toBe(7);
  expect(describeError(new PermissionDeniedError('/flotilla.cluster.v1.ClusterService/CreateContainer: role "reader" of "bob" may not call it; allowed: operator')).message).toMatch(/check the client certificate/);
});
