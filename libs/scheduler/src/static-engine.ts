import { portKey, type PlacementEngine } from './placement-engine';
import type { PlacementSource } from './scheduler';

export interface StaticContainer {
  id: string;
  name: string;
  image?: string;
  nanoCpus?: number;
  memoryBytes?: number;
  labels?: Record<string, string>;
  ports?: Array<{ hostPort: number; protocol?: string; hostIp?: string }>;
}

/**
 * A plain in-memory engine for the scheduler's tests and micro-benchmark: it keeps the same
 * aggregates and indexes the cluster does, built from a container list.
 */
export class StaticEngine implements PlacementEngine {
  totalNanoCpus: number;
  totalMemoryBytes: number;
  reservedNanoCpus = 0;
  reservedMemoryBytes = 0;
  health = 100;
  readonly containers: StaticContainer[] = [];
  readonly images = new Set<string>();
  readonly volumes = new Set<string>();
  /** Network names and IDs. */
  readonly networks = new Set<string>();
  private readonly ports = new Map<string, string[]>();

  constructor(
    readonly id: string,
    readonly name: string,
    readonly address: string,
    readonly labels: Record<string, string>,
    resources: { nanoCpus: number; memoryBytes: number },
  ) {
    this.totalNanoCpus = resources.nanoCpus;
    this.totalMemoryBytes = resources.memoryBytes;
  }

  add(c: StaticContainer): this {
    this.containers.push(c);
    this.reservedNanoCpus += c.nanoCpus ?? 0;
    this.reservedMemoryBytes += c.memoryBytes ?? 0;
    if (c.image) this.images.add(c.image);
    for (const p of c.ports ?? []) {
      const key = portKey(p.hostPort, p.protocol ?? 'tcp');
      this.ports.set(key, [...(this.ports.get(key) ?? []), p.hostIp ?? '']);
    }
    return this;
  }

  healthScore(): number {
    return this.health;
  }

  get containerCount(): number {
    return this.containers.length;
  }

  hostPortUsers(key: string): readonly string[] | undefined {
    return this.ports.get(key);
  }

  hasContainer(ref: string): boolean {
    return this.containers.some((c) => c.name === ref || c.id === ref || (ref.length >= 12 && c.id.startsWith(ref)));
  }

  hasVolume(name: string): boolean {
    return this.volumes.has(name);
  }

  hasNetwork(ref: string): boolean {
    return this.networks.has(ref);
  }

  hasImage(ref: string): boolean {
    const want = ref.includes(':') || ref.startsWith('sha256') ? ref : `${ref}:latest`;
    return this.images.has(ref) || this.images.has(want);
  }

  imageRefs(): Iterable<string> {
    return this.images;
  }

  containerLabelValues(key: string): Iterable<string> {
    return new Set(this.containers.map((c) => c.labels?.[key]).filter((v): v is string => v !== undefined));
  }

  containerRefs(): Iterable<string> {
    return this.containers.flatMap((c) => [c.name, c.id]);
  }
}

/** Engines with a label index, as the cluster keeps one. */
export class StaticSource implements PlacementSource {
  private readonly index = new Map<string, StaticEngine[]>();

  constructor(readonly engines: StaticEngine[]) {
    for (const e of engines) {
      for (const [k, v] of Object.entries(e.labels)) {
        const key = `${k.toLowerCase()}=${v.toLowerCase()}`;
        this.index.set(key, [...(this.index.get(key) ?? []), e]);
      }
    }
  }

  all(): readonly StaticEngine[] {
    return this.engines;
  }

  withLabel(key: string, value: string): readonly StaticEngine[] {
    return this.index.get(`${key}=${value}`) ?? [];
  }

  countWithLabel(key: string, value: string): number {
    return this.index.get(`${key}=${value}`)?.length ?? 0;
  }
}
