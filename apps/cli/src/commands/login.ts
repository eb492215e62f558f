import { flag } from '@flotilla/config';
import { defineCommand } from '../command';
import { UsageError } from '../errors';
import { prompt, readAllStdin } from '../prompt';
import { credentialsPath, normaliseRegistry, removeCredentials, saveCredentials } from '../registry-auth';

export const login = defineCommand({
  name: 'login',
  summary: 'Keep credentials for a registry; pulls from it (pull, run) send them',
  usage: '[flags] REGISTRY',
  description:
    'Saves the user name and password for REGISTRY (HOST[:PORT]) in the CLI\'s credentials file, in the docker CLI\'s format ($XDG_CONFIG_HOME/flotilla/auth.json, readable by you only). Each pull from that registry sends them with the call; the cluster hands them to the engines for that pull and neither logs nor keeps them. They are not checked here: a wrong password is reported by the next pull.',
  options: {
    username: flag('string', { short: 'u', placeholder: 'USER', description: 'User name (asked for when not given)' }),
    password: flag('string', { short: 'p', placeholder: 'PASSWORD', description: 'Password (shows in your shell history and ps: prefer --password-stdin)' }),
    'password-stdin': flag('boolean', { description: 'Read the password from stdin' }),
  },
  args: { names: 'REGISTRY', min: 1, max: 1 },
  examples: ['flotilla login 127.0.0.1:5000', 'echo "$TOKEN" | flotilla login -u ci --password-stdin registry.example:5000'],
  async run(ctx, options, args) {
    const registry = normaliseRegistry(args[0]);
    if (options.password !== undefined && options['password-stdin']) throw new UsageError('--password and --password-stdin: give one', ctx.command);
    if (options['password-stdin'] && options.username === undefined) throw new UsageError('--password-stdin needs --username', ctx.command);
    if (options.password !== undefined) ctx.io.stderr.write('flotilla: warning: --password shows in your shell history and to ps; prefer --password-stdin\n');
    const username = options.username ?? (await prompt(ctx.io, 'Username: ', false));
    const password = options.password ?? (options['password-stdin'] ? await readAllStdin(ctx.io) : await prompt(ctx.io, 'Password: ', true));
    if (!username) throw new UsageError('a user name is required', ctx.command);
    if (!password) throw new UsageError('a password is required', ctx.command);
    const file = credentialsPath(ctx.io.env);
    saveCredentials(file, registry, username, password);
    ctx.io.stdout.write(`Saved credentials for ${registry} in ${file}; the next pull from it uses them\n`);
    return 0;
  },
});

export const logout = defineCommand({
  name: 'logout',
  summary: 'Forget the credentials kept for a registry',
  usage: 'REGISTRY',
  options: {},
  args: { names: 'REGISTRY', min: 1, max: 1 },
  examples: ['flotilla logout 127.0.0.1:5000'],
  async run(ctx, _options, args) {
    const registry = normaliseRegistry(args[0]);
    const removed = removeCredentials(credentialsPath(ctx.io.env), registry);
    ctx.io.stdout.write(removed ? `Removed the credentials for ${registry}\n` : `No credentials kept for ${registry}\n`);
    return 0;
  },
});
