import type { OptionSpecs, OptionValues, PositionalRules } from './args';
import type { Cluster } from './client';
import type { ErrorHints } from './errors';
import type { Io } from './io';
import type { Settings } from './settings';

export interface Context {
  io: Io;
  settings: Settings;
  /** Aborted by Ctrl-C (SIGINT) or SIGTERM: commands stop, cancel their calls and streams. */
  signal: AbortSignal;
  /** Which signal interrupted the command, if one did. */
  interruptedBy(): NodeJS.Signals | undefined;
  /** The manager's API (dialled on first use). */
  cluster: Cluster;
  /** The full command name, e.g. "flotilla engine ls", for messages. */
  command: string;
}

export interface Command<S extends OptionSpecs = OptionSpecs> {
  name: string;
  aliases?: string[];
  /** One line for the command list. */
  summary: string;
  /** What follows the command name in the usage line, e.g. "[flags] CONTAINER [CONTAINER...]". */
  usage: string;
  /** Paragraphs after the usage line. */
  description?: string;
  options: S;
  args: PositionalRules;
  examples?: string[];
  /** Added to server errors of this command ("see flotilla ps -a"). */
  hints?: ErrorHints;
  /** Runs the command; resolves with the exit code. */
  run(ctx: Context, options: OptionValues<S>, args: string[]): Promise<number>;
}

/** A command made of subcommands: `flotilla engine ls`. */
export interface CommandGroup {
  name: string;
  summary: string;
  description?: string;
  subcommands: Array<Command<OptionSpecs>>;
}

export type AnyCommand = Command<OptionSpecs> | CommandGroup;

export function isGroup(c: AnyCommand): c is CommandGroup {
  return 'subcommands' in c;
}

/** Keeps a command's option types for its run function. */
export function defineCommand<S extends OptionSpecs>(command: Command<S>): Command<OptionSpecs> {
  return command as unknown as Command<OptionSpecs>;
}

/** Shows an engine by name, or by address when the name is not unique among `all`. */
export function engineLabel(ref: { name?: string; address?: string; id?: string } | undefined, ambiguous: ReadonlySet<string> = new Set()): string {
  if (!ref) return '';
  if (ref.name && !ambiguous.has(ref.name)) return ref.name;
  return ref.address || ref.name || ref.id || '';
}

/** Names shared by more than one engine (e.g. several engines on one host). */
export function ambiguousNames(refs: Iterable<{ name?: string; address?: string } | undefined>): Set<string> {
  const addressesByName = new Map<string, Set<string>>();
  for (const ref of refs) {
    if (!ref?.name) continue;
    const set = addressesByName.get(ref.name) ?? new Set<string>();
    set.add(ref.address ?? '');
    addressesByName.set(ref.name, set);
  }
  return new Set([...addressesByName].filter(([, addresses]) => addresses.size > 1).map(([name]) => name));
}
