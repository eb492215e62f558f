import { flag } from '@flotilla/config';
import { defineCommand } from '../command';
import { containerHints } from '../each';
import { checkInteractive, runSession, terminalSize } from '../session-io';

export default defineCommand({
  name: 'exec',
  summary: 'Run a command in a running container',
  usage: '[flags] CONTAINER COMMAND [ARG...]',
  description:
    'Runs on the container\'s engine, as docker exec does. With -i, what is typed or piped in goes to the command, and its end (Ctrl-D, the end of a pipe) closes the command\'s input. With -t, the command gets a terminal that follows this one\'s size; -it together needs a terminal here too. The exit code is the command\'s. Ctrl-C without -t ends the session, not the command (as in docker); with -t it goes to the command.',
  options: {
    interactive: flag('boolean', { short: 'i', description: 'Send stdin to the command' }),
    tty: flag('boolean', { short: 't', description: 'Give the command a terminal' }),
    env: flag('string', { short: 'e', repeat: true, placeholder: 'NAME=VALUE', description: 'Set an environment variable' }),
    user: flag('string', { short: 'u', placeholder: 'USER[:GROUP]', description: 'User (name or UID) and group to run as' }),
    workdir: flag('string', { short: 'w', placeholder: 'DIR', description: 'Working directory in the container (absolute)' }),
  },
  // Everything after the container is the command and its own flags.
  args: { names: 'CONTAINER COMMAND [ARG...]', min: 2, passthroughAfter: 1, complete: 'containers' },
  hints: containerHints,
  examples: ['flotilla exec web ls /', 'flotilla exec -it web sh', 'echo hello | flotilla exec -i web cat'],
  async run(ctx, options, args) {
    const [container, ...command] = args;
    checkInteractive(ctx, options.interactive, options.tty);
    const start = {
      container,
      options: { command, tty: options.tty, stdin: options.interactive, env: options.env, user: options.user ?? '', workingDir: options.workdir ?? '', terminalSize: options.tty ? terminalSize(ctx) : undefined },
    };
    return (await runSession(ctx, (c, o) => c.exec(start, o), { stdin: options.interactive, tty: options.tty })) ?? 0;
  },
});
