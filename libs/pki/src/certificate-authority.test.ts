import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CertificateAuthority } from './certificate-authority';

let dir: string;
beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'flotilla-pki-'))));
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('CertificateAuthority', () => {
  it('issues certificates whose OU is the role, signed by the CA, with private keys only the owner reads', () => {
    const ca = CertificateAuthority.create(join(dir, 'ca'));
    const issued = ca.issue({ role: 'manager', name: 'manager-1', hosts: ['manager.example.com', '10.1.2.3'] });
    const cert = new X509Certificate(readFileSync(issued.cert));
    const caCert = new X509Certificate(readFileSync(ca.caCert));
    expect(cert.verify(caCert.publicKey)).toBe(true);
    expect(cert.subject).toContain('OU=manager');
    expect(cert.subject).toContain('CN=manager-1');
    expect(cert.subjectAltName).toContain('DNS:manager.example.com');
    expect(cert.subjectAltName).toContain('IP Address:10.1.2.3');
    expect(cert.subjectAltName).toContain('IP Address:127.0.0.1');
    expect(cert.checkIP('127.0.0.1')).toBe('127.0.0.1');
    expect(caCert.ca).toBe(true);
    expect(cert.ca).toBe(false);
    expect(statSync(issued.key).mode & 0o077).toBe(0);
    expect(statSync(join(dir, 'ca', 'ca.key')).mode & 0o077).toBe(0);
  });

  it('gives people and scripts client-only certificates with no host names', () => {
    const ca = CertificateAuthority.create(join(dir, 'ca'));
    const cert = new X509Certificate(readFileSync(ca.issue({ role: 'operator', name: 'alice' }).cert));
    expect(cert.subject).toContain('OU=operator');
    expect(cert.subjectAltName).toBeUndefined();
    expect(cert.keyUsage).toEqual(['1.3.6.1.5.5.7.3.2']);
  });

  it('rotates a certificate by issuing the same name again', () => {
    const ca = CertificateAuthority.create(join(dir, 'ca'));
    const first = readFileSync(ca.issue({ role: 'agent', name: 'agent-1' }).cert, 'utf8');
    const second = readFileSync(CertificateAuthority.open(join(dir, 'ca')).issue({ role: 'agent', name: 'agent-1' }).cert, 'utf8');
    expect(second).not.toBe(first);
    expect(new X509Certificate(first).serialNumber).not.toBe(new X509Certificate(second).serialNumber);
  });

  it('refuses unknown roles, bad names and hosts, an existing CA and a missing one', () => {
    const ca = CertificateAuthority.create(join(dir, 'ca'));
    expect(() => ca.issue({ role: 'admin' as never, name: 'x' })).toThrow(/role "admin"/);
    expect(() => ca.issue({ role: 'operator', name: '../x' })).toThrow(/name "..\/x"/);
    expect(() => ca.issue({ role: 'agent', name: 'a', hosts: ['bad host'] })).toThrow(/host "bad host"/);
    expect(() => CertificateAuthority.create(join(dir, 'ca'))).toThrow(/already holds a CA/);
    expect(() => CertificateAuthority.open(join(dir, 'none'))).toThrow(/holds no CA/);
  });
});
