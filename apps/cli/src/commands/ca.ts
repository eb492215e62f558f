import { copyFileSync, chmodSync, mkdirSync } from 'node:fs';
import * as path from 'node:path';
import { flag } from '@flotilla/config';
import { CertificateAuthority, isRole, roleDescriptions, roles } from '@flotilla/pki';
import { defineCommand, type CommandGroup } from '../command';
import { UsageError } from '../errors';
import { defaultConfigPath, defaultTlsDir, defaultTlsFiles } from '../settings';

// The cluster's certificate authority, offline: these commands never call the manager.

function caDir(given: string | undefined, env: NodeJS.ProcessEnv): string {
  return path.resolve(given || path.join(path.dirname(defaultConfigPath(env)), 'ca'));
}

const dirOption = flag('string', { placeholder: 'DIR', complete: 'files' as const, description: 'The CA folder (default $XDG_CONFIG_HOME/flotilla/ca). Keep it private: its ca.key signs every identity of the cluster' });

const init = defineCommand({
  name: 'init',
  summary: 'Create a cluster CA (ca.crt, ca.key)',
  usage: '[flags]',
  options: {
    dir: dirOption,
    name: flag('string', { placeholder: 'NAME', description: 'The CA certificate\'s common name (default "Flotilla cluster CA")' }),
    days: flag('integer', { min: 1, max: 36_500, placeholder: 'DAYS', description: 'Validity (default 3650)' }),
  },
  args: { max: 0 },
  examples: ['flotilla ca init --dir /etc/flotilla/ca'],
  async run(ctx, options) {
    const dir = caDir(options.dir, ctx.io.env);
    const ca = CertificateAuthority.create(dir, { name: options.name, days: options.days });
    ctx.io.stdout.write(`${ca.caCert}\n`);
    return 0;
  },
});

const issue = defineCommand({
  name: 'issue',
  summary: 'Issue a certificate whose OU is a role: manager, agent, discovery, operator or reader',
  usage: '[flags] --role ROLE NAME',
  description: [
    `Writes NAME.crt and NAME.key into the CA folder (issuing a NAME again replaces them: that is rotation). Roles: ${roles.map((r) => `${r} (${roleDescriptions[r]})`).join('; ')}.`,
    'Services (manager, agent, discovery) get localhost, 127.0.0.1 and ::1 as names, plus every --host; they serve and dial with the one certificate. With --install the certificate becomes this user\'s CLI identity ($XDG_CONFIG_HOME/flotilla/tls).',
  ].join('\n\n'),
  options: {
    dir: dirOption,
    role: flag('string', { placeholder: 'ROLE', description: 'manager, agent, discovery, operator or reader', complete: [...roles] }),
    host: flag('string', { repeat: true, placeholder: 'HOST', description: 'A host name or IP address the service is reached at (repeatable)' }),
    days: flag('integer', { min: 1, max: 3650, placeholder: 'DAYS', description: 'Validity (default 365)' }),
    install: flag('boolean', { description: "Also copy it, with the CA, to this user's CLI identity folder" }),
  },
  args: { names: 'NAME', min: 1, max: 1 },
  examples: ['flotilla ca issue --role manager --host manager.example.com manager-1', 'flotilla ca issue --role operator --install alice'],
  async run(ctx, options, args) {
    if (!isRole(options.role)) throw new UsageError(`--role ${JSON.stringify(options.role ?? '')}: expected one of ${roles.join(', ')}`);
    const ca = CertificateAuthority.open(caDir(options.dir, ctx.io.env));
    const issued = ca.issue({ role: options.role, name: args[0], hosts: options.host, days: options.days });
    ctx.io.stdout.write(`${issued.cert}\n${issued.key}\n`);
    if (options.install) {
      const dir = defaultTlsDir(ctx.io.env);
      mkdirSync(dir, { recursive: true, mode: 0o700 });
      copyFileSync(issued.ca, path.join(dir, defaultTlsFiles.ca));
      copyFileSync(issued.cert, path.join(dir, defaultTlsFiles.cert));
      copyFileSync(issued.key, path.join(dir, defaultTlsFiles.key));
      chmodSync(path.join(dir, defaultTlsFiles.key), 0o600);
      ctx.io.stdout.write(`installed as the CLI's identity in ${dir}\n`);
    }
    return 0;
  },
});

export const caGroup: CommandGroup = {
  name: 'ca',
  summary: "The cluster's certificate authority (init, issue)",
  description: 'Every link of a Flotilla cluster is mutual TLS: each service and each user holds a certificate from the cluster CA whose OU is its role.',
  subcommands: [init, issue],
};
