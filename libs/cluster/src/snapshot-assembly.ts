import type { Container, Image, Network, Volume } from '@flotilla/proto';
import type { Snapshot, SnapshotPart } from '@flotilla/proto/agent';
import { listOf } from './agent-input';

export interface SnapshotLimits {
  /** Containers one snapshot may hold. */
  maxContainers: number;
  /** Estimated bytes one snapshot may hold (see `estimateBytes`). */
  maxBytes: number;
}

export const defaultSnapshotLimits: SnapshotLimits = { maxContainers: 100_000, maxBytes: 256 * 1024 * 1024 };

/**
 * What a decoded message holds, roughly as it was on the wire: each string's length plus 8 bytes
 * per value. Counted on the decoded value so it cannot fail on what an encoder would refuse.
 */
export function estimateBytes(value: unknown, depth = 0): number {
  if (typeof value === 'string') return 8 + value.length;
  if (typeof value !== 'object' || value === null || value instanceof Date || depth > 8) return 8;
  let total = 8;
  if (Array.isArray(value)) for (const item of value) total += estimateBytes(item, depth + 1);
  else for (const [key, item] of Object.entries(value)) total += key.length + estimateBytes(item, depth + 1);
  return total;
}

type Items = Pick<SnapshotPart, 'containers' | 'images' | 'networks' | 'volumes'>;

/**
 * A snapshot arriving as a Snapshot and SnapshotParts (see `Snapshot.more`), held until its last
 * part. It stays within its limits: a part that would pass one is refused, and the engine's stream
 * then refuses the engine instead of holding more.
 */
export class SnapshotAssembly {
  private readonly containers: Container[] = [];
  private readonly images: Image[] = [];
  private readonly networks: Network[] = [];
  private readonly volumes: Volume[] = [];
  bytes = 0;
  parts = 0;

  constructor(
    private readonly head: Snapshot,
    private readonly limits: SnapshotLimits,
  ) {}

  /** Adds the head or a part; answers why the snapshot is refused, when it is. */
  add(part: Items | Snapshot): string | undefined {
    this.parts++;
    // Every part costs something, so endless empty parts reach the limit too.
    this.bytes += 64 + estimateBytes(part);
    const containers = listOf(part.containers);
    const who = typeof this.head.engine?.id === 'string' && this.head.engine.id ? `engine ${this.head.engine.id.slice(0, 80)}` : 'the engine';
    if (this.containers.length + containers.length > this.limits.maxContainers) {
      return `${who} sent a snapshot of more than ${this.limits.maxContainers} containers, the most the cluster takes from one engine`;
    }
    if (this.bytes > this.limits.maxBytes) {
      return `${who} sent a snapshot of more than ${this.limits.maxBytes} bytes (after ${this.parts} parts), the most the cluster takes from one engine`;
    }
    for (const c of containers) this.containers.push(c);
    for (const i of listOf(part.images)) this.images.push(i);
    for (const n of listOf(part.networks)) this.networks.push(n);
    for (const v of listOf(part.volumes)) this.volumes.push(v);
    return undefined;
  }

  get containerCount(): number {
    return this.containers.length;
  }

  /** The whole snapshot, once the last part is in. */
  snapshot(): Snapshot {
    return { engine: this.head.engine, containers: this.containers, images: this.images, networks: this.networks, volumes: this.volumes, more: false };
  }
}
