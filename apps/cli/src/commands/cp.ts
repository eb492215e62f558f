import * as fs from 'node:fs';
import * as path from 'node:path';
import { NotFoundError } from '@flotilla/errors';
import { firstEvent } from '@flotilla/grpc';
import type { PathStat } from '@flotilla/proto';
import * as tar from 'tar-fs';
import { defineCommand, type Context } from '../command';
import { CliError, ExitCode, UsageError } from '../errors';
import { formatBytes } from '../output/units';

/** Go's os.ModeDir and os.ModeSymlink, as Docker's path stat carries them. */
const modeDir = 0x80000000;
const modeSymlink = 0x08000000;

/** One side of a copy: a path here, `-` (a tar archive on stdin or stdout), or a path in a container. */
type Side = { kind: 'local'; path: string } | { kind: 'stream' } | { kind: 'container'; container: string; path: string };

/** docker cp's rule: CONTAINER:PATH, unless the text starts as a local path does (/, ./, ../ or ~). */
export function parseSide(text: string): Side {
  if (text === '-') return { kind: 'stream' };
  const colon = text.indexOf(':');
  if (colon > 0 && !/^(\/|\.|~)/.test(text)) return { kind: 'container', container: text.slice(0, colon), path: text.slice(colon + 1) || '/' };
  return { kind: 'local', path: text };
}

/** The archive's entries with their top-level name `from` renamed `to` (docker cp's copy under a new name). */
function renameTop(name: string, from: string, to: string): string {
  const bare = name.replace(/^\.\//, '');
  if (bare === from || bare === `${from}/`) return bare.replace(from, to);
  return bare.startsWith(`${from}/`) ? `${to}${bare.slice(from.length)}` : bare;
}

/** Copies out of a container: the archive onto stdout, or extracted here as docker cp does. */
async function copyOut(ctx: Context, from: { container: string; path: string }, to: Side): Promise<string> {
  let stat: PathStat | undefined;
  let extract: tar.Extract | undefined;
  let finished: Promise<void> | undefined;
  let bytes = 0;
  for await (const { response } of ctx.cluster.stream((c, o) => c.copyFromContainer(from, o))) {
    if (response?.$case === 'source') {
      stat = response.value.stat;
      if (to.kind === 'local') ({ extract, finished } = extractorFor(stat, to.path));
      continue;
    }
    if (response?.$case !== 'data') continue;
    bytes += response.value.length;
    if (to.kind === 'stream') ctx.io.stdout.write(response.value);
    else if (extract && !extract.write(response.value)) await firstEvent(extract, ['drain', 'close', 'error']);
  }
  if (extract) {
    extract.end();
    await finished;
  }
  await ctx.io.stdout.flush();
  return `${formatBytes(bytes)} from ${from.container}:${from.path}${stat?.name && to.kind === 'local' ? ` to ${to.path}` : ''}`;
}

/** Where and how to extract a copy of `stat` so that it ends up at `dest` (docker cp's rules). */
function extractorFor(stat: PathStat | undefined, dest: string): { extract: tar.Extract; finished: Promise<void> } {
  const sourceIsDir = Boolean(stat && stat.mode & modeDir);
  const existing = fs.statSync(dest, { throwIfNoEntry: false });
  let dir: string;
  let rename: string | undefined;
  if (existing?.isDirectory()) dir = dest;
  else {
    if (dest.endsWith('/')) throw new CliError(`destination directory ${dest} does not exist`, ExitCode.notFound);
    if (existing && sourceIsDir) throw new CliError(`cannot copy a directory onto the file ${dest}`, ExitCode.usage);
    dir = path.dirname(dest);
    if (!fs.statSync(dir, { throwIfNoEntry: false })?.isDirectory()) throw new CliError(`destination directory ${dir} does not exist`, ExitCode.notFound);
    rename = path.basename(dest);
  }
  const root = path.resolve(dir);
  const top = stat?.name ?? '';
  const extract = tar.extract(dir, {
    // Owned by whoever runs the copy (docker cp's default), not by the container's IDs.
    chown: false,
    map: (header) => (rename ? { ...header, name: renameTop(header.name, top, rename) } : header),
    // Nothing lands outside the destination, whatever the archive's names say.
    ignore: (name) => !path.resolve(name).startsWith(root + path.sep) && path.resolve(name) !== root,
  } as tar.ExtractOptions);
  const finished = new Promise<void>((resolve, reject) => {
    extract.on('finish', resolve);
    extract.on('error', reject);
  });
  return { extract, finished };
}

/** Copies into a container: stdin's tar archive as it is, or a path here packed as docker cp does. */
async function copyIn(ctx: Context, from: Side, to: { container: string; path: string }): Promise<string> {
  const dest = await ctx.cluster.call((c, o) => c.statContainerPath(to, o)).then(
    (r) => r.stat,
    (err: unknown) => {
      // A path that is not there yet is a copy under a new name; an unknown container is the error.
      if (err instanceof NotFoundError && /no such file or directory in container/.test(err.message)) return undefined;
      throw err;
    },
  );
  const destIsDir = Boolean(dest && dest.mode & modeDir && !(dest.mode & modeSymlink));
  let archive: AsyncIterable<Buffer>;
  let dir: string;
  let what: string;
  if (from.kind === 'stream') {
    if (!destIsDir) throw new CliError(`${to.container}:${to.path} must be an existing directory to extract a tar archive from stdin into`, ExitCode.notFound);
    if (!ctx.io.stdin) throw new UsageError('-: this process has no standard input', ctx.command);
    archive = ctx.io.stdin.stream as AsyncIterable<Buffer>;
    dir = to.path;
    what = 'a tar archive from stdin';
  } else if (from.kind === 'local') {
    const source = fs.lstatSync(from.path, { throwIfNoEntry: false });
    if (!source) throw new CliError(`no such file or directory here: ${from.path}`, ExitCode.notFound);
    let name = path.basename(from.path);
    if (destIsDir) dir = to.path;
    else {
      if (to.path.endsWith('/')) throw new CliError(`destination directory ${to.container}:${to.path} does not exist`, ExitCode.notFound);
      if (dest && source.isDirectory()) throw new CliError(`cannot copy a directory onto the file ${to.container}:${to.path}`, ExitCode.usage);
      dir = path.posix.dirname(to.path);
      name = path.posix.basename(to.path);
    }
    const base = path.basename(from.path);
    archive = tar.pack(path.dirname(path.resolve(from.path)), { entries: [base], map: (header) => ({ ...header, name: renameTop(header.name, base, name) }) }) as unknown as AsyncIterable<Buffer>;
    what = from.path;
  } else throw new UsageError('one side of cp must be a path in a container (CONTAINER:PATH)', ctx.command);
  let bytes = 0;
  const counted = (async function* () {
    for await (const piece of archive) {
      const bytesOf = typeof piece === 'string' ? Buffer.from(piece) : piece;
      bytes += bytesOf.length;
      // The API takes at most 1 MiB per message; reads of a file or a pipe are far smaller.
      for (let at = 0; at < bytesOf.length; at += 1024 * 1024) yield bytesOf.subarray(at, at + 1024 * 1024);
    }
  })();
  await ctx.cluster.call((c, o) => c.copyToContainer({ container: to.container, path: dir, noOverwriteDirNonDir: true }, counted, { ...o, deadlineMs: undefined }));
  return `${formatBytes(bytes)} from ${what} to ${to.container}:${to.path}`;
}

export default defineCommand({
  name: 'cp',
  summary: 'Copy files between a container and here',
  usage: 'CONTAINER:SRC DEST | SRC CONTAINER:DEST',
  description:
    'As docker cp: a file or directory copied into an existing directory keeps its name, and anywhere else takes the name given. "-" is a tar archive on stdout (copying out) or stdin (copying in, into an existing directory). Files copied here belong to you; files copied in belong to the container\'s root unless the archive says otherwise. A path here that contains ":" is written ./PATH.',
  options: {},
  args: { names: 'SRC DEST', min: 2, max: 2, complete: 'containers' },
  hints: { notFound: 'check the container (flotilla ps -a) and the path' },
  examples: ['flotilla cp web:/etc/hostname .', 'flotilla cp ./site web:/usr/share/html', 'flotilla cp web:/var/log - | tar -t'],
  async run(ctx, _options, args) {
    const [from, to] = args.map(parseSide);
    let done: string;
    if (from.kind === 'container' && to.kind === 'stream' && ctx.io.stdout.isTTY) throw new UsageError('-: a tar archive is not for a terminal; redirect it to a file or a pipe', ctx.command);
    if (from.kind === 'container' && to.kind !== 'container') done = await copyOut(ctx, from, to);
    else if (to.kind === 'container' && from.kind !== 'container') done = await copyIn(ctx, from, to);
    else throw new UsageError('exactly one side of cp is a path in a container (CONTAINER:PATH), as in docker cp', ctx.command);
    if (ctx.io.stderr.isTTY) ctx.io.stderr.write(`Copied ${done}\n`);
    return 0;
  },
});
