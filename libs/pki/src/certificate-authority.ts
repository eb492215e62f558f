import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { isIP } from 'node:net';
import { mkdtempSync } from 'node:fs';
import { isRole, serviceRoles, type Role } from './roles';

/*
 * A cluster CA and the certificates it issues, made with the openssl command (always on Debian):
 * ECDSA P-256 keys, SHA-256 signatures. Node's crypto cannot write certificates, and the
 * JavaScript X.509 libraries need a global Reflect polyfill; openssl is the well-kept tool every
 * operator already trusts.
 */

export interface IssueOptions {
  role: Role;
  /** The certificate's CN, e.g. "manager-1"; also the file names. */
  name: string;
  /** Host names and IP addresses the holder serves on (subjectAltName). Services get localhost and 127.0.0.1 too. */
  hosts?: string[];
  /** Validity in days. */
  days?: number;
}

export interface IssuedCertificate {
  role: Role;
  name: string;
  /** The CA certificate(s) to trust. */
  ca: string;
  cert: string;
  key: string;
}

export const caFileNames = { cert: 'ca.crt', key: 'ca.key' } as const;
const namePattern = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;
const hostPattern = /^[A-Za-z0-9*]([A-Za-z0-9.-]{0,251}[A-Za-z0-9])?$/;

function openssl(args: string[], cwd: string): void {
  try {
    execFileSync('openssl', args, { cwd, stdio: ['ignore', 'pipe', 'pipe'], timeout: 30_000 });
  } catch (err) {
    const e = err as { stderr?: Buffer; code?: string; message: string };
    if (e.code === 'ENOENT') throw new Error('the openssl command is needed to make certificates (Debian: apt-get install openssl)');
    throw new Error(`openssl ${args[0]} failed: ${e.stderr?.toString().trim() || e.message}`);
  }
}

function writeKey(file: string, cwd: string): void {
  openssl(['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', file], cwd);
  chmodSync(path.join(cwd, file), 0o600);
}

/** A folder holding `ca.crt` and `ca.key`, and the certificates issued from it. */
export class CertificateAuthority {
  private constructor(readonly dir: string) {}

  get caCert(): string {
    return path.join(this.dir, caFileNames.cert);
  }

  /** Creates a new CA in `dir` (refuses to overwrite one). */
  static create(dir: string, options: { name?: string; days?: number } = {}): CertificateAuthority {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    if (existsSync(path.join(dir, caFileNames.key))) throw new Error(`${dir} already holds a CA (${caFileNames.key}); use it, or choose another folder`);
    const name = options.name ?? 'Flotilla cluster CA';
    if (!/^[\w .-]{1,64}$/.test(name)) throw new Error(`CA name ${JSON.stringify(name)}: letters, digits, spaces, '.', '_' and '-', at most 64`);
    writeKey(caFileNames.key, dir);
    openssl(
      ['req', '-x509', '-new', '-key', caFileNames.key, '-sha256', '-days', String(options.days ?? 3650), '-subj', `/O=flotilla/CN=${name}`,
        '-addext', 'basicConstraints=critical,CA:TRUE,pathlen:0', '-addext', 'keyUsage=critical,keyCertSign,cRLSign', '-out', caFileNames.cert],
      dir,
    );
    return new CertificateAuthority(dir);
  }

  /** The CA in `dir`. */
  static open(dir: string): CertificateAuthority {
    for (const file of Object.values(caFileNames)) {
      if (!existsSync(path.join(dir, file))) throw new Error(`${dir} holds no CA: ${file} is missing (create one with 'flotilla ca init --dir ${dir}')`);
    }
    return new CertificateAuthority(dir);
  }

  /** Issues `<name>.crt` and `<name>.key` in the CA's folder, replacing an older pair of that name (rotation). */
  issue(options: IssueOptions): IssuedCertificate {
    if (!isRole(options.role)) throw new Error(`role ${JSON.stringify(options.role)}: expected one of manager, agent, discovery, operator, reader`);
    if (!namePattern.test(options.name) || options.name === 'ca') throw new Error(`name ${JSON.stringify(options.name)}: 1 to 64 letters, digits, '.', '_' or '-', not "ca"`);
    const serves = serviceRoles.includes(options.role);
    const hosts = [...new Set([...(serves ? ['localhost', '127.0.0.1', '::1'] : []), ...(options.hosts ?? [])])];
    const san = hosts.map((h) => {
      if (isIP(h)) return `IP:${h}`;
      if (!hostPattern.test(h)) throw new Error(`host ${JSON.stringify(h)}: not a host name or IP address`);
      return `DNS:${h}`;
    });
    const work = mkdtempSync(path.join(tmpdir(), 'flotilla-ca-'));
    try {
      const extensions = [
        'basicConstraints=critical,CA:FALSE',
        'keyUsage=critical,digitalSignature',
        `extendedKeyUsage=${serves ? 'serverAuth,clientAuth' : 'clientAuth'}`,
        ...(san.length ? [`subjectAltName=${san.join(',')}`] : []),
      ];
      writeFileSync(path.join(work, 'ext.cnf'), extensions.join('\n') + '\n');
      writeKey('holder.key', work);
      openssl(['req', '-new', '-key', 'holder.key', '-subj', `/O=flotilla/OU=${options.role}/CN=${options.name}`, '-out', 'holder.csr'], work);
      openssl(
        ['x509', '-req', '-in', 'holder.csr', '-CA', this.caCert, '-CAkey', path.join(this.dir, caFileNames.key), '-CAcreateserial',
          '-CAserial', path.join(work, 'ca.srl'), '-sha256', '-days', String(options.days ?? 365), '-extfile', 'ext.cnf', '-out', 'holder.crt'],
        work,
      );
      const cert = path.join(this.dir, `${options.name}.crt`);
      const key = path.join(this.dir, `${options.name}.key`);
      // Key first, each by rename, so a reader never sees half a file.
      const stagedKey = `${key}.${process.pid}.new`;
      writeFileSync(stagedKey, readFileSync(path.join(work, 'holder.key')), { mode: 0o600 });
      chmodSync(stagedKey, 0o600);
      renameSync(stagedKey, key);
      const stagedCert = `${cert}.${process.pid}.new`;
      writeFileSync(stagedCert, readFileSync(path.join(work, 'holder.crt')));
      renameSync(stagedCert, cert);
      return { role: options.role, name: options.name, ca: this.caCert, cert, key };
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
  }
}
