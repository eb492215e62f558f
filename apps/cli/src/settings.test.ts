import * as fs from 'node:fs';
import * as path from 'node:path';
import { makeTempDir, removeTempDir } from '@flotilla/testing';
import { UsageError } from './errors';
import { defaultConfigPath, normaliseManager, resolveSettings } from './settings';

let home: string;
beforeEach(() => {
  home = makeTempDir('flotilla-cli-settings-');
});
afterEach(() => removeTempDir(home));

function writeConfig(content: unknown, dir = path.join(home, 'flotilla')): string {
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, 'config.json');
  fs.writeFileSync(file, typeof content === 'string' ? content : JSON.stringify(content));
  return file;
}

const given = (entries: Record<string, string>) => new Map(Object.entries(entries).map(([k, v]) => [k, [v]]));

it('defaults to the local cluster', () => {
  const s = resolveSettings(new Map(), { XDG_CONFIG_HOME: home });
  expect(s).toEqual({ manager: '127.0.0.1:4240', managers: ['127.0.0.1:4240'], tls: { ca: undefined, cert: undefined, key: undefined }, timeoutMs: 30_000, configFile: undefined });
});

it('reads $XDG_CONFIG_HOME/flotilla/config.json, else ~/.config', () => {
  expect(defaultConfigPath({ XDG_CONFIG_HOME: '/x' })).toBe('/x/flotilla/config.json');
  expect(defaultConfigPath({ HOME: '/home/u' })).toBe('/home/u/.config/flotilla/config.json');
  expect(defaultConfigPath({ HOME: '/home/u', XDG_CONFIG_HOME: 'relative' })).toBe('/home/u/.config/flotilla/config.json');
});

it('ranks flag over environment over config file over default', () => {
  const file = writeConfig({ manager: '10.0.0.3:4240', tls: { ca: 'ca.pem' }, timeout: '5s' });
  const env = { XDG_CONFIG_HOME: home };
  expect(resolveSettings(new Map(), env)).toMatchObject({ manager: '10.0.0.3:4240', timeoutMs: 5000, configFile: file, tls: { ca: path.join(home, 'flotilla', 'ca.pem') } });
  expect(resolveSettings(new Map(), { ...env, FLOTILLA_MANAGER: '10.0.0.2:4240', FLOTILLA_TIMEOUT: '2s' })).toMatchObject({ manager: '10.0.0.2:4240', timeoutMs: 2000 });
  expect(resolveSettings(given({ manager: '10.0.0.1:4240', timeout: '1s' }), { ...env, FLOTILLA_MANAGER: '10.0.0.2:4240' })).toMatchObject({ manager: '10.0.0.1:4240', timeoutMs: 1000 });
  expect(resolveSettings(given({ 'tls-ca': '/etc/ca.pem' }), env).tls.ca).toBe('/etc/ca.pem');
});

it('reads the file named by --config or FLOTILLA_CONFIG, which must exist', () => {
  const file = writeConfig({ manager: 'manager.example:4240' }, path.join(home, 'elsewhere'));
  expect(resolveSettings(given({ config: file }), {}).manager).toBe('manager.example:4240');
  expect(resolveSettings(new Map(), { FLOTILLA_CONFIG: file }).manager).toBe('manager.example:4240');
  expect(() => resolveSettings(given({ config: path.join(home, 'missing.json') }), {})).toThrow(/cannot read the config file/);
});

it.each([
  ['not json', /is not valid JSON/],
  ['[]', /must hold a JSON object/],
  ['{"manger": "x:1"}', /unknown keys manger/],
  ['{"manager": 4240}', /"manager" must be a string/],
  ['{"timeout": "soon"}', /"timeout" "soon" is not a duration/],
  ['{"manager": "no-port"}', /expected host:port/],
])('rejects a config file holding %s', (content, message) => {
  writeConfig(content);
  expect(() => resolveSettings(new Map(), { XDG_CONFIG_HOME: home })).toThrow(message);
  try {
    resolveSettings(new Map(), { XDG_CONFIG_HOME: home });
  } catch (err) {
    expect(err).toBeInstanceOf(UsageError);
  }
});

it('accepts tcp:// and grpc:// in front of the manager address', () => {
  expect(normaliseManager('tcp://10.0.0.1:4240')).toBe('10.0.0.1:4240');
  expect(normaliseManager('grpc://[::1]:4240/')).toBe('[::1]:4240');
  expect(() => normaliseManager('10.0.0.1')).toThrow(UsageError);
});
