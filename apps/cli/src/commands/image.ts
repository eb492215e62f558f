import { flag } from '@flotilla/config';
import { Image } from '@flotilla/proto';
import { EngineRef, type ClusterImage, type ImageResult } from '@flotilla/proto/cluster';
import { defineCommand, engineLabel, type Command, type CommandGroup } from '../command';
import type { Io } from '../io';
import { UsageError } from '../errors';
import { formatOption, noTruncOption, parseFormat, printDocuments, printListing } from '../output/format';
import { formatBytes, timeAgo } from '../output/units';
import { allImages, type ImageQuery } from '../pages';

const imageHints = { notFound: 'see flotilla images' };

/** `--filter engine=E --filter reference=R --filter label=KEY[=VALUE]` for images. */
function imageFilters(filters: string[], references: string[]): ImageQuery {
  const query: ImageQuery = { engines: [], references: [...references], labels: {} };
  for (const filter of filters) {
    const eq = filter.indexOf('=');
    const key = eq < 0 ? filter : filter.slice(0, eq);
    const value = eq < 0 ? '' : filter.slice(eq + 1);
    if (key === 'engine' && value) query.engines.push(value);
    else if (key === 'reference' && value) query.references.push(value);
    else if (key === 'label' && value) {
      const e = value.indexOf('=');
      query.labels[e < 0 ? value : value.slice(0, e)] = e < 0 ? '*' : value.slice(e + 1);
    } else throw new UsageError(`--filter ${JSON.stringify(filter)}: expected engine=ENGINE, reference=NAME[:TAG] or label=KEY[=VALUE]`);
  }
  return query;
}

/** One image ID under one tag (or untagged), with every engine that holds it: a row of `images`. */
interface ImageRow {
  image: Image;
  tag: string;
  engines: EngineRef[];
}

/** Docker's rows (one per tag, `<none>` for an untagged image), each with the engines holding it. */
export function imageRows(entries: readonly ClusterImage[]): ImageRow[] {
  const rows = new Map<string, ImageRow>();
  for (const entry of entries) {
    const image = entry.image;
    if (!image) continue;
    for (const tag of image.repoTags.length ? image.repoTags : ['<none>:<none>']) {
      const key = `${image.id} ${tag}`;
      const row = rows.get(key) ?? { image, tag, engines: [] };
      if (entry.engine) row.engines.push(entry.engine);
      rows.set(key, row);
    }
  }
  // Newest first, as docker images lists them; then by tag.
  return [...rows.values()].sort((a, b) => (b.image.created?.getTime() ?? 0) - (a.image.created?.getTime() ?? 0) || a.tag.localeCompare(b.tag));
}

/**
 * The manager answers whole images; docker images shows only the rows of the tags asked for
 * (every tag when the image is named by ID).
 */
function rowAsked(row: ImageRow, references: readonly string[]): boolean {
  if (!references.length) return true;
  const [repository] = splitTag(row.tag);
  return references.some((ref) => ref === row.tag || ref === repository || /^(sha256:)?[0-9a-f]{12,}$/.test(ref) || ref.includes('@'));
}

function splitTag(tag: string): [string, string] {
  const colon = tag.lastIndexOf(':');
  return colon > tag.lastIndexOf('/') ? [tag.slice(0, colon), tag.slice(colon + 1)] : [tag, ''];
}

const ls = defineCommand({
  name: 'ls',
  aliases: ['list'],
  summary: 'List the images of every engine, with the engines that hold each',
  usage: '[flags] [REPOSITORY[:TAG]]',
  options: {
    filter: flag('string', { repeat: true, placeholder: 'KEY=VALUE', description: 'engine=ENGINE, reference=NAME[:TAG] (or an ID), label=KEY[=VALUE]', complete: ['engine=', 'reference=', 'label='] }),
    quiet: flag('boolean', { short: 'q', description: 'Only print image IDs' }),
    format: formatOption,
    'no-trunc': noTruncOption,
  },
  args: { names: 'REPOSITORY[:TAG]', max: 1 },
  examples: ['flotilla images', 'flotilla images busybox', 'flotilla images --filter engine=node-1 -q', "flotilla images --format '{{.Repository}}:{{.Tag}} {{.Engines}}'"],
  async run(ctx, options, args) {
    const query = imageFilters(options.filter, args);
    const rows = imageRows(await allImages(ctx.cluster, query)).filter((r) => rowAsked(r, query.references));
    const shortId = (id: string) => (options['no-trunc'] ? id : id.replace(/^sha256:/, '').slice(0, 12));
    if (options.quiet) {
      for (const id of new Set(rows.map((r) => shortId(r.image.id)))) ctx.io.stdout.write(`${id}\n`);
      return 0;
    }
    const now = ctx.io.now();
    const fielded = rows.map((r) => {
      const [repository, tag] = splitTag(r.tag);
      return {
        r,
        f: {
          Repository: repository,
          Tag: tag,
          ID: shortId(r.image.id),
          CreatedSince: timeAgo(r.image.created, now),
          Size: formatBytes(r.image.sizeBytes),
          Engines: r.engines.map((e) => engineLabel(e)).join(','),
          EngineCount: r.engines.length,
        },
      };
    });
    type Row = (typeof fielded)[number];
    printListing(
      ctx.io,
      parseFormat(options.format),
      {
        rows: fielded,
        columns: [
          { header: 'REPOSITORY', value: (x: Row) => x.f.Repository, flex: true, min: 10 },
          { header: 'TAG', value: (x: Row) => x.f.Tag, flex: true, min: 6 },
          { header: 'IMAGE ID', value: (x: Row) => x.f.ID },
          { header: 'CREATED', value: (x: Row) => x.f.CreatedSince, drop: 1 },
          { header: 'SIZE', value: (x: Row) => x.f.Size, drop: 2 },
          // A count: the names of thousands of engines would not fit a line (see --format '{{.Engines}}').
          { header: 'ENGINES', value: (x: Row) => String(x.f.EngineCount) },
        ],
        json: (x) => ({ image: Image.toJSON(x.r.image), tag: x.r.tag, engines: x.r.engines.map((e) => EngineRef.toJSON(e)) }),
        fields: (x) => x.f,
        empty: 'No images match.',
      },
      { noTrunc: options['no-trunc'] },
    );
    return 0;
  },
});

const inspect = defineCommand({
  name: 'inspect',
  summary: "Show an image as an engine's Docker does, with the engine, as JSON",
  usage: '[flags] IMAGE [IMAGE...]',
  options: {
    engine: flag('string', { placeholder: 'ENGINE', description: 'Ask this engine (default: the first healthy engine holding the image)', complete: 'engines' }),
    format: formatOption,
  },
  args: { names: 'IMAGE', min: 1 },
  hints: imageHints,
  examples: ['flotilla image inspect busybox:local', "flotilla image inspect --engine node-1 --format '{{.Id}}' busybox:local"],
  async run(ctx, options, args) {
    const format = parseFormat(options.format);
    const answers = await Promise.all(args.map((image) => ctx.cluster.call((c, o) => c.inspectImage({ image, engine: options.engine ?? '' }, o))));
    // Docker's document with the engine, as for volumes; the cluster's view when the engine is down.
    const documents = answers.map((a) => {
      const known = a.image?.image;
      const docker: Record<string, unknown> = a.rawJson ? (JSON.parse(a.rawJson) as Record<string, unknown>) : { Id: known?.id, RepoTags: known?.repoTags, RepoDigests: known?.repoDigests, Size: Number(known?.sizeBytes ?? 0) };
      return { ...docker, Engine: a.image?.engine ?? null };
    });
    printDocuments(ctx.io, format, documents);
    return 0;
  },
});

/** Each engine's outcome on its own line: what it did (stdout) or why it failed (stderr); 1 when any failed. */
function printResults(io: Io, results: ImageResult[], done: (r: ImageResult) => string[]): number {
  let failed = 0;
  for (const r of results) {
    const engine = r.engine?.name ? `${r.engine.name} (${r.engine.address})` : (r.engine?.address ?? '?');
    if (r.error) {
      failed++;
      io.stderr.write(`${engine}: ${r.error}\n`);
      continue;
    }
    for (const line of done(r)) io.stdout.write(`${engine}: ${line}${r.unsettled ? ' (not yet seen by the manager)' : ''}\n`);
  }
  return failed ? 1 : 0;
}

const rm = defineCommand({
  name: 'rm',
  aliases: ['remove'],
  summary: 'Remove an image from the engine named, or from every engine holding it',
  usage: '[flags] IMAGE [IMAGE...]',
  description: 'As docker rmi: a tag is untagged, and the image deleted once no tag is left.',
  options: {
    engine: flag('string', { placeholder: 'ENGINE', description: 'Only from this engine', complete: 'engines' }),
    force: flag('boolean', { short: 'f', description: 'Also an image that stopped containers use, or every tag of an ID' }),
    'no-prune': flag('boolean', { description: 'Keep the untagged parent images' }),
  },
  args: { names: 'IMAGE', min: 1 },
  hints: imageHints,
  examples: ['flotilla rmi busybox:old', 'flotilla image rm --engine node-1 busybox:old'],
  async run(ctx, options, args) {
    let code = 0;
    for (const image of args) {
      const { results } = await ctx.cluster.call((c, o) => c.removeImage({ image, engine: options.engine ?? '', force: options.force, noPrune: options['no-prune'] }, o));
      code = Math.max(code, printResults(ctx.io, results, (r) => [...r.untagged.map((t) => `Untagged: ${t}`), ...r.deleted.map((id) => `Deleted: ${id}`)]));
    }
    return code;
  },
});

const tag = defineCommand({
  name: 'tag',
  summary: 'Tag an image on the engine named, or on every engine holding it',
  usage: '[flags] SOURCE_IMAGE TARGET_IMAGE[:TAG]',
  options: {
    engine: flag('string', { placeholder: 'ENGINE', description: 'Only on this engine', complete: 'engines' }),
  },
  args: { names: 'SOURCE_IMAGE TARGET_IMAGE[:TAG]', min: 2, max: 2 },
  hints: imageHints,
  examples: ['flotilla tag busybox:local app/base:1', 'flotilla image tag --engine node-1 busybox:local app/base'],
  async run(ctx, options, [image, target]) {
    const { results } = await ctx.cluster.call((c, o) => c.tagImage({ image, tag: target, engine: options.engine ?? '' }, o));
    return printResults(ctx.io, results, () => [`Tagged ${image} as ${target}`]);
  },
});

export const imageGroup: CommandGroup = {
  name: 'image',
  summary: 'Manage the images of the engines (ls, inspect, rm, tag)',
  subcommands: [ls, inspect, rm, tag],
};

/** docker's top-level spellings: `images`, `rmi`, `tag`. */
export const imagesCommand: Command = { ...ls, name: 'images', aliases: [] };
export const rmiCommand: Command = { ...rm, name: 'rmi', aliases: [] };
export const tagCommand: Command = tag;
