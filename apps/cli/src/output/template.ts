import { UsageError } from '../errors';

/*
 * A small subset of Go templates, as docker's --format takes them:
 *
 *   {{.Name}}  {{.Engine.Address}}  {{.Labels.zone}}  {{.}}
 *   {{json .}}  {{json .Labels}}  {{index .Labels "com.docker.swarm.id"}}  {{join .Names ","}}
 *   {{upper .State}}  {{lower .Name}}  {{len .Names}}
 *
 * Field names match exactly first, then ignoring case. A missing field prints nothing. `\t` and
 * `\n` in the text stand for a tab and a newline.
 */

type Arg = { kind: 'path'; path: string[] } | { kind: 'string'; value: string };
type Node = { kind: 'text'; text: string } | { kind: 'action'; fn: string | undefined; args: Arg[]; source: string };

const functions = new Set(['json', 'index', 'join', 'upper', 'lower', 'len', 'print']);

export class Template {
  private constructor(
    readonly source: string,
    private readonly nodes: Node[],
  ) {}

  static parse(source: string): Template {
    const nodes: Node[] = [];
    let rest = source;
    while (rest.length) {
      const open = rest.indexOf('{{');
      if (open < 0) {
        nodes.push({ kind: 'text', text: unescape(rest) });
        break;
      }
      if (open > 0) nodes.push({ kind: 'text', text: unescape(rest.slice(0, open)) });
      const close = rest.indexOf('}}', open);
      if (close < 0) throw new UsageError(`--format ${JSON.stringify(source)}: unclosed {{`);
      const inner = rest.slice(open + 2, close).trim().replace(/^-\s*|\s*-$/g, '');
      nodes.push(parseAction(inner, source));
      rest = rest.slice(close + 2);
    }
    return new Template(source, nodes);
  }

  render(data: unknown): string {
    return this.nodes.map((n) => (n.kind === 'text' ? n.text : show(evaluate(n, data)))).join('');
  }
}

function unescape(text: string): string {
  return text.replace(/\\t/g, '\t').replace(/\\n/g, '\n');
}

function tokens(text: string): string[] {
  const out: string[] = [];
  const re = /"((?:[^"\\]|\\.)*)"|(\S+)/g;
  let m: RegExpExecArray | null;
  while ((m = re.exec(text))) out.push(m[1] !== undefined ? JSON.stringify(JSON.parse(`"${m[1]}"`)) : m[2]);
  return out;
}

function parseAction(inner: string, source: string): Node {
  const bad = (why: string) => new UsageError(`--format ${JSON.stringify(source)}: {{${inner}}} ${why}`);
  const words = tokens(inner);
  if (!words.length) throw bad('is empty');
  let fn: string | undefined;
  if (!words[0].startsWith('.') && !words[0].startsWith('"')) {
    fn = words.shift()!;
    if (!functions.has(fn)) throw bad(`uses an unknown function ${JSON.stringify(fn)} (known: ${[...functions].join(', ')})`);
  }
  const args: Arg[] = words.map((w) => {
    if (w.startsWith('"')) return { kind: 'string', value: JSON.parse(w) as string };
    if (w === '.') return { kind: 'path', path: [] };
    if (!/^(\.[A-Za-z0-9_-]+)+$/.test(w)) throw bad(`has ${JSON.stringify(w)}, expected a field such as .Name`);
    return { kind: 'path', path: w.slice(1).split('.') };
  });
  if (!fn && args.length !== 1) throw bad('needs a function to take several values');
  if (fn && !args.length) throw bad(`needs a value for ${fn}`);
  return { kind: 'action', fn, args, source: inner };
}

/** A field by exact name, else ignoring case. */
export function field(value: unknown, name: string): unknown {
  if (value === null || typeof value !== 'object') return undefined;
  const record = value as Record<string, unknown>;
  if (Object.hasOwn(record, name)) return record[name];
  const lower = name.toLowerCase();
  const key = Object.keys(record).find((k) => k.toLowerCase() === lower);
  return key === undefined ? undefined : record[key];
}

function lookup(data: unknown, path: string[]): unknown {
  return path.reduce<unknown>((v, name) => field(v, name), data);
}

function evaluate(node: Extract<Node, { kind: 'action' }>, data: unknown): unknown {
  const values = node.args.map((a) => (a.kind === 'string' ? a.value : lookup(data, a.path)));
  switch (node.fn) {
    case undefined:
    case 'print':
      return values.length === 1 ? values[0] : values.map(show).join(' ');
    case 'json':
      return JSON.stringify(values[0] ?? null);
    case 'index':
      return values.slice(1).reduce<unknown>((v, key) => (Array.isArray(v) ? v[Number(key)] : field(v, String(key))), values[0]);
    case 'join':
      return Array.isArray(values[0]) ? values[0].map(show).join(String(values[1] ?? ' ')) : show(values[0]);
    case 'upper':
      return show(values[0]).toUpperCase();
    case 'lower':
      return show(values[0]).toLowerCase();
    case 'len':
      return Array.isArray(values[0]) ? values[0].length : values[0] && typeof values[0] === 'object' ? Object.keys(values[0]).length : show(values[0]).length;
    default:
      return '';
  }
}

function show(value: unknown): string {
  if (value === undefined || value === null) return '';
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') return String(value);
  if (value instanceof Date) return value.toISOString();
  if (Array.isArray(value) && value.every((v) => v === null || typeof v !== 'object')) return value.map(show).join(',');
  return JSON.stringify(value);
}
