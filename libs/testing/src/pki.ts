// Certificates for tests: one cluster CA per test process, and a certificate per role and name,
// made once and reused, so every service a test starts and every client it dials speaks mutual TLS
// as in production.
import { existsSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { CertificateAuthority, type IssuedCertificate, type Role } from '@flotilla/pki';
import { makeTempDir, removeTempDir } from './temp-dir';

let authority: CertificateAuthority | undefined;
const issued = new Map<string, IssuedCertificate>();

/** Children (benchmark workers) inherit the parent's CA through this variable. */
const caDirVariable = 'FLOTILLA_TEST_CA_DIR';

/**
 * The test process's CA, created on first use: in a Jest run under the run's folder (removed when
 * the run ends), elsewhere removed when the process that made it exits.
 */
export function testAuthority(): CertificateAuthority {
  if (!authority) {
    const inherited = process.env[caDirVariable];
    if (inherited && existsSync(path.join(inherited, 'ca.key'))) {
      authority = CertificateAuthority.open(inherited);
    } else {
      const dir = makeTempDir('flotilla-test-ca-');
      process.once('exit', () => removeTempDir(dir));
      authority = CertificateAuthority.create(dir, { name: 'Flotilla test CA' });
      process.env[caDirVariable] = dir;
    }
  }
  return authority;
}

/** A certificate for `role` (named `name`, default `test-<role>`), from the test CA. */
export function testTls(role: Role, name = `test-${role}`): { ca: string; cert: string; key: string } {
  const key = `${role}/${name}`;
  let cert = issued.get(key);
  if (!cert) {
    const ca = testAuthority();
    const [certFile, keyFile] = [path.join(ca.dir, `${name}.crt`), path.join(ca.dir, `${name}.key`)];
    // Another process of the same run (a benchmark worker) may have issued it already.
    cert = existsSync(certFile) && existsSync(keyFile) ? { role, name, ca: ca.caCert, cert: certFile, key: keyFile } : ca.issue({ role, name });
    issued.set(key, cert);
  }
  return { ca: cert.ca, cert: cert.cert, key: cert.key };
}

/** The flags that give a service its identity: `--tls-ca/--tls-cert/--tls-key` for `role`. */
export function tlsArgs(role: Role, name?: string): string[] {
  const files = testTls(role, name);
  return ['--tls-ca', files.ca, '--tls-cert', files.cert, '--tls-key', files.key];
}

/**
 * `buf curl` over mutual TLS as `role`: the arguments up to and including the URL of `method`
 * (e.g. `flotilla.cluster.v1.ClusterService/GetInfo`) on the service at `address` (host:port).
 */
export function bufCurlArgs(role: Role, address: string, method: string, extra: string[] = []): string[] {
  const files = testTls(role);
  return ['curl', '--protocol', 'grpc', '--cacert', files.ca, '--cert', files.cert, '--key', files.key, ...extra, `https://${address}/${method}`];
}

let hostNetworkPolicyFile: string | undefined;

/**
 * A container policy file that lets operators use host networking (and nothing else of the host):
 * for tests that publish host ports, which Docker allows only with a network.
 */
export function hostNetworkPolicy(): string {
  if (!hostNetworkPolicyFile) {
    const dir = makeTempDir('flotilla-test-policy-');
    process.once('exit', () => removeTempDir(dir));
    hostNetworkPolicyFile = path.join(dir, 'host-network.json');
    writeFileSync(hostNetworkPolicyFile, JSON.stringify({ roles: { operator: { hostNetwork: true } } }));
  }
  return hostNetworkPolicyFile;
}
