import { flag, versionLine } from '@flotilla/config';
import { maxRequestIdLength, newRequestId, validRequestId } from '@flotilla/grpc';
import { checkPositionals, convert, helpWidth, optionsHelp, tokenize, type OptionSpecs } from './args';
import { wrap } from './output/table';
import { Cluster } from './client';
import { isGroup, type AnyCommand, type Command, type CommandGroup, type Context } from './command';
import { commands } from './commands';
import { describeError, exitCodeHelp, ExitCode, InterruptedError, UsageError, type ErrorHints } from './errors';
import { colourEnabled, palette, type Io } from './io';
import { parseFormat } from './output/format';
import { globalOptions, resolveSettings } from './settings';
import { cliBuild } from './version';

/** Ctrl-C and SIGTERM, as the running command sees them. */
export interface Interrupts {
  signal: AbortSignal;
  by(): NodeJS.Signals | undefined;
}

export function noInterrupts(): Interrupts {
  return { signal: new AbortController().signal, by: () => undefined };
}

const helpOption = flag('boolean', { short: 'h', description: "Show help (flotilla COMMAND --help for a command's flags)" });

const summary = `flotilla operates a Flotilla cluster through its cluster-manager's gRPC API: the engines, and
containers placed by the scheduler, as docker -H manager:2375 did on classic Swarm.`;

const settingsHelp = `Settings: a flag wins over its environment variable, which wins over the config file, which
wins over the default. The config file is $XDG_CONFIG_HOME/flotilla/config.json (else
~/.config/flotilla/config.json, or --config FILE), JSON with paths relative to the file:
  {"manager": "10.0.0.5:4240", "timeout": "30s",
   "tls": {"ca": "ca.pem", "cert": "cert.pem", "key": "key.pem"}}

Output: tables fit the terminal (--no-trunc shows everything); --format json, or a Go template
such as --format '{{.Name}} {{.Engine}}', for scripts. Colour, spinners and progress bars only on
a terminal (NO_COLOR turns colour off).

Request IDs: every call of a command sends one (gRPC metadata flotilla-request-id), which the
services put on their log lines for it, the manager's calls to agents included;
FLOTILLA_REQUEST_ID chooses it (1 to 64 of A-Z a-z 0-9 . _ -), else each command makes one.`;

/** `  name   summary` rows, the summaries wrapped to the help width. */
function listing(rows: Array<[string, string]>): string {
  const width = Math.max(...rows.map(([n]) => n.length)) + 3;
  return rows.map(([n, s]) => `  ${n.padEnd(width)}${wrap(s, helpWidth - width - 2).join(`\n${' '.repeat(width + 2)}`)}`).join('\n');
}

/** Wraps each line of a text to the help width, keeping its indentation. */
function paragraphs(text: string): string {
  return text
    .split('\n')
    .map((line) => {
      const indent = /^\s*/.exec(line)![0];
      return wrap(line.trimStart(), helpWidth - indent.length).map((l) => indent + l).join('\n');
    })
    .join('\n');
}

function commandList(): string {
  return listing(commands.map((c) => [c.name, c.summary]));
}

export function mainHelp(): string {
  return `Usage: flotilla [global flags] COMMAND [flags] [ARGS]

${summary}

Commands:
${commandList()}

Global flags (before or after the command):
${optionsHelp({ ...globalOptions, help: helpOption })}

${settingsHelp}

${exitCodeHelp}

Shell completion: source <(flotilla completion bash), or zsh. Version: flotilla version.
`;
}

function groupHelp(group: CommandGroup): string {
  return `Usage: flotilla ${group.name} COMMAND [flags] [ARGS]

${group.summary}${group.description ? `\n\n${group.description}` : ''}

Commands:
${listing(group.subcommands.map((s) => [s.name, s.summary]))}

Run 'flotilla ${group.name} COMMAND --help' for a command's flags.
`;
}

export function commandHelp(command: Command<OptionSpecs>, path: string): string {
  const options = optionsHelp({ ...command.options, help: helpOption });
  const examples = command.examples?.length ? `\nExamples:\n${command.examples.map((e) => `  ${e}`).join('\n')}\n` : '';
  const exits =
    command.name === 'run'
      ? 'Exit codes: without -d, the container\'s exit code once it ran; otherwise 0 ok, 1 error, 2 usage, 3 manager unreachable, 4 not found, 5 no engine can take it, 6 name taken, 7 not allowed (role or container policy), 130 interrupted (see flotilla --help).'
      : 'Exit codes: 0 ok, 1 error, 2 usage, 3 manager unreachable, 4 not found, 5 cannot be done now (explain: no engine fits), 6 already exists, 7 not allowed, 130 interrupted (see flotilla --help).';
  return `Usage: flotilla ${path} ${command.usage}

${command.summary}.${command.description ? `\n\n${paragraphs(command.description)}` : ''}
${options ? `\nFlags:\n${options}\n` : ''}
Global flags: -H/--manager HOST:PORT, --tls-ca, --tls-cert, --tls-key, --timeout, --config
(see flotilla --help).
${examples}
${paragraphs(exits)}
`;
}

function distance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) d[0][j] = j;
  for (let i = 1; i <= a.length; i++) for (let j = 1; j <= b.length; j++) d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
  return d[a.length][b.length];
}

function findIn<T extends { name: string; aliases?: string[] }>(list: readonly T[], name: string): T | undefined {
  return list.find((c) => c.name === name || c.aliases?.includes(name));
}

function unknownCommand(name: string, list: ReadonlyArray<{ name: string }>, where: string): UsageError {
  const close = list.filter((c) => distance(c.name, name) <= Math.max(1, Math.floor(name.length / 3)) || (name.length >= 2 && c.name.startsWith(name))).map((c) => c.name);
  const suggestion = close.length ? `; did you mean ${close.map((c) => `"${c}"`).join(' or ')}?` : '';
  return new UsageError(`unknown command "${name}" for "${where}"${suggestion} (see ${where} --help)`);
}

function merge(a: Map<string, string[]>, b: Map<string, string[]>): Map<string, string[]> {
  const out = new Map(a);
  for (const [k, v] of b) out.set(k, [...(out.get(k) ?? []), ...v]);
  return out;
}

function pick(given: Map<string, string[]>, specs: OptionSpecs): Map<string, string[]> {
  return new Map([...given].filter(([k]) => Object.hasOwn(specs, k)));
}

/**
 * The request ID every call of this command sends: FLOTILLA_REQUEST_ID when a caller (a script, a
 * pipeline) gives one to find the command in the services' logs, else a fresh one.
 */
function commandRequestId(env: NodeJS.ProcessEnv): string {
  const given = env.FLOTILLA_REQUEST_ID;
  if (given === undefined || given === '') return newRequestId();
  const valid = validRequestId(given);
  if (!valid) throw new UsageError(`FLOTILLA_REQUEST_ID ${JSON.stringify(given.slice(0, 80))}: expected 1 to ${maxRequestIdLength} of A-Z a-z 0-9 . _ -`);
  return valid;
}

/** Runs the CLI; resolves with the exit code. Never throws. */
export async function runCli(argv: readonly string[], io: Io, interrupts: Interrupts = noInterrupts()): Promise<number> {
  let cluster: Cluster | undefined;
  let hints: ErrorHints = {};
  try {
    if (argv[0] === '--version' || argv[0] === '-v') {
      io.stdout.write(versionLine('flotilla', cliBuild()));
      return 0;
    }
    const head = tokenize(globalOptions, argv, { passthroughAfter: 1 }, 'flotilla');
    const [name, ...rest] = head.positionals;
    if (!name) {
      io.stdout.write(mainHelp());
      return head.help || argv.length === 0 ? 0 : ExitCode.usage;
    }
    if (name === 'help') {
      const [topic, sub] = rest;
      const found = topic ? findIn(commands, topic) : undefined;
      if (topic && !found) throw unknownCommand(topic, commands, 'flotilla');
      if (!found) io.stdout.write(mainHelp());
      else if (!isGroup(found)) io.stdout.write(commandHelp(found, found.name));
      else {
        const subcommand = sub ? findIn(found.subcommands, sub) : undefined;
        if (sub && !subcommand) throw unknownCommand(sub, found.subcommands, `flotilla ${found.name}`);
        io.stdout.write(subcommand ? commandHelp(subcommand, `${found.name} ${subcommand.name}`) : groupHelp(found));
      }
      return 0;
    }
    const found: AnyCommand | undefined = findIn(commands, name);
    if (!found) throw unknownCommand(name, commands, 'flotilla');
    let command: Command<OptionSpecs>;
    let path: string;
    let words: string[];
    if (isGroup(found)) {
      // Global flags may come between the group and its subcommand.
      const middle = tokenize(globalOptions, rest, { passthroughAfter: 1 }, `flotilla ${found.name}`);
      const [subName, ...subRest] = middle.positionals;
      if (!subName) {
        io.stdout.write(groupHelp(found));
        return middle.help || head.help || rest.length === 0 ? 0 : ExitCode.usage;
      }
      const sub = findIn(found.subcommands, subName);
      if (!sub) throw unknownCommand(subName, found.subcommands, `flotilla ${found.name}`);
      command = sub;
      path = `${found.name} ${sub.name}`;
      words = subRest;
      head.given = merge(head.given, middle.given);
      head.help ||= middle.help;
    } else {
      command = found;
      path = found.name;
      words = rest;
    }
    hints = command.hints ?? {};
    const where = `flotilla ${path}`;
    const specs = { ...globalOptions, ...command.options };
    const tokens = tokenize(specs, words, command.args, where);
    if (tokens.help || head.help) {
      io.stdout.write(commandHelp(command, path));
      return 0;
    }
    checkPositionals(tokens.positionals, command.args, where);
    const given = merge(head.given, tokens.given);
    const settings = resolveSettings(pick(given, globalOptions), io.env);
    const options = convert(command.options, pick(given, command.options), {}, where);
    // A bad --format is a usage error before anything is asked of the manager.
    if (Object.hasOwn(command.options, 'format')) parseFormat(options.format as string | undefined);
    cluster = new Cluster(settings, interrupts.signal, interrupts.by, commandRequestId(io.env));
    const ctx: Context = { io, settings, signal: interrupts.signal, interruptedBy: interrupts.by, cluster, command: where };
    return await command.run(ctx, options, tokens.positionals);
  } catch (err) {
    const failure = describeError(cluster ? cluster.classify(err) : err, hints);
    if (failure instanceof InterruptedError && !failure.note) return failure.exitCode;
    const p = palette(colourEnabled(io.stderr, io.env));
    io.stderr.write(`${p.red('flotilla:')} ${failure.message}\n`);
    if (failure.more) io.stderr.write(failure.more);
    return failure.exitCode;
  } finally {
    cluster?.close();
  }
}
