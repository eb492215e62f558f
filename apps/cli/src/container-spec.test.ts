import { convert, tokenize } from './args';
import { buildSpec, requestIdFor, specOptions } from './container-spec';
import { UsageError } from './errors';

/** The spec `flotilla run ARGS` sends, parsed as the CLI parses it. */
function specOf(args: string[]) {
  const tokens = tokenize(specOptions, args, { passthroughAfter: 1 }, 'flotilla run');
  return buildSpec(convert(specOptions, tokens.given, {}, 'flotilla run'), tokens.positionals, {});
}

describe('host access flags', () => {
  it("map docker's spelling into the spec, repeatable ones in order", () => {
    const spec = specOf([
      '--privileged', '--network', 'host', '--pid', 'host', '--ipc=container:db', '--uts', 'host',
      '--cap-add', 'NET_ADMIN', '--cap-add', 'SYS_TIME', '--device', '/dev/fuse', '--device=/dev/snd:/dev/snd:r',
      '-v', '/srv/data:/data:ro', '--volume', 'cache:/cache', '-v/tmp/x:/x',
      'busybox', 'sh', '-v',
    ]);
    expect(spec).toMatchObject({
      image: 'busybox',
      command: ['sh', '-v'],
      privileged: true,
      networkMode: 'host',
      pidMode: 'host',
      ipcMode: 'container:db',
      utsMode: 'host',
      capAdd: ['NET_ADMIN', 'SYS_TIME'],
      devices: ['/dev/fuse', '/dev/snd:/dev/snd:r'],
      binds: ['/srv/data:/data:ro', 'cache:/cache', '/tmp/x:/x'],
    });
  });

  it('ask for nothing of the host when not given', () => {
    expect(specOf(['busybox'])).toMatchObject({ privileged: false, pidMode: '', ipcMode: '', utsMode: '', capAdd: [], devices: [], binds: [] });
  });
});

describe('request IDs of run', () => {
  it('are fresh for every invocation, or the one given with --request-id', () => {
    const a = requestIdFor(undefined);
    expect(a).toMatch(/^[A-Za-z0-9._-]{1,128}$/);
    expect(requestIdFor(undefined)).not.toBe(a);
    expect(requestIdFor('deploy-42.web_1')).toBe('deploy-42.web_1');
    expect(() => requestIdFor('a b')).toThrow(UsageError);
    expect(() => requestIdFor('x'.repeat(129))).toThrow(/--request-id "x+": expected 1 to 128 of A-Z a-z 0-9 \. _ -/);
  });
});

describe('classic Swarm env entries', () => {
  it('go to the manager as they are, reschedule: too (the manager refuses what it cannot do, never the CLI silently)', () => {
    const spec = specOf(['-e', 'constraint:zone==a', '-e', 'affinity:container==db', '-e', 'reschedule:on-node-failure', '-e', 'UNSET_IN_THIS_ENV', 'busybox']);
    expect(spec.env).toEqual(['constraint:zone==a', 'affinity:container==db', 'reschedule:on-node-failure']);
  });
});
