import { InvalidArgumentError } from '@flotilla/errors';

/*
 * Every service reads its settings the same way: `--name value` or `--name=value` on the command
 * line, else the environment variable, else the default. Bad values are errors naming the flag.
 */

export type Kind = 'string' | 'duration' | 'integer' | 'number' | 'boolean' | 'list';

export interface FlagSpec<K extends Kind = Kind> {
  kind: K;
  env?: string;
  default?: ValueOf<K>;
  description: string;
  /** Shown in --help instead of the kind, e.g. `host:port`. */
  placeholder?: string;
  min?: number;
  max?: number;
  choices?: readonly string[];
}

export type ValueOf<K extends Kind> = K extends 'string'
  ? string
  : K extends 'duration' | 'integer' | 'number'
    ? number
    : K extends 'boolean'
      ? boolean
      : string[];

export type FlagSpecs = Record<string, FlagSpec>;

export type FlagValues<S extends FlagSpecs> = {
  [N in keyof S]: S[N] extends { kind: infer K extends Kind } ? (S[N] extends { default: unknown } ? ValueOf<K> : ValueOf<K> | undefined) : never;
};

export function flag<K extends Kind, S extends Omit<FlagSpec<K>, 'kind'>>(kind: K, spec: S): S & { kind: K } {
  return { kind, ...spec };
}

const units: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** `500ms`, `1s`, `1.5m`, `2h`; a bare number is milliseconds. Returns milliseconds. */
export function parseDuration(name: string, text: string): number {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(text.trim());
  if (!match) throw InvalidArgumentError.field(`--${name}`, text, 'expected a duration such as 500ms, 2s, 1m');
  return Math.round(Number(match[1]) * units[match[2] ?? 'ms']);
}

function convert(name: string, spec: FlagSpec, text: string): unknown {
  let value: unknown;
  switch (spec.kind) {
    case 'string':
      value = text;
      if (spec.choices && !spec.choices.includes(text)) throw InvalidArgumentError.field(`--${name}`, text, `expected one of ${spec.choices.join(', ')}`);
      break;
    case 'list':
      value = text.split(',').map((s) => s.trim()).filter(Boolean);
      break;
    case 'boolean':
      if (!/^(true|false|1|0|yes|no)$/i.test(text)) throw InvalidArgumentError.field(`--${name}`, text, 'expected true or false');
      value = /^(true|1|yes)$/i.test(text);
      break;
    case 'duration':
      value = parseDuration(name, text);
      break;
    case 'integer':
    case 'number': {
      const n = Number(text);
      if (text.trim() === '' || !Number.isFinite(n) || (spec.kind === 'integer' && !Number.isInteger(n))) {
        throw InvalidArgumentError.field(`--${name}`, text, `expected ${spec.kind === 'integer' ? 'a whole number' : 'a number'}`);
      }
      value = n;
    }
  }
  if (typeof value === 'number') {
    if (spec.min !== undefined && value < spec.min) throw InvalidArgumentError.field(`--${name}`, text, `must be at least ${spec.min}`);
    if (spec.max !== undefined && value > spec.max) throw InvalidArgumentError.field(`--${name}`, text, `must be at most ${spec.max}`);
  }
  return value;
}

export class HelpRequested extends Error {}

/** `--version` was given: the service prints its version and build (see build-info.ts) and exits. */
export class VersionRequested extends Error {}

export function parseFlags<S extends FlagSpecs>(specs: S, argv: readonly string[], env: NodeJS.ProcessEnv = process.env): FlagValues<S> {
  const given = new Map<string, string>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--help' || arg === '-h') throw new HelpRequested();
    if (arg === '--version') throw new VersionRequested();
    const match = /^--([a-z0-9-]+)(?:=(.*))?$/.exec(arg);
    if (!match) throw InvalidArgumentError.field('argument', arg, 'expected --flag value (see --help)');
    const [, name, inline] = match;
    const spec = specs[name];
    if (!spec) throw InvalidArgumentError.field('flag', `--${name}`, 'unknown flag (see --help)');
    if (inline !== undefined) given.set(name, inline);
    else if (spec.kind === 'boolean' && (argv[i + 1] === undefined || argv[i + 1].startsWith('--'))) given.set(name, 'true');
    else if (argv[i + 1] === undefined) throw InvalidArgumentError.field(`--${name}`, '', 'needs a value');
    else given.set(name, argv[++i]);
  }
  const out: Record<string, unknown> = {};
  for (const [name, spec] of Object.entries(specs)) {
    const text = given.get(name) ?? (spec.env ? env[spec.env] : undefined);
    out[name] = text === undefined ? spec.default : convert(name, spec, text);
  }
  return out as FlagValues<S>;
}

function showDefault(spec: FlagSpec): string {
  if (spec.default === undefined || spec.default === '' || (Array.isArray(spec.default) && spec.default.length === 0)) return '';
  if (spec.kind === 'duration') return ` (default ${spec.default}ms)`;
  return ` (default ${Array.isArray(spec.default) ? spec.default.join(',') : String(spec.default)})`;
}

export function helpText(usage: string, summary: string, specs: FlagSpecs): string {
  const rows = Object.entries(specs).map(([name, spec]) => {
    const left = `  --${name} ${spec.placeholder ?? (spec.kind === 'boolean' ? '' : spec.kind.toUpperCase())}`.trimEnd();
    const choices = spec.choices ? ` One of: ${spec.choices.join(', ')}.` : '';
    const env = spec.env ? `\n${' '.repeat(6)}env ${spec.env}` : '';
    return `${left}\n${' '.repeat(6)}${spec.description}${choices}${showDefault(spec)}${env}`;
  });
  return `${usage}\n\n${summary}\n\nFlags (each also read from its environment variable; a flag wins):\n${rows.join('\n')}\n  --version\n      Show the version and the build (git commit), and exit.\n  --help\n      Show this help.\n`;
}
