import { effectiveRole, mayCall } from './access';
import { checkDialAllowed, isLoopbackHost, securityFromFlags } from './security';
import { InvalidArgumentError } from '@flotilla/errors';

describe('securityFromFlags', () => {
  const files = { ca: '/ca.crt', cert: '/svc.crt', key: '/svc.key' };

  it('is mutual TLS when all three files are given', () => {
    expect(securityFromFlags({ tls: files, insecure: false, listen: '0.0.0.0:4240' })).toEqual({ kind: 'mtls', tls: files });
  });

  it('refuses to start without certificates, naming the missing flags and the way out', () => {
    expect(() => securityFromFlags({ tls: {}, insecure: false, listen: '127.0.0.1:4240' })).toThrow(InvalidArgumentError);
    expect(() => securityFromFlags({ tls: { ca: '/ca.crt' }, insecure: false })).toThrow(/missing --tls-cert, --tls-key.*flotilla ca.*--insecure/);
  });

  it.each(['127.0.0.1:4240', '127.9.8.7:1', '[::1]:4240', 'localhost:4240'])('accepts --insecure on loopback %s', (listen) => {
    expect(securityFromFlags({ tls: {}, insecure: true, listen })).toEqual({ kind: 'insecure' });
  });

  it.each(['0.0.0.0:4240', '10.0.0.1:4240', '[::]:4240', 'manager.example.com:4240'])('refuses --insecure on %s', (listen) => {
    expect(() => securityFromFlags({ tls: {}, insecure: true, listen })).toThrow(/--listen .*loopback/);
  });

  it('refuses --insecure together with certificates', () => {
    expect(() => securityFromFlags({ tls: files, insecure: true, listen: '127.0.0.1:1' })).toThrow(/cannot be combined/);
  });
});

describe('insecure dialling', () => {
  it('reaches only loopback peers', () => {
    expect(isLoopbackHost('127.0.0.1')).toBe(true);
    expect(isLoopbackHost('[::1]')).toBe(true);
    expect(isLoopbackHost('128.0.0.1')).toBe(false);
    expect(() => checkDialAllowed({ kind: 'insecure' }, 'engine address', '127.0.0.1:4250')).not.toThrow();
    expect(() => checkDialAllowed({ kind: 'insecure' }, 'engine address', '192.0.2.1:4250')).toThrow(/engine address "192.0.2.1:4250"/);
    expect(() => checkDialAllowed({ kind: 'mtls', tls: { ca: 'a', cert: 'b', key: 'c' } }, 'engine address', '192.0.2.1:4250')).not.toThrow();
  });
});

describe('insecure callers', () => {
  it('may call everything and act as operators for the container policy', () => {
    const caller = { name: '127.0.0.1:5555', role: undefined, insecure: true, peer: '127.0.0.1:5555' };
    expect(mayCall(caller, [])).toBe(true);
    expect(effectiveRole(caller)).toBe('operator');
    expect(effectiveRole({ ...caller, insecure: false, role: 'reader' })).toBe('reader');
    expect(mayCall({ ...caller, insecure: false, role: 'reader' }, ['operator'])).toBe(false);
  });
});
