import { status } from '@grpc/grpc-js';
import { mapDockerError } from './docker-errors';

function dockerError(statusCode: number, message: string) {
  return Object.assign(new Error(`(HTTP code ${statusCode}) unexpected - ${message} `), { statusCode, json: { message } });
}

describe('mapDockerError', () => {
  it.each([
    [dockerError(404, 'No such container: nope'), status.NOT_FOUND, 'No such container: nope'],
    [dockerError(409, 'Conflict. The container name "/web" is already in use by container "abc".'), status.ALREADY_EXISTS, 'Conflict. The container name "/web"'],
    [dockerError(409, 'You cannot remove a running container abc. Stop the container before attempting removal or force remove'), status.FAILED_PRECONDITION, 'You cannot remove a running container'],
    [dockerError(400, 'invalid reference format'), status.INVALID_ARGUMENT, 'invalid reference format'],
    [dockerError(500, 'Invalid signal: SIGFOO'), status.INVALID_ARGUMENT, 'Invalid signal: SIGFOO'],
    [dockerError(500, 'driver failed programming external connectivity'), status.INTERNAL, 'driver failed'],
    [dockerError(500, 'Container 0123abcd is not paused'), status.FAILED_PRECONDITION, 'is not paused'],
    [dockerError(409, 'network with name backend already exists'), status.ALREADY_EXISTS, 'network with name backend'],
    [dockerError(403, 'error while removing network: network backend id 0123 has active endpoints'), status.FAILED_PRECONDITION, 'has active endpoints'],
    [Object.assign(new Error('connect ECONNREFUSED /x.sock'), { code: 'ECONNREFUSED' }), status.UNAVAILABLE, 'unreachable'],
    [Object.assign(new Error('connect ENOENT /x.sock'), { code: 'ENOENT' }), status.UNAVAILABLE, 'unreachable'],
  ])('maps %p', (err, code, text) => {
    const mapped = mapDockerError(err, 'unix:///x.sock');
    expect(mapped.code).toBe(code);
    expect(mapped.message).toContain(text);
  });

  it('keeps Docker message without the HTTP prefix', () => {
    expect(mapDockerError(dockerError(404, 'No such image: x:1'), 'e').message).toBe('No such image: x:1');
  });
});
