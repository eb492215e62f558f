import { mkdtempSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { buildInfo, versionLine } from './build-info';
import { effectiveFlags, masked } from './effective';
import { flag, parseFlags, VersionRequested } from './flags';

const specs = {
  listen: flag('string', { default: '127.0.0.1:1', description: '' }),
  'tls-key': flag('string', { placeholder: 'FILE', description: '' }),
  'api-token': flag('string', { description: '' }),
  'etcd-password': flag('string', { description: '' }),
  discovery: flag('string', { description: '' }),
  peers: flag('list', { default: [] as string[], description: '' }),
  retries: flag('integer', { default: 3, description: '' }),
  insecure: flag('boolean', { default: false, description: '' }),
};

describe('effectiveFlags', () => {
  it('lists every flag, unset ones as null, and masks secrets but not paths to them', () => {
    const values = parseFlags(specs, ['--tls-key', '/etc/flotilla/key.pem', '--api-token', 's3cr3t', '--discovery', 'etcd://alice:hunter2@10.0.0.1:2379/f', '--peers', 'a:1,https://u:pw@b:2'], {});
    const fields = effectiveFlags(specs, values);
    expect(fields).toEqual({
      listen: '127.0.0.1:1',
      'tls-key': '/etc/flotilla/key.pem',
      'api-token': masked,
      'etcd-password': null,
      discovery: `etcd://alice:${masked}@10.0.0.1:2379/f`,
      peers: ['a:1', `https://u:${masked}@b:2`],
      retries: 3,
      insecure: false,
    });
    expect(JSON.stringify(fields)).not.toMatch(/s3cr3t|hunter2|pw@/);
  });

  it('masks inline key material even in a FILE flag, and a secret flag whose value is no path', () => {
    const pem = '-----BEGIN PRIVATE KEY-----\nMIGH\n-----END PRIVATE KEY-----';
    expect(effectiveFlags(specs, { 'tls-key': pem, 'etcd-password': './relative/is/a/path', listen: pem })).toMatchObject({ 'tls-key': masked, 'etcd-password': './relative/is/a/path', listen: masked });
    expect(effectiveFlags(specs, { 'etcd-password': 'plain' })['etcd-password']).toBe(masked);
  });
});

describe('--version and the build', () => {
  it('--version is asked for like --help', () => {
    expect(() => parseFlags(specs, ['--version'], {})).toThrow(VersionRequested);
  });

  it('reads the package version and the commit the build wrote, else "unknown"', () => {
    const root = mkdtempSync(path.join(tmpdir(), 'flotilla-build-info-'));
    try {
      writeFileSync(path.join(root, 'package.json'), JSON.stringify({ name: '@flotilla/x', version: '1.2.3' }));
      mkdirSync(path.join(root, 'dist'));
      mkdirSync(path.join(root, 'src'));
      expect(buildInfo(path.join(root, 'src'), '@flotilla/x')).toEqual({ version: '1.2.3', build: 'unknown' });
      writeFileSync(path.join(root, 'dist', 'build-info.json'), JSON.stringify({ commit: '0123456789ab' }));
      expect(buildInfo(path.join(root, 'dist'), '@flotilla/x')).toEqual({ version: '1.2.3', build: '0123456789ab' });
      expect(buildInfo(path.join(root, 'dist'), '@flotilla/other')).toEqual({ version: 'unknown', build: '0123456789ab' });
      expect(versionLine('flotilla-x', { version: '1.2.3', build: '0123456789ab' })).toBe('flotilla-x 1.2.3 (build 0123456789ab)\n');
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});
