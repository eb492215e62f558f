import { existsSync, lstatSync, unlinkSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { badRequest, DockerApiError, notFound } from './docker-error';
import { compareVersions, HollowEngine, nowNano, rfc3339Nano, signalNumber, type HollowEngineConfig, type HollowEvent, type LogEntry } from './engine';

/** Makes requests fail: an HTTP error with Docker's body, or a dropped connection. */
export interface FailureRule {
  /**
   * Which requests: a RegExp or a glob (`*` any characters) tested against `METHOD /path` with the
   * version prefix and query removed, e.g. `POST /containers/* /start` (no space) or `GET /info`.
   * A glob without a method matches any method. Default: every request.
   */
  match?: string | RegExp;
  /** Status to answer. Default 500. */
  status?: number;
  /** Docker's `message`. Default: "hollow engine: injected failure". */
  message?: string;
  /** How many requests fail before the rule is spent. Default: unlimited. */
  times?: number;
  /** Chance each matching request fails (0–1). Default 1. */
  probability?: number;
  /** Destroy the connection without answering (an engine that died mid-call). */
  drop?: boolean;
}

export interface HollowDockerOptions extends HollowEngineConfig {
  /** Listen on this unix socket (a stale socket file there is replaced). */
  socketPath?: string;
  /** Otherwise listen on host:port; default 127.0.0.1 and a free port. */
  host?: string;
  port?: number;
  /** Delay before each request is answered, in ms (a function may vary it per route). */
  latencyMs?: number | ((route: string) => number);
  /** Failure rules in force from the start. */
  failures?: FailureRule[];
  /** Largest request body read, in bytes; past it 413. Default 1 MiB. */
  maxBodyBytes?: number;
  /** Most event streams open at once; past it 503. Default 256. */
  maxEventStreams?: number;
  /** An event stream or a log follower whose reader lags this many bytes behind is closed. Default 4 MiB. */
  maxEventBacklogBytes?: number;
  /** A pull of a reference for which this returns a message fails inside the progress stream, as a registry error does. */
  pullStreamError?: (reference: string) => string | undefined;
  /** Random source for `probability` rules (tests). */
  random?: () => number;
}

interface Ctx {
  req: IncomingMessage;
  res: ServerResponse;
  path: string;
  params: string[];
  query: URLSearchParams;
  body: unknown;
  apiVersion: string;
}

type Handler = (ctx: Ctx) => unknown;

interface Route {
  method: string;
  name: string;
  re: RegExp;
  handler: Handler;
}

/** A JSON answer with a status other than 200. */
class Reply {
  constructor(
    readonly status: number,
    readonly json: unknown,
  ) {}
}

/** Marks a handler that wrote the response itself (streams). */
const handled = Symbol('handled');

const defaultMessage = 'hollow engine: injected failure';

function globToRegExp(glob: string): RegExp {
  const escaped = glob.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*');
  return /^[A-Z]+ /.test(glob) ? new RegExp(`^${escaped}$`) : new RegExp(`^[A-Z]+ ${escaped}$`);
}

function bool(value: string | null): boolean {
  return value === '1' || value === 'true' || value === 'True';
}

/** Docker's `filters` query: `{"key":["v"]}` or the old `{"key":{"v":true}}`. */
export function parseFilters(text: string | null): Record<string, string[]> {
  if (!text) return {};
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    throw badRequest(`invalid filter: ${text}`);
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw badRequest(`invalid filter: ${text}`);
  const out: Record<string, string[]> = {};
  for (const [key, value] of Object.entries(raw)) {
    if (Array.isArray(value)) out[key] = value.map(String);
    else if (typeof value === 'object' && value !== null) out[key] = Object.keys(value).filter((k) => (value as Record<string, unknown>)[k]);
    else throw badRequest(`invalid filter: ${text}`);
  }
  return out;
}

/** Docker's time parameters: Unix seconds with an optional fraction, RFC 3339, or a duration back from now (`10m`). */
export function parseDockerTime(text: string | null, field: string): bigint | undefined {
  if (text === null || text === '') return undefined;
  const unix = /^(\d+)(?:\.(\d{1,9}))?$/.exec(text);
  if (unix) return BigInt(unix[1]) * 1_000_000_000n + BigInt((unix[2] ?? '').padEnd(9, '0'));
  const duration = /^(\d+(?:\.\d+)?)(ns|us|ms|s|m|h)$/.exec(text);
  if (duration) {
    const scale: Record<string, number> = { ns: 1, us: 1e3, ms: 1e6, s: 1e9, m: 60e9, h: 3600e9 };
    return BigInt(Date.now()) * 1_000_000n - BigInt(Math.round(Number(duration[1]) * scale[duration[2]]));
  }
  const ms = Date.parse(text);
  if (Number.isNaN(ms)) throw badRequest(`invalid value for ${field}: ${text}`);
  const frac = /\.(\d+)/.exec(text)?.[1] ?? '';
  return BigInt(Math.floor(ms / 1000)) * 1_000_000_000n + BigInt(frac.slice(0, 9).padEnd(9, '0'));
}

function eventMatches(e: HollowEvent, filters: Record<string, string[]>): boolean {
  for (const [key, values] of Object.entries(filters)) {
    if (values.length === 0) continue;
    const ok = values.some((v) => {
      switch (key) {
        case 'type':
          return e.type === v;
        case 'event':
          return e.action === v;
        case 'container':
          return e.type === 'container' && (e.actorId === v || e.actorId.startsWith(v) || e.attributes.name === v);
        case 'image':
          return e.attributes.image === v || (e.type === 'image' && e.actorId === v);
        case 'label': {
          const eq = v.indexOf('=');
          return eq < 0 ? v in e.attributes : e.attributes[v.slice(0, eq)] === v.slice(eq + 1);
        }
        case 'scope':
          return v === 'local';
        default:
          return true;
      }
    });
    if (!ok) return false;
  }
  return true;
}

/** One log frame as Docker writes it: multiplexed (8-byte header) unless the container has a TTY. */
function logFrame(entry: LogEntry, tty: boolean, timestamps: boolean): Buffer {
  const data = timestamps ? Buffer.concat([Buffer.from(`${rfc3339Nano(entry.timeNano)} `), entry.data]) : entry.data;
  if (tty) return data;
  const header = Buffer.alloc(8);
  header[0] = entry.stream;
  header.writeUInt32BE(data.length, 4);
  return Buffer.concat([header, data]);
}

/**
 * A hollow Docker engine served over HTTP: the Docker Engine API endpoints an engine-agent (or any
 * Docker client) uses, answered from memory (`HollowEngine`), with latency and failure injection.
 * One `http.Server` and a few maps each, so thousands fit in a process.
 */
export class HollowDockerServer {
  readonly engine: HollowEngine;
  /** `unix:///path` or `tcp://127.0.0.1:port`, for `--docker-host` / DOCKER_HOST. */
  dockerHost = '';
  socketPath: string | undefined;
  port: number | undefined;
  /** Requests answered, by route (`GET /containers/{id}/json`), for benches. */
  readonly requestCounts = new Map<string, number>();
  private readonly server: Server;
  private readonly routes: Route[];
  private readonly rules: Array<FailureRule & { re: RegExp }> = [];
  private readonly sockets = new Set<Socket>();
  private readonly eventStreams = new Set<ServerResponse>();
  private reachable = true;
  private latency: number | ((route: string) => number);
  private closed = false;

  private constructor(private readonly options: HollowDockerOptions) {
    this.engine = new HollowEngine(options);
    this.latency = options.latencyMs ?? 0;
    for (const rule of options.failures ?? []) this.injectFailure(rule);
    this.routes = this.makeRoutes();
    this.server = createServer({ keepAlive: true }, (req, res) => {
      this.handle(req, res).catch((err: unknown) => this.fail(res, err));
    });
    this.server.on('connection', (socket: Socket) => {
      if (!this.reachable) {
        socket.destroy();
        return;
      }
      this.sockets.add(socket);
      socket.once('close', () => this.sockets.delete(socket));
    });
    // Event streams and followed logs are long-lived: no request timeout.
    this.server.requestTimeout = 0;
    this.server.keepAliveTimeout = 30_000;
  }

  /** Starts a hollow engine listening on `socketPath` or on `host:port`. */
  static async start(options: HollowDockerOptions = {}): Promise<HollowDockerServer> {
    const s = new HollowDockerServer(options);
    await s.listen();
    return s;
  }

  private listen(): Promise<void> {
    const { socketPath } = this.options;
    if (socketPath) {
      if (Buffer.byteLength(socketPath) > 107) throw new Error(`unix socket path is longer than 107 bytes: ${socketPath}`);
      if (existsSync(socketPath) && lstatSync(socketPath).isSocket()) unlinkSync(socketPath);
    }
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      const done = () => {
        this.server.off('error', reject);
        if (socketPath) {
          this.socketPath = socketPath;
          this.dockerHost = `unix://${socketPath}`;
        } else {
          const address = this.server.address() as AddressInfo;
          this.port = address.port;
          this.dockerHost = `tcp://${address.address}:${address.port}`;
        }
        resolve();
      };
      if (socketPath) this.server.listen(socketPath, done);
      else this.server.listen(this.options.port ?? 0, this.options.host ?? '127.0.0.1', done);
    });
  }

  // ---- control ----

  /** Adds a failure rule; returns a function that removes it. */
  injectFailure(rule: FailureRule): () => void {
    const re = rule.match === undefined ? /.*/ : typeof rule.match === 'string' ? globToRegExp(rule.match) : rule.match;
    const entry = { ...rule, re };
    this.rules.push(entry);
    return () => {
      const i = this.rules.indexOf(entry);
      if (i >= 0) this.rules.splice(i, 1);
    };
  }

  /** The next request matching `match` fails with `status` (Docker's error body). */
  failNext(match: string | RegExp, status = 500, message?: string): void {
    this.injectFailure({ match, status, message, times: 1 });
  }

  clearFailures(): void {
    this.rules.length = 0;
  }

  setLatency(latencyMs: number | ((route: string) => number)): void {
    this.latency = latencyMs;
  }

  /**
   * Unreachable: every open connection (event streams too) is destroyed and new ones are closed at
   * once, as when dockerd dies; reachable again: answers as before, with its state kept.
   */
  setReachable(reachable: boolean): void {
    this.reachable = reachable;
    if (!reachable) {
      for (const socket of this.sockets) socket.destroy();
      this.sockets.clear();
    }
  }

  get eventStreamCount(): number {
    return this.eventStreams.size;
  }

  /** Stops listening, ends every stream and connection. Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.engine.dispose();
    const closing = new Promise<void>((resolve) => this.server.close(() => resolve()));
    for (const socket of this.sockets) socket.destroy();
    this.server.closeAllConnections();
    await closing;
  }

  // ---- HTTP ----

  private headers(extra: Record<string, string> = {}): Record<string, string> {
    return {
      'Api-Version': this.engine.apiVersion,
      'Docker-Experimental': 'false',
      Ostype: 'linux',
      Server: `Docker/${this.engine.serverVersion} (linux)`,
      ...extra,
    };
  }

  private fail(res: ServerResponse, err: unknown): void {
    if (res.headersSent) {
      res.destroy();
      return;
    }
    const status = err instanceof DockerApiError ? err.status : 500;
    const message = err instanceof Error ? err.message : String(err);
    if (status === 304) {
      res.writeHead(304, this.headers());
      res.end();
      return;
    }
    res.writeHead(status, this.headers({ 'Content-Type': 'application/json' }));
    res.end(JSON.stringify({ message }) + '\n');
  }

  private readBody(req: IncomingMessage): Promise<Buffer> {
    const limit = this.options.maxBodyBytes ?? 1024 * 1024;
    const declared = Number(req.headers['content-length'] ?? 0);
    if (declared > limit) {
      req.resume();
      return Promise.reject(new DockerApiError(413, `request body of ${declared} bytes is over the hollow engine's limit of ${limit}`));
    }
    return new Promise((resolve, reject) => {
      const chunks: Buffer[] = [];
      let size = 0;
      req.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size > limit) {
          req.destroy();
          reject(new DockerApiError(413, `request body is over the hollow engine's limit of ${limit} bytes`));
          return;
        }
        chunks.push(chunk);
      });
      req.on('end', () => resolve(Buffer.concat(chunks)));
      req.on('error', reject);
    });
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://hollow');
    let path = url.pathname;
    let apiVersion = this.engine.apiVersion;
    const versioned = /^\/v(\d+\.\d+)(\/.*)$/.exec(path);
    if (versioned) {
      apiVersion = versioned[1];
      path = versioned[2];
    }
    const method = req.method === 'HEAD' && path === '/_ping' ? 'GET' : (req.method ?? 'GET');
    const raw = await this.readBody(req);
    const routeText = `${method} ${path}`;

    const delay = typeof this.latency === 'function' ? this.latency(routeText) : this.latency;
    if (delay > 0) await new Promise((resolve) => setTimeout(resolve, delay));
    if (this.closed || !this.reachable) {
      res.destroy();
      return;
    }

    for (const rule of this.rules) {
      if (!rule.re.test(routeText)) continue;
      if (rule.probability !== undefined && (this.options.random ?? Math.random)() >= rule.probability) continue;
      if (rule.times !== undefined && --rule.times <= 0) this.rules.splice(this.rules.indexOf(rule), 1);
      if (rule.drop) {
        req.socket.destroy();
        return;
      }
      throw new DockerApiError(rule.status ?? 500, rule.message ?? defaultMessage);
    }

    if (versioned) {
      if (compareVersions(apiVersion, this.engine.apiVersion) > 0) throw badRequest(`client version ${apiVersion} is too new. Maximum supported API version is ${this.engine.apiVersion}`);
      if (compareVersions(apiVersion, this.engine.minApiVersion) < 0) throw badRequest(`client version ${apiVersion} is too old. Minimum supported API version is ${this.engine.minApiVersion}, please upgrade your client to a newer version`);
    }

    let body: unknown;
    if (raw.length > 0) {
      try {
        body = JSON.parse(raw.toString('utf8'));
      } catch (err) {
        throw badRequest(`invalid JSON: ${(err as Error).message}`);
      }
    }

    for (const route of this.routes) {
      if (route.method !== method) continue;
      const m = route.re.exec(path);
      if (!m) continue;
      this.requestCounts.set(route.name, (this.requestCounts.get(route.name) ?? 0) + 1);
      const params = m.slice(1).map((p) => decodeURIComponent(p));
      const result = await route.handler({ req, res, path, params, query: url.searchParams, body, apiVersion });
      if (result === handled) return;
      if (result === undefined) {
        res.writeHead(204, this.headers());
        res.end();
        return;
      }
      const status = result instanceof Reply ? result.status : 200;
      const json = result instanceof Reply ? result.json : result;
      if (json === undefined) {
        // A status without a body (201 of an image tag), as Docker writes it.
        res.writeHead(status, this.headers());
        res.end();
        return;
      }
      if (typeof json === 'string') {
        res.writeHead(status, this.headers({ 'Content-Type': 'text/plain; charset=utf-8', 'Cache-Control': 'no-cache, no-store, must-revalidate', Pragma: 'no-cache' }));
        res.end(req.method === 'HEAD' ? undefined : json);
        return;
      }
      res.writeHead(status, this.headers({ 'Content-Type': 'application/json' }));
      res.end(JSON.stringify(json) + '\n');
      return;
    }
    throw notFound('page not found');
  }

  private makeRoutes(): Route[] {
    const e = this.engine;
    const id = '([^/]+)';
    const r = (method: string, name: string, pattern: string, handler: Handler): Route => ({ method, name: `${method} ${name}`, re: new RegExp(`^${pattern}/?$`), handler });
    return [
      r('GET', '/_ping', '/_ping', () => 'OK'),
      r('GET', '/version', '/version', () => e.version()),
      r('GET', '/info', '/info', () => e.info()),
      r('GET', '/containers/json', '/containers/json', (c) => e.list(bool(c.query.get('all')), parseFilters(c.query.get('filters')))),
      r('POST', '/containers/create', '/containers/create', (c) => new Reply(201, e.create(c.query.get('name') ?? undefined, c.body, c.apiVersion))),
      r('GET', '/containers/{id}/json', `/containers/${id}/json`, (c) => e.inspect(c.params[0])),
      r('POST', '/containers/{id}/start', `/containers/${id}/start`, (c) => void e.start(c.params[0])),
      r('POST', '/containers/{id}/stop', `/containers/${id}/stop`, (c) => void e.stop(c.params[0])),
      r('POST', '/containers/{id}/restart', `/containers/${id}/restart`, (c) => {
        try {
          e.stop(c.params[0]);
        } catch (err) {
          if (!(err instanceof DockerApiError && err.status === 304)) throw err;
        }
        e.start(c.params[0]);
      }),
      r('POST', '/containers/{id}/kill', `/containers/${id}/kill`, (c) => void e.kill(c.params[0], c.query.get('signal') ?? 'KILL')),
      r('POST', '/containers/{id}/wait', `/containers/${id}/wait`, (c) => this.wait(c)),
      r('DELETE', '/containers/{id}', `/containers/${id}`, (c) => void e.remove(c.params[0], bool(c.query.get('force')))),
      r('GET', '/containers/{id}/logs', `/containers/${id}/logs`, (c) => this.logs(c)),
      r('GET', '/containers/{id}/stats', `/containers/${id}/stats`, (c) => this.stats(c)),
      r('POST', '/containers/{id}/update', `/containers/${id}/update`, (c) => e.update(c.params[0], c.body, c.apiVersion)),
      r('GET', '/images/json', '/images/json', (c) => e.listImages(c.apiVersion)),
      r('POST', '/images/create', '/images/create', (c) => this.pull(c)),
      // An image name may hold slashes (`registry.local:5000/team/app:v1`): Docker's router takes
      // everything between `/images/` and the action, and so do these.
      r('GET', '/images/{name}/json', '/images/(.+)/json', (c) => e.inspectImage(c.params[0], c.apiVersion)),
      r('POST', '/images/{name}/tag', '/images/(.+)/tag', (c) => {
        e.tagImage(c.params[0], c.query.get('repo') ?? '', c.query.get('tag') ?? '');
        return new Reply(201, undefined);
      }),
      // `noprune` changes nothing: hollow images have no parent images to prune.
      r('DELETE', '/images/{name}', '/images/(.+?)', (c) => e.removeImage(c.params[0], bool(c.query.get('force')))),
      r('GET', '/networks', '/networks', () => e.listNetworks()),
      r('GET', '/networks/{id}', `/networks/${id}`, (c) => e.inspectNetwork(c.params[0])),
      r('GET', '/volumes', '/volumes', () => ({ Volumes: [], Warnings: null })),
      r('GET', '/volumes/{name}', `/volumes/${id}`, (c) => {
        throw notFound(`get ${c.params[0]}: no such volume`);
      }),
      r('GET', '/events', '/events', (c) => this.events(c)),
    ];
  }

  private events(c: Ctx): typeof handled {
    const since = parseDockerTime(c.query.get('since'), 'since');
    const until = parseDockerTime(c.query.get('until'), 'until');
    const filters = parseFilters(c.query.get('filters'));
    if (this.eventStreams.size >= (this.options.maxEventStreams ?? 256)) throw new DockerApiError(503, 'hollow engine: too many event streams open');
    const res = c.res;
    res.writeHead(200, this.headers({ 'Content-Type': 'application/json' }));
    res.flushHeaders();
    if (since !== undefined || until !== undefined) {
      for (const event of this.engine.replay(since ?? 0n, until)) if (eventMatches(event, filters)) res.write(event.line + '\n');
    }
    if (until !== undefined && until <= nowNano()) {
      res.end();
      return handled;
    }
    const backlog = this.options.maxEventBacklogBytes ?? 4 * 1024 * 1024;
    const unsubscribe = this.engine.subscribe((event) => {
      if (!eventMatches(event, filters)) return;
      if (until !== undefined && event.timeNano > until) return;
      if (res.writableLength > backlog) {
        res.destroy();
        return;
      }
      res.write(event.line + '\n');
    });
    let timer: NodeJS.Timeout | undefined;
    if (until !== undefined) {
      timer = setTimeout(() => res.end(), Math.max(0, Number((until - nowNano()) / 1_000_000n)) + 1);
    }
    this.eventStreams.add(res);
    res.once('close', () => {
      unsubscribe();
      if (timer) clearTimeout(timer);
      this.eventStreams.delete(res);
    });
    return handled;
  }

  private logs(c: Ctx): typeof handled {
    const q = c.query;
    const stdout = bool(q.get('stdout'));
    const stderr = bool(q.get('stderr'));
    if (!stdout && !stderr) throw badRequest('Bad parameters: you must choose at least one stream');
    const container = this.engine.find(c.params[0]);
    const since = parseDockerTime(q.get('since') === '0' ? null : q.get('since'), 'since');
    const until = parseDockerTime(q.get('until') === '0' ? null : q.get('until'), 'until');
    const tailText = q.get('tail') ?? 'all';
    const tail = tailText === 'all' || tailText === '' || Number(tailText) < 0 ? Infinity : Number(tailText);
    if (Number.isNaN(tail)) throw badRequest(`invalid tail value: ${tailText}`);
    const timestamps = bool(q.get('timestamps'));
    const tty = container.config.Tty;
    const wanted = (entry: LogEntry) => (entry.stream === 1 ? stdout : stderr) && (since === undefined || entry.timeNano >= since) && (until === undefined || entry.timeNano <= until);
    const res = c.res;
    const multiplexed = compareVersions(c.apiVersion, '1.42') >= 0 ? 'application/vnd.docker.multiplexed-stream' : 'application/vnd.docker.raw-stream';
    res.writeHead(200, this.headers({ 'Content-Type': tty ? 'application/vnd.docker.raw-stream' : multiplexed }));
    res.flushHeaders();
    const past = container.logs.filter(wanted);
    for (const entry of tail === Infinity ? past : past.slice(Math.max(0, past.length - tail))) res.write(logFrame(entry, tty, timestamps));
    if (!bool(q.get('follow')) || container.state.status !== 'running') {
      res.end();
      return handled;
    }
    const follower = (entry: LogEntry | null) => {
      if (entry === null) {
        container.followers.delete(follower);
        res.end();
      } else if (wanted(entry)) {
        res.write(logFrame(entry, tty, timestamps));
        // A follower that stopped reading is cut off, as an events reader is: nothing buffers without bound.
        if (res.writableLength > (this.options.maxEventBacklogBytes ?? 4 * 1024 * 1024)) {
          container.followers.delete(follower);
          res.destroy();
        }
      }
    };
    container.followers.add(follower);
    res.once('close', () => container.followers.delete(follower));
    return handled;
  }

  /**
   * Docker's stats: `stream` (default true) a sample now and one every second, for as long as
   * the reader stays (zeros while the container is not running, as Docker does), ending when the
   * container is removed; otherwise one sample, its CPU figures primed with one a second before
   * (without the wait Docker has), or not with `one-shot`.
   */
  private stats(c: Ctx): typeof handled {
    const container = this.engine.find(c.params[0]);
    // Docker's BoolValueOrDefault: absent or empty is the default; "0", "no", "false", "none" are false.
    const text = c.query.get('stream')?.trim().toLowerCase() ?? '';
    const stream = text === '' || !['0', 'no', 'false', 'none'].includes(text);
    const res = c.res;
    res.writeHead(200, this.headers({ 'Content-Type': 'application/json' }));
    if (!stream) {
      const now = nowNano();
      const primed = bool(c.query.get('one-shot')) ? undefined : this.engine.stats(container, undefined, now - 1_000_000_000n);
      res.end(JSON.stringify(this.engine.stats(container, primed, now)) + '\n');
      return handled;
    }
    res.flushHeaders();
    let previous: Record<string, unknown> | undefined;
    const sample = (): void => {
      previous = this.engine.stats(container, previous);
      res.write(JSON.stringify(previous) + '\n');
      if (res.writableLength > (this.options.maxEventBacklogBytes ?? 4 * 1024 * 1024)) res.destroy();
    };
    const timer = setInterval(sample, 1000);
    const unsubscribe = this.engine.subscribe((event) => {
      if (event.actorId !== container.id || event.action !== 'destroy') return;
      stop();
      res.end();
    });
    const stop = (): void => {
      clearInterval(timer);
      unsubscribe();
    };
    res.once('close', stop);
    sample();
    return handled;
  }

  private async wait(c: Ctx): Promise<unknown> {
    const container = this.engine.find(c.params[0]);
    if (container.state.status === 'running') {
      await new Promise<void>((resolve) => {
        const unsubscribe = this.engine.subscribe((event) => {
          if (event.actorId === container.id && (event.action === 'die' || event.action === 'destroy')) {
            unsubscribe();
            resolve();
          }
        });
        c.res.once('close', () => {
          unsubscribe();
          resolve();
        });
      });
    }
    return { StatusCode: container.state.exitCode, Error: null };
  }

  private pull(c: Ctx): typeof handled {
    const fromImage = c.query.get('fromImage');
    if (!fromImage) throw badRequest('hollow engine: only pulls (fromImage) are supported');
    let tag = c.query.get('tag') ?? undefined;
    if (tag === '') tag = undefined;
    const reference = this.engine.checkPull(fromImage, tag && !fromImage.includes('@') ? tag : undefined);
    const res = c.res;
    res.writeHead(200, this.headers({ 'Content-Type': 'application/json' }));
    const [repo, version] = reference.split(/:(?=[^/:]*$)/);
    const layer = Buffer.from(reference).toString('hex').padEnd(12, '0').slice(0, 12);
    res.write(JSON.stringify({ status: `Pulling from ${repo.includes('/') ? repo : `library/${repo}`}`, id: version ?? 'latest' }) + '\n');
    const failure = this.options.pullStreamError?.(reference);
    if (failure) {
      res.end(JSON.stringify({ errorDetail: { message: failure }, error: failure }) + '\n');
      return handled;
    }
    const image = this.engine.completePull(reference);
    const lines = [
      { status: 'Pulling fs layer', progressDetail: {}, id: layer },
      { status: 'Downloading', progressDetail: { current: 2_130_000, total: 4_261_550 }, progress: '[=========================>                         ]  2.13MB/4.262MB', id: layer },
      { status: 'Download complete', progressDetail: {}, id: layer },
      { status: 'Extracting', progressDetail: { current: 4_261_550, total: 4_261_550 }, progress: '[==================================================>]  4.262MB/4.262MB', id: layer },
      { status: 'Pull complete', progressDetail: {}, id: layer },
      { status: `Digest: ${image.repoDigests[0]?.replace(/^.*@/, '') ?? ''}` },
      { status: `Status: Downloaded newer image for ${reference}` },
    ];
    res.end(lines.map((l) => JSON.stringify(l) + '\n').join(''));
    return handled;
  }
}

/** Starts one hollow Docker engine; see `HollowDockerServer`. */
export function startHollowDocker(options: HollowDockerOptions = {}): Promise<HollowDockerServer> {
  return HollowDockerServer.start(options);
}

export { signalNumber };
