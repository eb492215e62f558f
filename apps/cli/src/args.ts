import { InvalidArgumentError } from '@flotilla/errors';
import { parseFlags, type FlagSpec, type Kind, type ValueOf } from '@flotilla/config';
import { UsageError } from './errors';
import { wrap } from './output/table';

/** Help text is wrapped to this many columns. */
export const helpWidth = 100;

/*
 * Command-line parsing for subcommands, on top of @flotilla/config: options are FlagSpecs (made
 * with `flag()`) with a few extras (a one-letter short form, repeatable, how to complete the value);
 * this file splits argv the way docker users expect, and @flotilla/config converts and checks the
 * values, applies environment variables and defaults.
 *
 *   --name value   --name=value   -n value   -nvalue   -abc (booleans)   --   repeated -e A -e B
 *
 * Booleans never take the next word as their value (`run -d IMAGE`); write `--detach=false`.
 * A command may stop parsing after N positionals (`run IMAGE CMD...`): the rest passes through
 * untouched, flags included.
 */

export type OptionSpec = FlagSpec & {
  /** One letter, used as `-x`. */
  short?: string;
  /** May be given many times; the values are kept in order (never split on commas). */
  repeat?: boolean;
  /** What the shell should complete the value with. */
  complete?: CompletionKind;
  hidden?: boolean;
};

export type CompletionKind = 'containers' | 'engines' | 'files' | readonly string[];

export type OptionSpecs = Record<string, OptionSpec>;

export type OptionValues<S extends OptionSpecs> = {
  [N in keyof S]: S[N] extends { repeat: boolean }
    ? string[]
    : S[N] extends { kind: 'boolean' }
      ? boolean
      : S[N] extends { kind: infer K extends Kind }
        ? S[N] extends { default: unknown }
          ? ValueOf<K>
          : ValueOf<K> | undefined
        : never;
};

export interface PositionalRules {
  /** Shown in usage, e.g. `CONTAINER [CONTAINER...]`. */
  names?: string;
  min?: number;
  /** Most positionals accepted; unlimited when unset. */
  max?: number;
  /** After this many positionals, every remaining word is a positional, flags included. */
  passthroughAfter?: number;
  complete?: CompletionKind;
}

export interface Tokens {
  /** Every value given per option name, in order (booleans as "true"/"false"). */
  given: Map<string, string[]>;
  positionals: string[];
  help: boolean;
}

function findShort(specs: OptionSpecs, letter: string): string | undefined {
  return Object.keys(specs).find((name) => specs[name].short === letter);
}

/** Splits argv into options and positionals; knows nothing of values beyond "needs one or not". */
export function tokenize(specs: OptionSpecs, argv: readonly string[], rules: PositionalRules = {}, command = 'flotilla'): Tokens {
  const given = new Map<string, string[]>();
  const positionals: string[] = [];
  let help = false;
  const add = (name: string, value: string) => given.set(name, [...(given.get(name) ?? []), value]);
  const unknown = (text: string) => new UsageError(`unknown flag ${text} for "${command}" (see ${command} --help)`, command);
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (rules.passthroughAfter !== undefined && positionals.length >= rules.passthroughAfter) {
      positionals.push(...argv.slice(i));
      break;
    }
    if (arg === '--') {
      positionals.push(...argv.slice(i + 1));
      break;
    }
    // -h is help unless the command has its own -h (run: --hostname, as in docker run).
    if (arg === '--help' || (arg === '-h' && findShort(specs, 'h') === undefined)) {
      help = true;
      continue;
    }
    if (arg.startsWith('--')) {
      const eq = arg.indexOf('=');
      const name = eq < 0 ? arg.slice(2) : arg.slice(2, eq);
      const spec = specs[name];
      if (!spec) throw unknown(`--${name}`);
      if (eq >= 0) add(name, arg.slice(eq + 1));
      else if (spec.kind === 'boolean') add(name, 'true');
      else if (i + 1 >= argv.length) throw new UsageError(`flag --${name} needs a value${spec.placeholder ? ` (${spec.placeholder})` : ''}`, command);
      else add(name, argv[++i]);
      continue;
    }
    if (arg.startsWith('-') && arg.length > 1) {
      for (let j = 1; j < arg.length; j++) {
        const letter = arg[j];
        const name = findShort(specs, letter);
        if (!name) throw unknown(`-${letter}`);
        const spec = specs[name];
        if (spec.kind === 'boolean') {
          add(name, 'true');
          continue;
        }
        const rest = arg.slice(j + 1).replace(/^=/, '');
        if (rest) add(name, rest);
        else if (i + 1 >= argv.length) throw new UsageError(`flag -${letter} (--${name}) needs a value${spec.placeholder ? ` (${spec.placeholder})` : ''}`, command);
        else add(name, argv[++i]);
        break;
      }
      continue;
    }
    positionals.push(arg);
  }
  return { given, positionals, help };
}

/** Converts tokens to typed values: last one wins for single options; environment and defaults from the specs. */
export function convert<S extends OptionSpecs>(specs: S, given: Map<string, string[]>, env: NodeJS.ProcessEnv = {}, command = 'flotilla'): OptionValues<S> {
  const single: Record<string, FlagSpec> = {};
  const argv: string[] = [];
  const out: Record<string, unknown> = {};
  // @flotilla/config reads `--name=value` on one line; a multi-line string (a template) is taken as is.
  const multiline: Record<string, string> = {};
  for (const [name, spec] of Object.entries(specs)) {
    const values = given.get(name) ?? [];
    if (spec.repeat) {
      for (const value of values) {
        if (spec.choices && !spec.choices.includes(value)) throw new UsageError(`--${name} ${JSON.stringify(value)}: expected one of ${spec.choices.join(', ')}`, command);
      }
      out[name] = values.length ? values : [...((spec.default as string[] | undefined) ?? [])];
      continue;
    }
    single[name] = spec.kind === 'boolean' && spec.default === undefined ? { ...spec, default: false } : spec;
    const last = values[values.length - 1];
    if (last !== undefined && spec.kind === 'string' && /[\r\n]/.test(last) && !spec.choices) multiline[name] = last;
    else if (last !== undefined) argv.push(`--${name}=${last}`);
  }
  try {
    Object.assign(out, parseFlags(single, argv, env), multiline);
  } catch (err) {
    if (err instanceof InvalidArgumentError) throw new UsageError(err.message, command);
    throw err;
  }
  return out as OptionValues<S>;
}

/** Checks the number of positionals against the rules. */
export function checkPositionals(positionals: readonly string[], rules: PositionalRules, command: string): void {
  const min = rules.min ?? 0;
  const what = rules.names ?? 'arguments';
  if (positionals.length < min) throw new UsageError(`"${command}" needs ${what} (see ${command} --help)`, command);
  if (rules.max !== undefined && positionals.length > rules.max) {
    const extra = positionals[rules.max];
    throw new UsageError(
      rules.max === 0 ? `"${command}" takes no arguments, got ${JSON.stringify(extra)} (see ${command} --help)` : `"${command}" takes at most ${rules.max} argument${rules.max === 1 ? '' : 's'} (${what}), got ${JSON.stringify(extra)} too`,
      command,
    );
  }
}

/** The options of a command as help lines: `  -d, --detach            Run in the background...`. */
export function optionsHelp(specs: OptionSpecs): string {
  const rows = Object.entries(specs)
    .filter(([, spec]) => !spec.hidden)
    .map(([name, spec]) => {
      const value = spec.kind === 'boolean' ? '' : ` ${spec.placeholder ?? spec.kind.toUpperCase()}`;
      const left = `${spec.short ? `-${spec.short}, ` : '    '}--${name}${value}`;
      const extra: string[] = [];
      if (spec.choices) extra.push(`one of: ${spec.choices.join(', ')}`);
      if (spec.repeat) extra.push('repeatable');
      if (spec.default !== undefined && spec.default !== '' && spec.default !== false && !(Array.isArray(spec.default) && spec.default.length === 0)) {
        extra.push(`default ${spec.kind === 'duration' ? `${Number(spec.default) / 1000}s` : String(spec.default)}`);
      }
      if (spec.env) extra.push(`env ${spec.env}`);
      return { left, right: `${spec.description}${extra.length ? ` (${extra.join('; ')})` : ''}` };
    });
  const width = Math.min(34, Math.max(...rows.map((r) => r.left.length), 0) + 2);
  const indent = ' '.repeat(width + 2);
  return rows
    .map((r) => {
      const right = wrap(r.right, helpWidth - width - 2).join(`\n${indent}`);
      return r.left.length + 2 > width ? `  ${r.left}\n${indent}${right}` : `  ${r.left.padEnd(width)}${right}`;
    })
    .join('\n');
}
