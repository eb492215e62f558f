import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { allowanceFor } from '@flotilla/policy';
import { parseAgentConfig } from './config';

describe('--container-policy on the agent', () => {
  let dir: string;
  beforeAll(() => (dir = mkdtempSync(path.join(tmpdir(), 'agent-policy-'))));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('loads the policy from the flag or FLOTILLA_AGENT_CONTAINER_POLICY, and allows nothing of the host without one', () => {
    const file = path.join(dir, 'policy.json');
    writeFileSync(file, '{"roles": {"operator": {"bindPaths": ["/srv/data"]}}}');
    const fromFlag = parseAgentConfig(['--insecure', '--container-policy', file], {}).containerPolicy;
    expect(fromFlag).toMatchObject({ source: file, holder: 'engine-agent' });
    expect(allowanceFor(fromFlag, 'operator').bindPaths).toEqual(['/srv/data']);
    expect(parseAgentConfig(['--insecure'], { FLOTILLA_AGENT_CONTAINER_POLICY: file }).containerPolicy.source).toBe(file);
    expect(parseAgentConfig(['--insecure'], {}).containerPolicy).toEqual({ roles: {}, source: 'default: nothing of the host', holder: 'engine-agent' });
  });

  it('refuses to start on a bad policy, naming the flag and the key', () => {
    const file = path.join(dir, 'bad.json');
    writeFileSync(file, '{"roles": {"operator": {"hostNetwork": "yes"}}}');
    expect(() => parseAgentConfig(['--insecure', '--container-policy', file], {})).toThrow(/^--container-policy ".*bad\.json": roles\.operator\.hostNetwork: expected true or false/);
  });
});
