import { X509Certificate } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { makeTempDir, removeTempDir } from '@flotilla/testing';
import { runCliInProcess } from '../../test/in-process';
import { resolveSettings } from '../settings';

let home: string;
beforeEach(() => (home = makeTempDir('flotilla-ca-cli-')));
afterEach(() => removeTempDir(home));

const cli = (args: string[]) => runCliInProcess(args, { XDG_CONFIG_HOME: home });

it('creates a CA, issues role certificates, and installs an operator identity the CLI then uses by default', async () => {
  const dir = path.join(home, 'ca');
  expect(await cli(['ca', 'init', '--dir', dir])).toMatchObject({ code: 0, stdout: `${path.join(dir, 'ca.crt')}\n` });
  const manager = await cli(['ca', 'issue', '--dir', dir, '--role', 'manager', '--host', 'manager.example.com', 'manager-1']);
  expect(manager.code).toBe(0);
  const cert = new X509Certificate(fs.readFileSync(path.join(dir, 'manager-1.crt')));
  expect(cert.subject).toContain('OU=manager');
  expect(cert.subjectAltName).toContain('DNS:manager.example.com');

  // No TLS flags, variables or config yet: plaintext.
  expect(resolveSettings(new Map(), { XDG_CONFIG_HOME: home }).tls).toEqual({});
  const installed = await cli(['ca', 'issue', '--dir', dir, '--role', 'operator', '--install', 'alice']);
  expect(installed.code).toBe(0);
  expect(installed.stdout).toContain(`installed as the CLI's identity in ${path.join(home, 'flotilla', 'tls')}`);
  const tls = resolveSettings(new Map(), { XDG_CONFIG_HOME: home }).tls;
  expect(tls).toEqual({ ca: path.join(home, 'flotilla', 'tls', 'ca.crt'), cert: path.join(home, 'flotilla', 'tls', 'client.crt'), key: path.join(home, 'flotilla', 'tls', 'client.key') });
  expect(new X509Certificate(fs.readFileSync(tls.cert!)).subject).toContain('OU=operator');
  expect(fs.statSync(tls.key!).mode & 0o077).toBe(0);
  // A flag still wins over the installed identity.
  expect(resolveSettings(new Map([['tls-ca', ['/elsewhere/ca.crt']]]), { XDG_CONFIG_HOME: home }).tls.ca).toBe('/elsewhere/ca.crt');
});

it('refuses an unknown role, a second CA in one folder, and issuing from a folder with no CA', async () => {
  const dir = path.join(home, 'ca');
  expect(await cli(['ca', 'init', '--dir', dir])).toMatchObject({ code: 0 });
  const badRole = await cli(['ca', 'issue', '--dir', dir, '--role', 'root', 'x']);
  expect(badRole.code).toBe(2);
  expect(badRole.stderr).toContain('--role "root": expected one of manager, agent, discovery, operator, reader');
  expect((await cli(['ca', 'init', '--dir', dir])).stderr).toContain('already holds a CA');
  expect((await cli(['ca', 'issue', '--dir', path.join(home, 'none'), '--role', 'operator', 'x'])).stderr).toContain('holds no CA');
});
