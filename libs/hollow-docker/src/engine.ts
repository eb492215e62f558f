import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { badRequest, conflict, DockerApiError, notFound, notModified } from './docker-error';
import { programFor, type HollowProgram } from './programs';

/*
 * The state of one hollow Docker engine: containers, images, networks, the event log and container
 * output, with Docker's semantics (IDs and names, 304/404/409 answers, the events each change
 * makes). It knows nothing about HTTP; server.ts serves it.
 */

export interface HollowEngineConfig {
  /** Docker's engine ID (`docker info` ID). Default: a random UUID, as Docker 23+ makes. */
  id?: string;
  /** `docker info` Name; default `hollow-<first 8 of id>`. */
  name?: string;
  /** Engine labels (`docker info` Labels as `k=v`). */
  labels?: Record<string, string>;
  cpus?: number;
  memoryBytes?: number;
  /** Highest API version served (`/version` ApiVersion). Default 1.43. */
  apiVersion?: string;
  /** Lowest API version served. Default 1.24, as Docker 25+. */
  minApiVersion?: string;
  serverVersion?: string;
  /** Image references present at start. Default `busybox:local`, `busybox:latest`. */
  images?: string[];
  /** Network names present (built-in drivers). Default bridge, host, none. */
  networks?: string[];
  /** Most containers the engine holds; a create past it answers 500. Default 10,000. */
  maxContainers?: number;
  /** Output kept per container, in bytes (oldest dropped). Default 64 KiB. */
  maxLogBytes?: number;
  /** Events kept for `since` replay. Default 256, as dockerd. */
  eventBufferSize?: number;
  /** Exit code of a container that `stop` ends. Default 143 (SIGTERM honoured). */
  stopExitCode?: number;
  /** Which references `POST /images/create` can pull; default every well-formed one. */
  pullable?: (reference: string) => boolean;
  /** What a started container runs; default: `programFor` (true/false/echo/sh -c "..."/exit; anything else runs until stopped). */
  program?: (argv: string[]) => HollowProgram;
}

export interface HollowEvent {
  type: string;
  action: string;
  actorId: string;
  attributes: Record<string, string>;
  timeNano: bigint;
  /** The line as written on `GET /events` (no newline). */
  line: string;
}

export interface LogEntry {
  /** 1 stdout, 2 stderr. */
  stream: 1 | 2;
  timeNano: bigint;
  data: Buffer;
}

interface ImageRecord {
  id: string;
  /** Familiar `name:tag` references (`busybox:latest`), kept in Docker's order (see `sortReferences`). */
  repoTags: string[];
  /** Familiar `name@sha256:...` references. */
  repoDigests: string[];
  created: number;
  /** When a tag was last added by `POST /images/{name}/tag` (ns; 0 never), Docker's `Metadata.LastTagTime`. */
  lastTagTime: bigint;
  size: number;
  cmd: string[];
  entrypoint: string[] | null;
  env: string[];
  labels: Record<string, string>;
}

interface NetworkRecord {
  id: string;
  name: string;
  driver: string;
  created: string;
}

type Json = Record<string, unknown>;

export interface ContainerRecord {
  id: string;
  name: string;
  created: bigint;
  image: ImageRecord;
  /** The image as the create named it (`Config.Image`). */
  imageRef: string;
  config: Json & { Cmd: string[] | null; Entrypoint: string[] | null; Labels: Record<string, string>; Tty: boolean; Env: string[] };
  hostConfig: Json & { NetworkMode: string; PortBindings: Record<string, Array<{ HostIp: string; HostPort: string }>> };
  state: { status: 'created' | 'running' | 'exited'; pid: number; exitCode: number; startedAt: bigint; finishedAt: bigint };
  restartCount: number;
  logs: LogEntry[];
  logBytes: number;
  followers: Set<(entry: LogEntry | null) => void>;
  exitTimer?: NodeJS.Timeout;
}

const zeroTime = '0001-01-01T00:00:00Z';
const nameRe = /^\/?[a-zA-Z0-9][a-zA-Z0-9_.-]+$/;
// Docker's reference grammar, reduced: lowercase path components, an optional tag or digest.
const referenceRe = /^(?:[a-z0-9.-]+(?::\d+)?\/)?[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*(?::[\w][\w.-]{0,127})?(?:@sha256:[a-f0-9]{64})?$/;

let lastNano = 0n;
/** A strictly increasing wall-clock time in nanoseconds (shared by every engine in the process). */
export function nowNano(): bigint {
  let t = BigInt(Date.now()) * 1_000_000n;
  if (t <= lastNano) t = lastNano + 1n;
  lastNano = t;
  return t;
}

/** Go's RFC3339Nano: UTC, trailing zeros of the fraction dropped. */
export function rfc3339Nano(ns: bigint): string {
  if (ns === 0n) return zeroTime;
  const base = new Date(Number(ns / 1_000_000n)).toISOString().slice(0, 19);
  const frac = (ns % 1_000_000_000n).toString().padStart(9, '0').replace(/0+$/, '');
  return `${base}${frac ? '.' + frac : ''}Z`;
}

function hex(bytes: number): string {
  return randomBytes(bytes).toString('hex');
}

/** `name` or `name:tag` → `name:tag` (`latest` when none); digests kept. */
export function normalizeReference(ref: string): string {
  if (ref.includes('@')) return ref;
  const lastSlash = ref.lastIndexOf('/');
  return ref.slice(lastSlash + 1).includes(':') ? ref : `${ref}:latest`;
}

/** One image reference as Docker's reference library reads it. */
interface ImageReference {
  /** `docker.io/library/busybox`, `registry.local:5000/team/app`. */
  fullName: string;
  /** The short form Docker answers with: `busybox`, `registry.local:5000/team/app`. */
  name: string;
  tag?: string;
  digest?: string;
}

// Docker's reference grammar (distribution/reference), with `-+` for its `-*` separator: the same
// language, without the nested quantifier that backtracks exponentially on a near miss.
const nameComponent = '[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*';
const domainComponent = '(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])';
const tagPattern = '[\\w][\\w.-]{0,127}';
const namedReferenceRe = new RegExp(
  `^(${domainComponent}(?:\\.${domainComponent})*(?::[0-9]+)?/${nameComponent}(?:/${nameComponent})*)(?::(${tagPattern}))?(?:@([A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}))?$`,
);
const tagRe = new RegExp(`^${tagPattern}$`);
const imageIdRe = /^(?:sha256:)?([a-f0-9]{64})$/;

/** Docker's `ParseNormalizedNamed`: `busybox` is `docker.io/library/busybox`; 400 when malformed. */
function parseImageReference(text: string): ImageReference {
  if (/^[a-f0-9]{64}$/.test(text)) throw badRequest(`invalid repository name (${text}), cannot specify 64-byte hexadecimal strings`);
  const slash = text.indexOf('/');
  const first = text.slice(0, Math.max(0, slash));
  let [domain, rest] = slash >= 0 && (/[.:]/.test(first) || first === 'localhost') ? [first, text.slice(slash + 1)] : ['docker.io', text];
  if (domain === 'index.docker.io') domain = 'docker.io';
  if (domain === 'docker.io' && !rest.includes('/')) rest = `library/${rest}`;
  const remote = rest.includes(':') ? rest.slice(0, rest.indexOf(':')) : rest;
  if (remote.toLowerCase() !== remote) throw badRequest('invalid reference format: repository name must be lowercase');
  // Past Docker's 255-character name no reference is valid; the bound keeps the regex cheap.
  const m = text.length <= 1024 ? namedReferenceRe.exec(`${domain}/${rest}`) : null;
  if (!m) throw badRequest('invalid reference format');
  if (m[1].length > 255) throw badRequest('repository name must not be more than 255 characters');
  const path = m[1].slice(domain.length + 1);
  const name = domain !== 'docker.io' ? m[1] : /^library\/[^/]+$/.test(path) ? path.slice('library/'.length) : path;
  return { fullName: m[1], name, tag: m[2], digest: m[3] };
}

/** Docker's `FamiliarString`: `busybox:1.36`, `registry.local:5000/app@sha256:...`. */
function familiarReference(ref: ImageReference): string {
  return `${ref.name}${ref.tag !== undefined ? `:${ref.tag}` : ''}${ref.digest !== undefined ? `@${ref.digest}` : ''}`;
}

/** Docker's `TagNameOnly`: a bare name means `NAME:latest`. */
function withDefaultTag(ref: ImageReference): ImageReference {
  return ref.tag === undefined && ref.digest === undefined ? { ...ref, tag: 'latest' } : ref;
}

/** Docker's reference store lists an image's references sorted by their full form. */
function sortReferences(refs: string[]): string[] {
  const full = (text: string) => {
    const r = parseImageReference(text);
    return `${r.fullName}${r.tag !== undefined ? `:${r.tag}` : ''}${r.digest !== undefined ? `@${r.digest}` : ''}`;
  };
  return refs.map((text) => [full(text), text] as const).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, text]) => text);
}

/** The one layer a hollow image has (`RootFS.Layers`). */
function layerId(image: { id: string }): string {
  return `sha256:${createHash('sha256').update(`layer:${image.id}`).digest('hex')}`;
}

/** Docker's `stringid.TruncateID`: 12 hex digits, without the algorithm. */
function shortId(id: string): string {
  return id.replace(/^sha256:/, '').slice(0, 12);
}

/** One line of `DELETE /images/{name}`. */
export interface ImageDeleteItem {
  Untagged?: string;
  Deleted?: string;
}

function humanDuration(ms: number): string {
  const s = Math.round(ms / 1000);
  if (s < 1) return 'Less than a second';
  if (s === 1) return '1 second';
  if (s < 60) return `${s} seconds`;
  const m = Math.round(s / 60);
  if (m === 1) return 'About a minute';
  if (m < 60) return `${m} minutes`;
  const h = Math.round(s / 3600);
  if (h === 1) return 'About an hour';
  if (h < 48) return `${h} hours`;
  return `${Math.round(h / 24)} days`;
}

function stringList(value: unknown, field: string): string[] | null {
  if (value === undefined || value === null) return null;
  if (typeof value === 'string') return [value];
  if (!Array.isArray(value) || value.some((v) => typeof v !== 'string')) throw badRequest(`json: cannot unmarshal ${typeof value} into Go struct field ${field} of type []string`);
  return value as string[];
}

function stringMap(value: unknown, field: string): Record<string, string> {
  if (value === undefined || value === null) return {};
  if (typeof value !== 'object' || Array.isArray(value) || Object.values(value).some((v) => typeof v !== 'string')) throw badRequest(`json: cannot unmarshal into Go struct field ${field} of type map[string]string`);
  return { ...(value as Record<string, string>) };
}

function int(value: unknown, field: string): number {
  if (value === undefined || value === null) return 0;
  if (typeof value !== 'number' || !Number.isInteger(value)) throw badRequest(`json: cannot unmarshal ${typeof value} into Go struct field ${field} of type int64`);
  return value;
}

/** Docker's ParseUintList (`0-2,4`) for a cpuset: the numbers, or what is wrong with the text. */
function cpuList(text: string): number[] | string {
  if (text === '') return [];
  const out: number[] = [];
  for (const part of text.split(',')) {
    const m = /^(\d+)(?:-(\d+))?$/.exec(part);
    if (!m || (m[2] !== undefined && Number(m[2]) < Number(m[1]))) return `invalid format: ${text}`;
    const [low, high] = [Number(m[1]), Number(m[2] ?? m[1])];
    // 8192 is Linux's usual most CPUs; past it Docker refuses before looking at what is there.
    if (high > 8192) return 'value of out range, maximum is 8192';
    for (let n = low; n <= high; n++) out.push(n);
  }
  return out;
}

export class HollowEngine {
  readonly id: string;
  readonly name: string;
  readonly labels: Record<string, string>;
  readonly cpus: number;
  readonly memoryBytes: number;
  readonly apiVersion: string;
  readonly minApiVersion: string;
  readonly serverVersion: string;
  private readonly containers = new Map<string, ContainerRecord>();
  private readonly byName = new Map<string, string>();
  private readonly images = new Map<string, ImageRecord>();
  private readonly networks: NetworkRecord[];
  private readonly events: HollowEvent[] = [];
  private readonly listeners = new Set<(event: HollowEvent) => void>();
  private readonly maxContainers: number;
  private readonly maxLogBytes: number;
  private readonly eventBufferSize: number;
  private readonly stopExitCode: number;
  private readonly pullable: (reference: string) => boolean;
  private readonly program: (argv: string[]) => HollowProgram;
  private nextPid = 1000;

  constructor(config: HollowEngineConfig = {}) {
    this.id = config.id ?? randomUUID();
    this.name = config.name ?? `hollow-${this.id.slice(0, 8)}`;
    this.labels = { ...config.labels };
    this.cpus = config.cpus ?? 4;
    this.memoryBytes = config.memoryBytes ?? 8 * 1024 ** 3;
    this.apiVersion = config.apiVersion ?? '1.43';
    this.minApiVersion = config.minApiVersion ?? '1.24';
    this.serverVersion = config.serverVersion ?? '24.0.9-hollow';
    this.maxContainers = config.maxContainers ?? 10_000;
    this.maxLogBytes = config.maxLogBytes ?? 64 * 1024;
    this.eventBufferSize = config.eventBufferSize ?? 256;
    this.stopExitCode = config.stopExitCode ?? 143;
    this.pullable = config.pullable ?? (() => true);
    this.program = config.program ?? programFor;
    for (const ref of config.images ?? ['busybox:local', 'busybox:latest']) this.addImage(ref);
    const created = rfc3339Nano(nowNano());
    const drivers: Record<string, string> = { bridge: 'bridge', host: 'host', none: 'null' };
    this.networks = (config.networks ?? ['bridge', 'host', 'none']).map((name) => ({ id: hex(32), name, driver: drivers[name] ?? 'bridge', created }));
  }

  get containerCount(): number {
    return this.containers.size;
  }

  get runningCount(): number {
    let n = 0;
    for (const c of this.containers.values()) if (c.state.status === 'running') n++;
    return n;
  }

  get imageCount(): number {
    return this.images.size;
  }

  // ---- events ----

  /** Records an event and hands it to every subscriber. */
  emit(type: string, action: string, actorId: string, attributes: Record<string, string> = {}, from?: string): HollowEvent {
    const timeNano = nowNano();
    const seconds = timeNano / 1_000_000_000n;
    // Docker still writes the pre-1.22 fields (status, id, from) on container and image events.
    const legacy = type === 'container' || type === 'image' ? `"status":${JSON.stringify(action)},"id":${JSON.stringify(actorId)},${from !== undefined ? `"from":${JSON.stringify(from)},` : ''}` : '';
    const line = `{${legacy}"Type":${JSON.stringify(type)},"Action":${JSON.stringify(action)},"Actor":{"ID":${JSON.stringify(actorId)},"Attributes":${JSON.stringify(attributes)}},"scope":"local","time":${seconds},"timeNano":${timeNano}}`;
    const event: HollowEvent = { type, action, actorId, attributes, timeNano, line };
    this.events.push(event);
    if (this.events.length > this.eventBufferSize) this.events.shift();
    for (const listener of this.listeners) listener(event);
    return event;
  }

  /** Buffered events with `since <= time <= until` (nanoseconds). */
  replay(since: bigint, until: bigint | undefined): HollowEvent[] {
    return this.events.filter((e) => e.timeNano >= since && (until === undefined || e.timeNano <= until));
  }

  subscribe(listener: (event: HollowEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  get subscriberCount(): number {
    return this.listeners.size;
  }

  private containerAttributes(c: ContainerRecord, extra: Record<string, string> = {}): Record<string, string> {
    return { ...c.config.Labels, image: c.imageRef, name: c.name, ...extra };
  }

  private emitContainer(c: ContainerRecord, action: string, extra: Record<string, string> = {}): void {
    this.emit('container', action, c.id, this.containerAttributes(c, extra), c.imageRef);
  }

  // ---- images ----

  /**
   * Adds an image as pulling `reference` leaves it (start-up images, pulls, tests): its ID follows
   * from the reference, so pulling it again finds the same image, and the tag moves to it from
   * any image that held it. A reference Docker would refuse throws (400).
   */
  addImage(reference: string, options: { cmd?: string[]; labels?: Record<string, string> } = {}): ImageRecord {
    const ref = withDefaultTag(parseImageReference(reference));
    const text = familiarReference(ref);
    const id = `sha256:${createHash('sha256').update(text).digest('hex')}`;
    let image = this.images.get(id);
    if (!image) {
      image = {
        id,
        repoTags: [],
        repoDigests: [],
        created: Math.floor(Date.now() / 1000),
        lastTagTime: 0n,
        size: 4_261_550,
        cmd: options.cmd ?? ['sh'],
        entrypoint: null,
        env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'],
        labels: options.labels ?? {},
      };
      this.images.set(id, image);
    }
    // A pull by digest leaves only the digest; a pull by tag the tag and the manifest's digest.
    const digest = ref.digest !== undefined ? text : `${ref.name}@sha256:${createHash('sha256').update(`digest:${text}`).digest('hex')}`;
    if (ref.digest === undefined) this.moveTag(text, image);
    if (!image.repoDigests.includes(digest)) image.repoDigests = sortReferences([...image.repoDigests, digest]);
    return image;
  }

  /** Puts the tag on `image`, taking it off any image that held it (which may be left untagged). */
  private moveTag(tag: string, image: ImageRecord): void {
    for (const other of this.images.values()) if (other !== image && other.repoTags.includes(tag)) other.repoTags = other.repoTags.filter((t) => t !== tag);
    if (!image.repoTags.includes(tag)) image.repoTags = sortReferences([...image.repoTags, tag]);
  }

  /** Every tag and digest of the image, in Docker's order. */
  private references(image: ImageRecord): string[] {
    return sortReferences([...image.repoTags, ...image.repoDigests]);
  }

  private dropReference(image: ImageRecord, ref: string): void {
    image.repoTags = image.repoTags.filter((t) => t !== ref);
    image.repoDigests = image.repoDigests.filter((d) => d !== ref);
  }

  /**
   * Docker's image lookup (`GetImage`): a full ID (`sha256:` optional) names only an image ID;
   * anything else is first a reference (`NAME` meaning `NAME:latest`, `NAME:TAG`, `NAME@DIGEST`),
   * then a unique ID prefix. 400 for a malformed reference, 404 when nothing matches.
   */
  resolveImage(text: string): ImageRecord {
    const full = imageIdRe.exec(text);
    if (full) {
      const image = this.images.get(`sha256:${full[1]}`);
      if (!image) throw notFound(`No such image: sha256:${full[1]}`);
      return image;
    }
    const ref = withDefaultTag(parseImageReference(text));
    // Docker's reference store looks a digest up without any tag beside it.
    const wanted = familiarReference(ref.digest !== undefined ? { ...ref, tag: undefined } : ref);
    for (const image of this.images.values()) if ((ref.digest !== undefined ? image.repoDigests : image.repoTags).includes(wanted)) return image;
    const prefix = /^(?:sha256:)?([a-f0-9]+)$/.exec(text);
    if (prefix) {
      const matches = [...this.images.keys()].filter((id) => id.startsWith(`sha256:${prefix[1]}`));
      // An ambiguous prefix finds nothing, as in Docker's digest set.
      if (matches.length === 1) return this.images.get(matches[0])!;
    }
    throw notFound(`No such image: ${familiarReference(ref)}`);
  }

  /** `resolveImage`, with undefined where Docker would answer 400 or 404. */
  findImage(reference: string): ImageRecord | undefined {
    try {
      return this.resolveImage(reference);
    } catch (err) {
      if (err instanceof DockerApiError) return undefined;
      throw err;
    }
  }

  /** `GET /images/json`: an image without tags or digests as the API version lists it. */
  listImages(apiVersion = this.apiVersion): Json[] {
    // Docker 23+ answers [] for API 1.43 and later; older APIs (and Docker 20.10) null, or `<none>` for both.
    const modern = compareVersions(apiVersion, '1.43') >= 0;
    const none = (refs: string[]) => (refs.length > 0 ? [...refs] : modern ? [] : null);
    return [...this.images.values()].map((i) => {
      const dangling = !modern && i.repoTags.length === 0 && i.repoDigests.length === 0;
      return {
        Containers: -1,
        Created: i.created,
        Id: i.id,
        Labels: i.labels,
        ParentId: '',
        RepoDigests: dangling ? ['<none>@<none>'] : none(i.repoDigests),
        RepoTags: dangling ? ['<none>:<none>'] : none(i.repoTags),
        SharedSize: -1,
        Size: i.size,
        ...(compareVersions(apiVersion, '1.44') < 0 ? { VirtualSize: i.size } : {}),
      };
    });
  }

  /** `GET /images/{name}/json`. */
  inspectImage(reference: string, apiVersion = this.apiVersion): Json {
    const i = this.resolveImage(reference);
    return {
      Id: i.id,
      RepoTags: [...i.repoTags],
      RepoDigests: [...i.repoDigests],
      Parent: '',
      Comment: '',
      Created: rfc3339Nano(BigInt(i.created) * 1_000_000_000n),
      DockerVersion: '',
      Author: '',
      Config: { Env: i.env, Cmd: i.cmd, Entrypoint: i.entrypoint, Labels: i.labels, WorkingDir: '', OnBuild: null },
      Architecture: 'amd64',
      Os: 'linux',
      Size: i.size,
      ...(compareVersions(apiVersion, '1.44') < 0 ? { VirtualSize: i.size } : {}),
      GraphDriver: { Data: null, Name: 'overlay2' },
      RootFS: { Type: 'layers', Layers: [layerId(i)] },
      Metadata: { LastTagTime: rfc3339Nano(i.lastTagTime) },
    };
  }

  /**
   * `POST /images/{name}/tag`: `repo` (with `tag`, default `latest`) moves to the image, as
   * `docker tag` moves it, and an image `tag` event names it as given.
   */
  tagImage(source: string, repo: string, tag: string): void {
    const image = this.resolveImage(source);
    let ref = parseImageReference(repo);
    if (tag !== '') {
      if (!tagRe.test(tag)) throw badRequest('invalid tag format');
      ref = { fullName: ref.fullName, name: ref.name, tag };
    }
    if (ref.digest !== undefined) throw badRequest('refusing to create a tag with a digest reference');
    if (ref.fullName === 'docker.io/library/sha256') throw badRequest('refusing to create an ambiguous tag using digest algorithm as name');
    this.moveTag(familiarReference(withDefaultTag(ref)), image);
    image.lastTagTime = nowNano();
    this.emitImage(image, 'tag', familiarReference(ref));
  }

  /**
   * `DELETE /images/{name}`, as Docker's ImageDelete: a reference is untagged (its repository's
   * digests too once its last tag there goes), and the image deleted when no reference is left;
   * an ID deletes the image with its references. A container using the image refuses the last
   * reference without `force`; a running one refuses deletion even with it.
   */
  removeImage(name: string, force: boolean): ImageDeleteItem[] {
    if (name.trim() === '') throw badRequest('image name cannot be blank');
    const image = this.resolveImage(name);
    const records: ImageDeleteItem[] = [];
    const untag = (ref: string, event: boolean) => {
      this.dropReference(image, ref);
      records.push({ Untagged: ref });
      if (event) this.emitImage(image, 'untag', image.id);
    };
    let quiet = false;
    if (!image.id.startsWith(name) && !image.id.slice('sha256:'.length).startsWith(name)) {
      if (!force && this.singleReference(image)) {
        const user = this.containerUsing(image, () => true);
        if (user) throw conflict(`conflict: unable to remove repository reference ${JSON.stringify(name)} (must force) - container ${shortId(user.id)} is using its referenced image ${shortId(image.id)}`);
      }
      const ref = withDefaultTag(parseImageReference(name));
      untag(familiarReference(ref.digest !== undefined ? { ...ref, tag: undefined } : ref), true);
      const sameRepository = (text: string) => parseImageReference(text).fullName === ref.fullName;
      // Docker drops these digests without an event of their own.
      if (ref.digest === undefined && !image.repoTags.some(sameRepository)) for (const digest of image.repoDigests.filter(sameRepository)) untag(digest, false);
      if (this.references(image).length > 0) return records;
      // The last reference went: the image goes too unless something holds it, and then quietly stays.
      quiet = true;
    } else if (this.singleReference(image)) {
      const refused = this.deleteConflict(image, { references: false, stopped: !force });
      if (refused) throw conflict(refused.message);
      for (const ref of this.references(image)) untag(ref, true);
    }
    const refused = this.deleteConflict(image, { references: !force, stopped: !force });
    if (refused) {
      if (quiet && (this.references(image).length > 0 || refused.used)) return records;
      throw conflict(refused.message);
    }
    for (const ref of this.references(image)) untag(ref, true);
    this.images.delete(image.id);
    this.emitImage(image, 'delete', image.id);
    records.push({ Deleted: image.id });
    // Its layer goes with it unless a container's layer still sits on it.
    if (!this.containerUsing(image, () => true)) records.push({ Deleted: layerId(image) });
    return records;
  }

  /** Docker's isSingleReference: at most one tag, and every reference in one repository. */
  private singleReference(image: ImageRecord): boolean {
    const refs = this.references(image);
    if (refs.length <= 1) return refs.length === 1;
    return image.repoTags.length <= 1 && new Set(refs.map((r) => parseImageReference(r).fullName)).size === 1;
  }

  private containerUsing(image: ImageRecord, which: (c: ContainerRecord) => boolean): ContainerRecord | undefined {
    for (const c of this.containers.values()) if (c.image.id === image.id && which(c)) return c;
    return undefined;
  }

  /**
   * Docker's checkImageDeleteConflict: a running container (hard: force does not help), then, as
   * asked, references left and stopped containers (soft). `used` says a container holds it.
   */
  private deleteConflict(image: ImageRecord, check: { references: boolean; stopped: boolean }): { message: string; used: boolean } | undefined {
    const refuse = (hard: boolean, used: boolean, why: string) => ({ used, message: `conflict: unable to delete ${shortId(image.id)} (${hard ? 'cannot be forced' : 'must be forced'}) - ${why}` });
    const running = this.containerUsing(image, (c) => c.state.status === 'running');
    if (running) return refuse(true, true, `image is being used by running container ${shortId(running.id)}`);
    if (check.references && this.references(image).length > 0) return refuse(false, false, 'image is referenced in multiple repositories');
    const stopped = check.stopped ? this.containerUsing(image, (c) => c.state.status !== 'running') : undefined;
    if (stopped) return refuse(false, true, `image is being used by stopped container ${shortId(stopped.id)}`);
    return undefined;
  }

  /** An image event as Docker logs it: the image's labels while it exists, and `name`. */
  private emitImage(image: ImageRecord, action: string, name: string): void {
    const labels = this.images.get(image.id) === image ? image.labels : {};
    this.emit('image', action, image.id, { ...labels, name });
  }

  /** Validates a pull; the caller streams progress and then calls `completePull`. */
  checkPull(fromImage: string, tag: string | undefined): string {
    const reference = tag ? `${fromImage}:${tag}` : fromImage;
    if (!referenceRe.test(reference)) throw badRequest('invalid reference format');
    // Refused here, before the progress stream starts, rather than by addImage at its end.
    parseImageReference(reference);
    const normalized = normalizeReference(reference);
    if (!this.pullable(normalized)) {
      const repo = normalized.replace(/:[^/:]*$/, '');
      throw notFound(`pull access denied for ${repo}, repository does not exist or may require 'docker login': denied: requested access to the resource is denied`);
    }
    return normalized;
  }

  completePull(reference: string): ImageRecord {
    const image = this.addImage(reference);
    this.emit('image', 'pull', reference, { name: reference.replace(/:[^/:]*$/, '') });
    return image;
  }

  // ---- networks and volumes ----

  private networkJson(n: NetworkRecord): Json {
    return {
      Name: n.name,
      Id: n.id,
      Created: n.created,
      Scope: 'local',
      Driver: n.driver,
      EnableIPv6: false,
      IPAM: { Driver: 'default', Options: null, Config: n.driver === 'bridge' ? [{ Subnet: '172.17.0.0/16', Gateway: '172.17.0.1' }] : [] },
      Internal: false,
      Attachable: false,
      Ingress: false,
      ConfigFrom: { Network: '' },
      ConfigOnly: false,
      Containers: {},
      Options: {},
      Labels: {},
    };
  }

  listNetworks(): Json[] {
    return this.networks.map((n) => this.networkJson(n));
  }

  inspectNetwork(idOrName: string): Json {
    const n = this.networks.find((x) => x.id === idOrName || x.name === idOrName) ?? (idOrName.length >= 1 ? this.networks.find((x) => x.id.startsWith(idOrName)) : undefined);
    if (!n) throw notFound(`network ${idOrName} not found`);
    return this.networkJson(n);
  }

  // ---- containers ----

  /** Docker's lookup: full ID, then name, then a unique ID prefix. */
  find(idOrName: string): ContainerRecord {
    const direct = this.containers.get(idOrName);
    if (direct) return direct;
    const named = this.byName.get(idOrName.replace(/^\//, ''));
    if (named) return this.containers.get(named)!;
    if (/^[0-9a-f]+$/.test(idOrName)) {
      const matches = [...this.containers.keys()].filter((id) => id.startsWith(idOrName));
      if (matches.length === 1) return this.containers.get(matches[0])!;
      if (matches.length > 1) throw badRequest(`multiple IDs found with provided prefix: ${idOrName}`);
    }
    throw notFound(`No such container: ${idOrName}`);
  }

  /** `POST /containers/create`. */
  create(name: string | undefined, body: unknown, apiVersion: string): { Id: string; Warnings: string[] } {
    if (typeof body !== 'object' || body === null || Array.isArray(body)) throw badRequest('config cannot be empty in order to create a container');
    const b = body as Json;
    if (typeof b.Image !== 'string' || b.Image === '') throw badRequest('no image specified');
    if (name !== undefined && name !== '' && !nameRe.test(name)) throw badRequest(`Invalid container name (${name}), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed`);
    const image = this.findImage(b.Image);
    if (!image) throw notFound(`No such image: ${normalizeReference(b.Image)}`);
    const cmd = stringList(b.Cmd, 'Config.Cmd');
    const entrypoint = stringList(b.Entrypoint, 'Config.Entrypoint');
    if (!(cmd?.length || entrypoint?.length || image.cmd.length || image.entrypoint?.length)) throw badRequest('no command specified');
    const host = (typeof b.HostConfig === 'object' && b.HostConfig !== null ? b.HostConfig : {}) as Json;
    const memory = int(host.Memory, 'HostConfig.Memory');
    if (memory > 0 && memory < 6 * 1024 * 1024) throw badRequest('Minimum memory limit allowed is 6MB');
    const nanoCpus = int(host.NanoCpus, 'HostConfig.NanoCpus');
    if (nanoCpus < 0 || nanoCpus > this.cpus * 1e9) throw badRequest(`Range of CPUs is from 0.01 to ${this.cpus}.00, as there are only ${this.cpus} CPUs available`);
    const restart = (typeof host.RestartPolicy === 'object' && host.RestartPolicy !== null ? host.RestartPolicy : {}) as { Name?: unknown; MaximumRetryCount?: unknown };
    const restartName = typeof restart.Name === 'string' ? restart.Name : '';
    if (!['', 'no', 'always', 'unless-stopped', 'on-failure'].includes(restartName)) throw badRequest(`invalid restart policy: unknown policy '${restartName}'; use one of 'no', 'always', 'on-failure', or 'unless-stopped'`);
    const networkMode = typeof host.NetworkMode === 'string' && host.NetworkMode !== '' ? host.NetworkMode : compareVersions(apiVersion, '1.44') >= 0 ? 'bridge' : 'default';
    if (!['default', 'bridge', 'host', 'none'].includes(networkMode) && !networkMode.startsWith('container:') && !this.networks.some((n) => n.name === networkMode)) {
      throw notFound(`network ${networkMode} not found`);
    }
    if (this.containers.size >= this.maxContainers) throw new DockerApiError(500, `hollow engine ${this.name} holds its maximum of ${this.maxContainers} containers`);

    const finalName = name ? name.replace(/^\//, '') : this.randomName();
    const holder = this.byName.get(finalName);
    if (holder) throw conflict(`Conflict. The container name "/${finalName}" is already in use by container "${holder}". You have to remove (or rename) that container to be able to reuse that name.`);

    const warnings: string[] = [];
    const portBindings = (typeof host.PortBindings === 'object' && host.PortBindings !== null ? host.PortBindings : {}) as ContainerRecord['hostConfig']['PortBindings'];
    if (networkMode === 'host' && Object.keys(portBindings).length > 0) warnings.push('Published ports are discarded when using host network mode');
    const id = hex(32);
    const labels = stringMap(b.Labels, 'Config.Labels');
    const c: ContainerRecord = {
      id,
      name: finalName,
      created: nowNano(),
      image,
      imageRef: b.Image,
      config: {
        Hostname: typeof b.Hostname === 'string' && b.Hostname ? b.Hostname : id.slice(0, 12),
        Domainname: '',
        User: typeof b.User === 'string' ? b.User : '',
        AttachStdin: b.AttachStdin === true,
        AttachStdout: b.AttachStdout === true,
        AttachStderr: b.AttachStderr === true,
        ...(b.ExposedPorts && typeof b.ExposedPorts === 'object' ? { ExposedPorts: b.ExposedPorts } : {}),
        Tty: b.Tty === true,
        OpenStdin: b.OpenStdin === true,
        StdinOnce: b.StdinOnce === true,
        Env: [...(stringList(b.Env, 'Config.Env') ?? []), ...image.env],
        Cmd: cmd ?? (entrypoint ? null : image.cmd),
        Image: b.Image,
        Volumes: null,
        WorkingDir: typeof b.WorkingDir === 'string' ? b.WorkingDir : '',
        Entrypoint: entrypoint ?? image.entrypoint,
        OnBuild: null,
        Labels: labels,
      },
      hostConfig: {
        Binds: stringList(host.Binds, 'HostConfig.Binds'),
        ContainerIDFile: '',
        LogConfig: { Type: 'json-file', Config: {} },
        NetworkMode: networkMode,
        PortBindings: portBindings,
        // Docker 25+ writes `no` for an unset policy only for API 1.44 and later clients.
        RestartPolicy: { Name: restartName || (compareVersions(apiVersion, '1.44') >= 0 ? 'no' : ''), MaximumRetryCount: typeof restart.MaximumRetryCount === 'number' ? restart.MaximumRetryCount : 0 },
        AutoRemove: host.AutoRemove === true,
        VolumeDriver: '',
        VolumesFrom: null,
        ConsoleSize: [0, 0],
        CapAdd: stringList(host.CapAdd, 'HostConfig.CapAdd'),
        CapDrop: null,
        CgroupnsMode: 'private',
        Dns: [],
        DnsOptions: [],
        DnsSearch: [],
        ExtraHosts: null,
        GroupAdd: null,
        IpcMode: typeof host.IpcMode === 'string' && host.IpcMode ? host.IpcMode : 'private',
        Cgroup: '',
        Links: null,
        OomScoreAdj: 0,
        PidMode: typeof host.PidMode === 'string' ? host.PidMode : '',
        Privileged: host.Privileged === true,
        PublishAllPorts: false,
        ReadonlyRootfs: false,
        SecurityOpt: null,
        UTSMode: typeof host.UTSMode === 'string' ? host.UTSMode : '',
        UsernsMode: '',
        ShmSize: 67108864,
        Runtime: 'runc',
        Isolation: '',
        CpuShares: int(host.CpuShares, 'HostConfig.CpuShares'),
        Memory: memory,
        NanoCpus: nanoCpus,
        CgroupParent: '',
        BlkioWeight: 0,
        BlkioWeightDevice: [],
        BlkioDeviceReadBps: [],
        BlkioDeviceWriteBps: [],
        BlkioDeviceReadIOps: [],
        BlkioDeviceWriteIOps: [],
        CpuPeriod: 0,
        CpuQuota: 0,
        CpuRealtimePeriod: 0,
        CpuRealtimeRuntime: 0,
        CpusetCpus: '',
        CpusetMems: '',
        Devices: Array.isArray(host.Devices) ? host.Devices : [],
        DeviceCgroupRules: null,
        DeviceRequests: null,
        MemoryReservation: 0,
        MemorySwap: memory > 0 ? memory * 2 : 0,
        MemorySwappiness: null,
        OomKillDisable: null,
        PidsLimit: null,
        Ulimits: [],
        CpuCount: 0,
        CpuPercent: 0,
        IOMaximumIOps: 0,
        IOMaximumBandwidth: 0,
        MaskedPaths: ['/proc/asound', '/proc/acpi', '/proc/kcore', '/proc/keys', '/proc/latency_stats', '/proc/timer_list', '/proc/timer_stats', '/proc/sched_debug', '/proc/scsi', '/sys/firmware', '/sys/devices/virtual/powercap'],
        ReadonlyPaths: ['/proc/bus', '/proc/fs', '/proc/irq', '/proc/sys', '/proc/sysrq-trigger'],
      },
      state: { status: 'created', pid: 0, exitCode: 0, startedAt: 0n, finishedAt: 0n },
      restartCount: 0,
      logs: [],
      logBytes: 0,
      followers: new Set(),
    };
    this.containers.set(id, c);
    this.byName.set(finalName, id);
    this.emitContainer(c, 'create');
    return { Id: id, Warnings: warnings };
  }

  private randomName(): string {
    const adjectives = ['brave', 'calm', 'eager', 'hollow', 'quiet', 'swift'];
    const nouns = ['turing', 'hopper', 'lovelace', 'ritchie', 'knuth', 'liskov'];
    for (;;) {
      const n = `${adjectives[randomBytes(1)[0] % adjectives.length]}_${nouns[randomBytes(1)[0] % nouns.length]}_${hex(2)}`;
      if (!this.byName.has(n)) return n;
    }
  }

  argv(c: ContainerRecord): string[] {
    return [...(c.config.Entrypoint ?? []), ...(c.config.Cmd ?? [])];
  }

  /** `POST /containers/{id}/start`: 304 when running. */
  start(idOrName: string): void {
    const c = this.find(idOrName);
    if (c.state.status === 'running') throw notModified();
    c.state = { status: 'running', pid: this.nextPid++, exitCode: 0, startedAt: nowNano(), finishedAt: c.state.finishedAt };
    this.emitContainer(c, 'start');
    const run = this.program(this.argv(c));
    for (const out of run.output ?? []) this.appendLog(c, out.stream === 'stderr' ? 2 : 1, out.text);
    if (run.exitCode !== undefined) {
      const code = run.exitCode;
      // The process ends after the start call has answered, as a real one does.
      c.exitTimer = setTimeout(() => {
        c.exitTimer = undefined;
        if (c.state.status === 'running' && this.containers.get(c.id) === c) this.exit(c, code);
      }, run.afterMs ?? 0);
      c.exitTimer.unref?.();
    }
  }

  private exit(c: ContainerRecord, code: number): void {
    if (c.exitTimer) clearTimeout(c.exitTimer);
    c.exitTimer = undefined;
    const execDuration = String(Math.max(0, Math.round(Number(nowNano() - c.state.startedAt) / 1e9)));
    c.state = { ...c.state, status: 'exited', pid: 0, exitCode: code, finishedAt: nowNano() };
    this.emitContainer(c, 'die', { execDuration, exitCode: String(code) });
    for (const follow of c.followers) follow(null);
    c.followers.clear();
  }

  /** Ends a running container as if its process exited with `code` (tests and benches). */
  exitContainer(idOrName: string, code: number): void {
    const c = this.find(idOrName);
    if (c.state.status === 'running') this.exit(c, code);
  }

  /** `POST /containers/{id}/stop`: 304 when not running. */
  stop(idOrName: string): void {
    const c = this.find(idOrName);
    if (c.state.status !== 'running') throw notModified();
    this.emitContainer(c, 'kill', { signal: '15' });
    this.exit(c, this.stopExitCode);
    this.emitContainer(c, 'stop');
  }

  /** `POST /containers/{id}/kill`: 409 when not running. */
  kill(idOrName: string, signal: string): void {
    const c = this.find(idOrName);
    const number = signalNumber(signal);
    if (number === undefined) throw badRequest(`Invalid signal: ${signal}`);
    if (c.state.status !== 'running') throw conflict(`Cannot kill container: ${idOrName}: container ${c.id} is not running`);
    this.emitContainer(c, 'kill', { signal: String(number) });
    // Hollow processes honour every fatal signal; SIGHUP-style signals to a shell would not end it in Docker either.
    if (![0, 1, 10, 12, 17, 18, 28].includes(number)) this.exit(c, 128 + number);
  }

  /** `DELETE /containers/{id}`: 409 for a running container without force. */
  remove(idOrName: string, force: boolean): void {
    const c = this.find(idOrName);
    if (c.state.status === 'running') {
      if (!force) throw conflict(`cannot remove container "/${c.name}": container is running: stop the container before removing or force remove`);
      this.emitContainer(c, 'kill', { signal: '9' });
      this.exit(c, 137);
    }
    this.containers.delete(c.id);
    this.byName.delete(c.name);
    for (const follow of c.followers) follow(null);
    this.emitContainer(c, 'destroy');
  }

  /**
   * `POST /containers/{id}/update`, as Docker 20.10: the body's limits are checked as at create
   * (400); then a change that conflicts with what the container has set refuses the whole update
   * (409, nothing applied); otherwise the fields given (non-zero, as Docker reads them) replace the
   * HostConfig's. Docker answers `Warnings: null` when it has none.
   */
  update(idOrName: string, body: unknown, apiVersion: string): { Warnings: string[] | null } {
    const c = this.find(idOrName);
    if (body !== undefined && (typeof body !== 'object' || body === null || Array.isArray(body))) {
      throw badRequest(`json: cannot unmarshal ${Array.isArray(body) ? 'array' : typeof body} into Go value of type container.UpdateConfig`);
    }
    const b = (body ?? {}) as Json;
    const field = (name: string) => int(b[name], `UpdateConfig.${name}`);
    const text = (name: string): string => {
      const value = b[name];
      if (value === undefined || value === null) return '';
      if (typeof value !== 'string') throw badRequest(`json: cannot unmarshal ${typeof value} into Go struct field UpdateConfig.${name} of type string`);
      return value;
    };
    const [memory, memorySwap, memoryReservation, nanoCpus, cpuShares, cpuPeriod, cpuQuota, blkioWeight] = ['Memory', 'MemorySwap', 'MemoryReservation', 'NanoCpus', 'CpuShares', 'CpuPeriod', 'CpuQuota', 'BlkioWeight'].map(field);
    const [cpusetCpus, cpusetMems] = [text('CpusetCpus'), text('CpusetMems')];
    // Both 0 and -1 (any negative) mean unlimited; clients before API 1.40 cannot set it.
    const pids = b.PidsLimit === undefined || b.PidsLimit === null || compareVersions(apiVersion, '1.40') < 0 ? undefined : Math.max(0, field('PidsLimit'));
    const restart = (typeof b.RestartPolicy === 'object' && b.RestartPolicy !== null ? b.RestartPolicy : {}) as Json;
    const restartName = typeof restart.Name === 'string' ? restart.Name : '';
    const retries = int(restart.MaximumRetryCount, 'UpdateConfig.RestartPolicy.MaximumRetryCount');

    // Docker's validateRestartPolicy, then verifyPlatformContainerResources, in their order.
    if (['always', 'unless-stopped', 'no'].includes(restartName) && retries !== 0) throw badRequest(`maximum retry count cannot be used with restart policy '${restartName}'`);
    if (restartName === 'on-failure' && retries < 0) throw badRequest('maximum retry count cannot be negative');
    if (!['', 'no', 'always', 'unless-stopped', 'on-failure'].includes(restartName)) throw badRequest(`invalid restart policy '${restartName}'`);
    const minMemory = 6 * 1024 * 1024;
    if (memory !== 0 && memory < minMemory) throw badRequest('Minimum memory limit allowed is 6MB');
    if (memory > 0 && memorySwap > 0 && memorySwap < memory) throw badRequest('Minimum memoryswap limit should be larger than memory limit, see usage');
    if (memoryReservation > 0 && memoryReservation < minMemory) throw badRequest('Minimum memory reservation allowed is 6MB');
    if (memory > 0 && memoryReservation > 0 && memory < memoryReservation) throw badRequest('Minimum memory limit can not be less than memory reservation limit, see usage');
    if (nanoCpus > 0 && cpuPeriod > 0) throw badRequest('Conflicting options: Nano CPUs and CPU Period cannot both be set');
    if (nanoCpus > 0 && cpuQuota > 0) throw badRequest('Conflicting options: Nano CPUs and CPU Quota cannot both be set');
    if (nanoCpus < 0 || nanoCpus > this.cpus * 1e9) throw badRequest(`Range of CPUs is from 0.01 to ${this.cpus}.00, as there are only ${this.cpus} CPUs available`);
    if (cpuPeriod !== 0 && (cpuPeriod < 1000 || cpuPeriod > 1_000_000)) throw badRequest('CPU cfs period can not be less than 1ms (i.e. 1000) or larger than 1s (i.e. 1000000)');
    if (cpuQuota > 0 && cpuQuota < 1000) throw badRequest('CPU cfs quota can not be less than 1ms (i.e. 1000)');
    const online = this.cpus === 1 ? '0' : `0-${this.cpus - 1}`;
    const cpuset = cpuList(cpusetCpus);
    if (typeof cpuset === 'string') throw badRequest(`Invalid value ${cpusetCpus} for cpuset cpus: ${cpuset}`);
    if (cpuset.some((n) => n >= this.cpus)) throw badRequest(`Requested CPUs are not available - requested ${cpusetCpus}, available: ${online}`);
    const mems = cpuList(cpusetMems);
    if (typeof mems === 'string') throw badRequest(`Invalid value ${cpusetMems} for cpuset mems: ${mems}`);
    if (mems.some((n) => n > 0)) throw badRequest(`Requested memory nodes are not available - requested ${cpusetMems}, available: 0`);
    if (blkioWeight > 0 && (blkioWeight < 10 || blkioWeight > 1000)) throw badRequest('Range of blkio weight is from 10 to 1000');

    // Docker's Container.UpdateContainer: what conflicts with the settings already there.
    const h = c.hostConfig;
    const current = (name: string) => (typeof h[name] === 'number' ? (h[name] as number) : 0);
    const refuse = (why: string) => conflict(`Cannot update container ${c.id}: ${why}`);
    if (nanoCpus > 0 && current('CpuPeriod') > 0) throw refuse('Conflicting options: Nano CPUs cannot be updated as CPU Period has already been set');
    if (nanoCpus > 0 && current('CpuQuota') > 0) throw refuse('Conflicting options: Nano CPUs cannot be updated as CPU Quota has already been set');
    if (cpuPeriod > 0 && current('NanoCpus') > 0) throw refuse('Conflicting options: CPU Period cannot be updated as NanoCPUs has already been set');
    if (cpuQuota > 0 && current('NanoCpus') > 0) throw refuse('Conflicting options: CPU Quota cannot be updated as NanoCPUs has already been set');
    // A container without a memory limit has MemorySwap 0, so raising Memory alone is refused too (as Docker does).
    if (memory !== 0 && memory > current('MemorySwap') && memorySwap === 0) throw refuse('Memory limit should be smaller than already set memoryswap limit, update the memoryswap at the same time');
    if (restartName !== '' && h.AutoRemove === true && restartName !== 'no') throw refuse('Restart policy cannot be updated because AutoRemove is enabled for the container');

    const numbers: Array<[string, number]> = [['BlkioWeight', blkioWeight], ['CpuShares', cpuShares], ['NanoCpus', nanoCpus], ['CpuPeriod', cpuPeriod], ['CpuQuota', cpuQuota], ['Memory', memory], ['MemorySwap', memorySwap], ['MemoryReservation', memoryReservation]];
    for (const [name, value] of numbers) if (value !== 0) h[name] = value;
    if (cpusetCpus !== '') h.CpusetCpus = cpusetCpus;
    if (cpusetMems !== '') h.CpusetMems = cpusetMems;
    if (pids !== undefined) h.PidsLimit = pids;
    if (restartName !== '') h.RestartPolicy = { Name: restartName, MaximumRetryCount: retries };
    this.emitContainer(c, 'update');
    return { Warnings: null };
  }

  /** Adds output to a container's log (tests and benches); `stream` 1 stdout, 2 stderr. */
  appendLog(target: string | ContainerRecord, stream: 1 | 2, text: string | Buffer): void {
    const c = typeof target === 'string' ? this.find(target) : target;
    // One entry per line, as Docker's json-file driver keeps them.
    for (const line of (Buffer.isBuffer(text) ? text.toString('utf8') : text).split(/(?<=\n)/)) {
      if (line === '') continue;
      const entry: LogEntry = { stream, timeNano: nowNano(), data: Buffer.from(line) };
      c.logs.push(entry);
      c.logBytes += entry.data.length;
      while (c.logBytes > this.maxLogBytes && c.logs.length > 1) c.logBytes -= c.logs.shift()!.data.length;
      for (const follow of c.followers) follow(entry);
    }
  }

  /** `GET /containers/json`. */
  list(all: boolean, filters: Record<string, string[]>): Json[] {
    const now = Date.now();
    const out: Json[] = [];
    // Docker resolves each ancestor to an image once; one it cannot resolve matches nothing.
    const ancestors = new Set((filters.ancestor ?? []).map((ref) => this.findImage(ref)?.id));
    for (const c of this.containers.values()) {
      if (!all && c.state.status !== 'running' && !filters.status) continue;
      if (!matchesContainerFilters(c, filters, ancestors)) continue;
      const argv = this.argv(c);
      out.push({
        Id: c.id,
        Names: [`/${c.name}`],
        Image: this.listedImage(c),
        ImageID: c.image.id,
        Command: argv.join(' '),
        Created: Number(c.created / 1_000_000_000n),
        Ports: [],
        Labels: c.config.Labels,
        State: c.state.status,
        Status: statusText(c, now),
        HostConfig: { NetworkMode: c.hostConfig.NetworkMode },
        NetworkSettings: { Networks: this.networkSettings(c).Networks },
        Mounts: [],
      });
    }
    // Newest first, as Docker.
    return out.reverse();
  }

  /** The image as the create named it while that name still finds the container's image, else its ID (Docker's refreshImage). */
  private listedImage(c: ContainerRecord): string {
    // A tag is on one image at most: still on this one, it still finds it (no lookup per container).
    if (c.imageRef === c.image.id || c.image.repoTags.includes(c.imageRef)) return c.imageRef;
    return this.findImage(c.imageRef)?.id === c.image.id ? c.imageRef : c.image.id;
  }

  private networkSettings(c: ContainerRecord): { Networks: Record<string, Json> } & Json {
    const mode = c.hostConfig.NetworkMode === 'default' ? 'bridge' : c.hostConfig.NetworkMode;
    const running = c.state.status === 'running';
    const net = this.networks.find((n) => n.name === mode);
    const endpoint: Json = {
      IPAMConfig: null,
      Links: null,
      Aliases: null,
      MacAddress: '',
      DriverOpts: null,
      NetworkID: net?.id ?? '',
      EndpointID: running ? createHash('sha256').update(`ep:${c.id}`).digest('hex') : '',
      Gateway: '',
      IPAddress: '',
      IPPrefixLen: 0,
      IPv6Gateway: '',
      GlobalIPv6Address: '',
      GlobalIPv6PrefixLen: 0,
      DNSNames: null,
    };
    return {
      Bridge: '',
      SandboxID: running ? createHash('sha256').update(`sb:${c.id}`).digest('hex') : '',
      SandboxKey: running ? `/var/run/docker/netns/${c.id.slice(0, 12)}` : '',
      Ports: {},
      HairpinMode: false,
      LinkLocalIPv6Address: '',
      LinkLocalIPv6PrefixLen: 0,
      SecondaryIPAddresses: null,
      SecondaryIPv6Addresses: null,
      EndpointID: '',
      Gateway: '',
      GlobalIPv6Address: '',
      GlobalIPv6PrefixLen: 0,
      IPAddress: '',
      IPPrefixLen: 0,
      IPv6Gateway: '',
      MacAddress: '',
      Networks: mode.startsWith('container:') ? {} : { [mode]: endpoint },
    };
  }

  /** `GET /containers/{id}/json`. */
  inspect(idOrName: string): Json {
    const c = this.find(idOrName);
    const argv = this.argv(c);
    const s = c.state;
    const root = `/var/lib/docker/containers/${c.id}`;
    return {
      Id: c.id,
      Created: rfc3339Nano(c.created),
      Path: argv[0] ?? '',
      Args: argv.slice(1),
      State: {
        Status: s.status,
        Running: s.status === 'running',
        Paused: false,
        Restarting: false,
        OOMKilled: false,
        Dead: false,
        Pid: s.pid,
        ExitCode: s.exitCode,
        Error: '',
        StartedAt: rfc3339Nano(s.startedAt),
        FinishedAt: rfc3339Nano(s.finishedAt),
      },
      Image: c.image.id,
      ResolvConfPath: `${root}/resolv.conf`,
      HostnamePath: `${root}/hostname`,
      HostsPath: `${root}/hosts`,
      LogPath: `${root}/${c.id}-json.log`,
      Name: `/${c.name}`,
      RestartCount: c.restartCount,
      Driver: 'overlay2',
      Platform: 'linux',
      MountLabel: '',
      ProcessLabel: '',
      AppArmorProfile: '',
      ExecIDs: null,
      HostConfig: c.hostConfig,
      GraphDriver: { Data: null, Name: 'overlay2' },
      Mounts: [],
      Config: c.config,
      NetworkSettings: this.networkSettings(c),
    };
  }

  /**
   * One sample of `GET /containers/{id}/stats` at `at` (ns), as Docker writes it on cgroup v2,
   * made up from the container's age: about 1% of one CPU, 5 MiB of memory of which 1 MiB page
   * cache. `previous` is the sample before (its CPU figures become `precpu_stats`). A container
   * that is not running gets Docker's empty sample: zero times and zeros.
   */
  stats(c: ContainerRecord, previous: Json | undefined, at: bigint = nowNano()): Json {
    const throttling = { periods: 0, throttled_periods: 0, throttled_time: 0 };
    const noCpu = { cpu_usage: { total_usage: 0, usage_in_kernelmode: 0, usage_in_usermode: 0 }, throttling_data: throttling };
    const blkio = (entries: Json[] | null) => ({ io_service_bytes_recursive: entries, io_serviced_recursive: null, io_queue_recursive: null, io_service_time_recursive: null, io_wait_time_recursive: null, io_merged_recursive: null, io_time_recursive: null, sectors_recursive: null });
    if (c.state.status !== 'running') {
      return { read: zeroTime, preread: zeroTime, pids_stats: {}, blkio_stats: blkio(null), num_procs: 0, storage_stats: {}, cpu_stats: noCpu, precpu_stats: noCpu, memory_stats: {}, name: `/${c.name}`, id: c.id };
    }
    const sinceStartNs = Number(at - c.state.startedAt);
    // 10 ms at the start, so a sample a second before it still has less.
    const total = Math.max(0, Math.round(10_000_000 + sinceStartNs / 100));
    const upMs = Math.max(0, sinceStartNs / 1e6);
    const memory = this.memoryLimit(c);
    const mode = c.hostConfig.NetworkMode === 'default' ? 'bridge' : c.hostConfig.NetworkMode;
    const rx = 1_000 + Math.floor(upMs / 10);
    const tx = 500 + Math.floor(upMs / 20);
    return {
      read: rfc3339Nano(at),
      preread: typeof previous?.read === 'string' ? previous.read : zeroTime,
      pids_stats: { current: 1 },
      blkio_stats: blkio([{ major: 8, minor: 0, op: 'read', value: 4096 }, { major: 8, minor: 0, op: 'write', value: 0 }]),
      num_procs: 0,
      storage_stats: {},
      cpu_stats: { cpu_usage: { total_usage: total, usage_in_kernelmode: Math.floor(total / 4), usage_in_usermode: total - Math.floor(total / 4) }, system_cpu_usage: Number(at / 1_000_000n) * 1_000_000 * this.cpus, online_cpus: this.cpus, throttling_data: throttling },
      precpu_stats: previous?.cpu_stats ?? noCpu,
      memory_stats: { usage: 5 * 1024 * 1024, stats: { active_anon: 0, active_file: 0, anon: 4 * 1024 * 1024, file: 1024 * 1024, inactive_anon: 4 * 1024 * 1024, inactive_file: 1024 * 1024, shmem: 0, unevictable: 0 }, limit: memory },
      name: `/${c.name}`,
      id: c.id,
      // Docker leaves networks out for a container without one.
      ...(mode === 'none' || mode === 'host' ? {} : { networks: { eth0: { rx_bytes: rx, rx_packets: Math.ceil(rx / 100), rx_errors: 0, rx_dropped: 0, tx_bytes: tx, tx_packets: Math.ceil(tx / 100), tx_errors: 0, tx_dropped: 0 } } }),
    };
  }

  /** The container's memory limit, or the host's memory without one (as Docker reports it in stats). */
  private memoryLimit(c: ContainerRecord): number {
    const limit = c.hostConfig.Memory;
    return typeof limit === 'number' && limit > 0 ? limit : this.memoryBytes;
  }

  /** `GET /info`. */
  info(): Json {
    let running = 0;
    let stopped = 0;
    for (const c of this.containers.values()) c.state.status === 'running' ? running++ : stopped++;
    return {
      ID: this.id,
      Containers: this.containers.size,
      ContainersRunning: running,
      ContainersPaused: 0,
      ContainersStopped: stopped,
      Images: this.images.size,
      Driver: 'overlay2',
      DriverStatus: [['Backing Filesystem', 'extfs'], ['Supports d_type', 'true'], ['Using metacopy', 'false'], ['Native Overlay Diff', 'true'], ['userxattr', 'false']],
      Plugins: { Volume: ['local'], Network: ['bridge', 'host', 'ipvlan', 'macvlan', 'null', 'overlay'], Authorization: null, Log: ['awslogs', 'fluentd', 'gcplogs', 'gelf', 'journald', 'json-file', 'local', 'splunk', 'syslog'] },
      MemoryLimit: true,
      SwapLimit: true,
      CpuCfsPeriod: true,
      CpuCfsQuota: true,
      CPUShares: true,
      CPUSet: true,
      PidsLimit: true,
      IPv4Forwarding: true,
      BridgeNfIptables: false,
      BridgeNfIp6tables: false,
      Debug: false,
      NFd: 24,
      OomKillDisable: false,
      NGoroutines: 42,
      SystemTime: rfc3339Nano(nowNano()),
      LoggingDriver: 'json-file',
      CgroupDriver: 'systemd',
      CgroupVersion: '2',
      NEventsListener: this.listeners.size,
      KernelVersion: '6.1.0-hollow',
      OperatingSystem: 'Hollow Linux',
      OSVersion: '12',
      OSType: 'linux',
      Architecture: 'x86_64',
      IndexServerAddress: 'https://index.docker.io/v1/',
      RegistryConfig: { AllowNondistributableArtifactsCIDRs: null, AllowNondistributableArtifactsHostnames: null, InsecureRegistryCIDRs: ['127.0.0.0/8'], IndexConfigs: { 'docker.io': { Name: 'docker.io', Mirrors: [], Secure: true, Official: true } }, Mirrors: null },
      NCPU: this.cpus,
      MemTotal: this.memoryBytes,
      GenericResources: null,
      DockerRootDir: '/var/lib/docker',
      HttpProxy: '',
      HttpsProxy: '',
      NoProxy: '',
      Name: this.name,
      Labels: Object.entries(this.labels).map(([k, v]) => `${k}=${v}`),
      ExperimentalBuild: false,
      ServerVersion: this.serverVersion,
      Runtimes: { 'io.containerd.runc.v2': { path: 'runc', status: { 'org.opencontainers.runtime-spec.features': '{}' } }, runc: { path: 'runc', status: { 'org.opencontainers.runtime-spec.features': '{}' } } },
      DefaultRuntime: 'runc',
      Swarm: { NodeID: '', NodeAddr: '', LocalNodeState: 'inactive', ControlAvailable: false, Error: '', RemoteManagers: null },
      LiveRestoreEnabled: false,
      Isolation: '',
      InitBinary: 'docker-init',
      ContainerdCommit: { ID: 'hollow' },
      RuncCommit: { ID: 'hollow' },
      InitCommit: { ID: 'hollow' },
      SecurityOptions: ['name=seccomp,profile=builtin', 'name=cgroupns'],
      Warnings: null,
    };
  }

  /** `GET /version`. */
  version(): Json {
    return {
      Platform: { Name: 'Hollow Docker Engine' },
      Components: [{ Name: 'Engine', Version: this.serverVersion, Details: { ApiVersion: this.apiVersion, Arch: 'amd64', BuildTime: '2024-01-01T00:00:00.000000000+00:00', Experimental: 'false', GitCommit: 'hollow', GoVersion: 'go1.22.0', KernelVersion: '6.1.0-hollow', MinAPIVersion: this.minApiVersion, Os: 'linux' } }],
      Version: this.serverVersion,
      ApiVersion: this.apiVersion,
      MinAPIVersion: this.minApiVersion,
      GitCommit: 'hollow',
      GoVersion: 'go1.22.0',
      Os: 'linux',
      Arch: 'amd64',
      KernelVersion: '6.1.0-hollow',
      BuildTime: '2024-01-01T00:00:00.000000000+00:00',
    };
  }

  /** Stops exit timers and ends log followers (the engine is going away). */
  dispose(): void {
    for (const c of this.containers.values()) {
      if (c.exitTimer) clearTimeout(c.exitTimer);
      for (const follow of c.followers) follow(null);
      c.followers.clear();
    }
    this.listeners.clear();
  }
}

export function compareVersions(a: string, b: string): number {
  const [x1, y1] = a.split('.').map(Number);
  const [x2, y2] = b.split('.').map(Number);
  return x1 - x2 || y1 - y2;
}

function statusText(c: ContainerRecord, now: number): string {
  const s = c.state;
  const ago = (ns: bigint) => humanDuration(Math.max(0, now - Number(ns / 1_000_000n)));
  if (s.status === 'running') return `Up ${ago(s.startedAt)}`;
  if (s.status === 'exited') return `Exited (${s.exitCode}) ${ago(s.finishedAt)} ago`;
  return 'Created';
}

function matchesContainerFilters(c: ContainerRecord, filters: Record<string, string[]>, ancestors: Set<string | undefined>): boolean {
  for (const [key, values] of Object.entries(filters)) {
    if (values.length === 0) continue;
    const ok = values.some((v) => {
      switch (key) {
        case 'id':
          return c.id.startsWith(v);
        case 'name':
          return c.name.includes(v.replace(/^\//, ''));
        case 'status':
          return c.state.status === v;
        case 'label': {
          const eq = v.indexOf('=');
          return eq < 0 ? v in c.config.Labels : c.config.Labels[v.slice(0, eq)] === v.slice(eq + 1);
        }
        case 'ancestor':
          return ancestors.has(c.image.id);
        case 'network':
          return c.hostConfig.NetworkMode === v;
        default:
          return true;
      }
    });
    if (!ok) return false;
  }
  return true;
}

const signals: Record<string, number> = { HUP: 1, INT: 2, QUIT: 3, ILL: 4, TRAP: 5, ABRT: 6, BUS: 7, FPE: 8, KILL: 9, USR1: 10, SEGV: 11, USR2: 12, PIPE: 13, ALRM: 14, TERM: 15, CHLD: 17, CONT: 18, STOP: 19, TSTP: 20, TTIN: 21, TTOU: 22, WINCH: 28 };

/** `SIGKILL`, `KILL` or `9` → 9; undefined when Docker would refuse it. */
export function signalNumber(signal: string): number | undefined {
  if (signal === '') return 9;
  if (/^\d+$/.test(signal)) {
    const n = Number(signal);
    return n >= 1 && n <= 64 ? n : undefined;
  }
  return signals[signal.toUpperCase().replace(/^SIG/, '')];
}

export { DockerApiError };
