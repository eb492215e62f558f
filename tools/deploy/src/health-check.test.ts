import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { makeTempDir, removeTempDir } from '@flotilla/testing';
import { dialAddress, findService } from './health-check';

describe('the health check', () => {
  it('dials a wildcard listen address on loopback, any other as it is, and refuses port 0', () => {
    expect(dialAddress('0.0.0.0:4250')).toBe('127.0.0.1:4250');
    expect(dialAddress('[::]:4250')).toBe('[::1]:4250');
    expect(dialAddress('127.0.0.1:4240')).toBe('127.0.0.1:4240');
    expect(dialAddress('node-7.example.com:4250')).toBe('node-7.example.com:4250');
    expect(() => dialAddress('127.0.0.1:0')).toThrow(/fixed --listen port/);
  });

  it('finds the service that runs the main.js beside it, PID 1 first, with its flags and environment', () => {
    const proc = makeTempDir('flotilla-fake-proc-');
    try {
      const fake = (pid: number, argv: string[], env: string[], cwd: string) => {
        mkdirSync(path.join(proc, String(pid)));
        writeFileSync(path.join(proc, String(pid), 'cmdline'), `${argv.join('\0')}\0`);
        writeFileSync(path.join(proc, String(pid), 'environ'), `${env.join('\0')}\0`);
        symlinkSync(cwd, path.join(proc, String(pid), 'cwd'));
      };
      fake(7, ['node', '/opt/other/main.js', '--listen', '127.0.0.1:1'], [], '/');
      fake(1, ['node', '--enable-source-maps', 'main.js', '--listen', '0.0.0.0:4250'], ['FLOTILLA_AGENT_TLS_CA=/etc/flotilla/tls/ca.crt', 'EMPTY='], '/app');
      expect(findService('/app/main.js', proc)).toEqual({ pid: 1, argv: ['--listen', '0.0.0.0:4250'], env: { FLOTILLA_AGENT_TLS_CA: '/etc/flotilla/tls/ca.crt', EMPTY: '' } });
      expect(findService('/opt/other/main.js', proc)).toMatchObject({ pid: 7, argv: ['--listen', '127.0.0.1:1'] });
      expect(findService('/nowhere/main.js', proc)).toBeUndefined();
    } finally {
      removeTempDir(proc);
    }
  });
});
