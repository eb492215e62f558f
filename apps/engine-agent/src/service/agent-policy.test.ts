import { Metadata, status, type sendUnaryData, type ServerUnaryCall } from '@grpc/grpc-js';
import { silentLogger } from '@flotilla/grpc';
import { parsePolicy } from '@flotilla/policy';
import { CreateContainerRequest, type CreateContainerResponse } from '@flotilla/proto/agent';
import { FakeClock } from '@flotilla/time';
import type { DockerCreateBody } from '../docker/docker-backend';
import { HollowDockerBackend } from '../testing';
import { EngineMonitor } from '../monitor/engine-monitor';
import { createAgentService } from './agent-service';

type CreateCall = ServerUnaryCall<CreateContainerRequest, CreateContainerResponse>;
type CreateHandler = (call: CreateCall, callback: sendUnaryData<CreateContainerResponse>) => void;
type Answer = { code: status; details: string } | { code: status.OK; id: string };

/** The agent's createContainer handler, called as grpc-js would after the access check let a manager in. */
function agentWith(policy?: string) {
  const clock = new FakeClock();
  const backend = new HollowDockerBackend({ clock });
  const bodies: DockerCreateBody[] = [];
  const create = backend.createContainer.bind(backend);
  backend.createContainer = (body) => {
    bodies.push(body);
    return create(body);
  };
  const monitor = new EngineMonitor(backend, { clock, heartbeatIntervalMs: 1000 });
  const service = createAgentService({ backend, monitor, logger: silentLogger, containerPolicy: policy ? parsePolicy(policy, '/etc/flotilla/agent-policy.json', 'engine-agent') : undefined });
  const handler = service.implementation.createContainer as unknown as CreateHandler;
  const createAs = (fields: Partial<CreateContainerRequest>, actingRoles: string[]) =>
    new Promise<Answer>((resolve) => {
      const metadata = new Metadata();
      for (const role of actingRoles) metadata.add('flotilla-acting-role', role);
      const call = { request: CreateContainerRequest.fromPartial({ image: 'busybox:local', ...fields }), metadata, getPeer: () => '127.0.0.1:5000' } as unknown as CreateCall;
      handler(call, (err, response) => resolve(err ? { code: err.code ?? status.UNKNOWN, details: err.details ?? '' } : { code: status.OK, id: response?.id ?? '' }));
    });
  return { createAs, bodies };
}

describe('the agent\'s createContainer and its container policy', () => {
  it('refuses host networking for the role the manager acts for, as the manager would, and creates nothing', async () => {
    const { createAs, bodies } = agentWith();
    expect(await createAs({ networkMode: 'host' }, ['operator'])).toEqual({
      code: status.PERMISSION_DENIED,
      details:
        'networkMode "host": the engine-agent\'s container policy (default: nothing of the host) does not allow host networking for role "operator" (allow it with "hostNetwork" in --container-policy)',
    });
    expect(bodies).toEqual([]);
  });

  it('allows what its policy allows the acting role, and passes it to Docker', async () => {
    const { createAs, bodies } = agentWith('{"roles": {"operator": {"hostNetwork": true, "bindPaths": ["/srv/data"]}}}');
    expect(await createAs({ networkMode: 'host', binds: ['/srv/data/a:/a'] }, ['operator'])).toMatchObject({ code: status.OK });
    expect(bodies[0].HostConfig).toMatchObject({ NetworkMode: 'host', Binds: ['/srv/data/a:/a'] });
    expect(await createAs({ binds: ['/etc:/etc'] }, ['operator'])).toMatchObject({ code: status.PERMISSION_DENIED, details: expect.stringMatching(/^binds\[0\] "\/etc:\/etc": /) });
    expect(await createAs({ networkMode: 'host' }, ['reader'])).toMatchObject({ code: status.PERMISSION_DENIED });
  });

  it('allows nothing of the host when the manager names no role, whatever the policy allows the roles', async () => {
    const { createAs } = agentWith('{"roles": {"operator": {"hostNetwork": true}, "reader": {"hostNetwork": true}}}');
    expect(await createAs({ networkMode: 'host' }, [])).toMatchObject({ code: status.PERMISSION_DENIED, details: expect.stringContaining('for a caller without a role') });
    expect(await createAs({}, [])).toMatchObject({ code: status.OK });
  });

  it('refuses an acting role that is no role, or more than one', async () => {
    const { createAs } = agentWith('{"roles": {"operator": {"hostNetwork": true}}}');
    expect(await createAs({}, ['root'])).toMatchObject({ code: status.INVALID_ARGUMENT, details: expect.stringMatching(/^metadata flotilla-acting-role "root": not a Flotilla role/) });
    expect(await createAs({ networkMode: 'host' }, ['reader', 'operator'])).toMatchObject({ code: status.INVALID_ARGUMENT });
  });
});
