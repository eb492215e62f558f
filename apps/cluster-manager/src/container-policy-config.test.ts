import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { allowanceFor } from '@flotilla/policy';
import { parseManagerConfig } from './config';

describe('--container-policy on the manager', () => {
  let dir: string;
  beforeAll(() => (dir = mkdtempSync(path.join(tmpdir(), 'manager-policy-'))));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('loads the policy from the flag or FLOTILLA_MANAGER_CONTAINER_POLICY, and allows nothing of the host without one', () => {
    const file = path.join(dir, 'policy.json');
    writeFileSync(file, '{"roles": {"operator": {"hostNetwork": true}}}');
    const fromFlag = parseManagerConfig(['--insecure', '--container-policy', file], {}).containerPolicy;
    expect(fromFlag).toMatchObject({ source: file, holder: 'cluster-manager' });
    expect(allowanceFor(fromFlag, 'operator').hostNetwork).toBe(true);
    expect(parseManagerConfig(['--insecure'], { FLOTILLA_MANAGER_CONTAINER_POLICY: file }).containerPolicy.source).toBe(file);
    expect(parseManagerConfig(['--insecure'], {}).containerPolicy).toEqual({ roles: {}, source: 'default: nothing of the host', holder: 'cluster-manager' });
  });

  it('refuses to start on a policy over 64 KiB', () => {
    const file = path.join(dir, 'big.json');
    writeFileSync(file, ' '.repeat(65 * 1024));
    expect(() => parseManagerConfig(['--insecure', '--container-policy', file], {})).toThrow(/^--container-policy ".*big\.json": larger than 64 KiB/);
  });
});
