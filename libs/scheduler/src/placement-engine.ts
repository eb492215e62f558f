/** A requested host port, as the port filter sees it. */
export interface HostPortRequest {
  hostPort: number;
  protocol: string;
  hostIp: string;
  /** `port/protocol`, computed once per request rather than per engine. */
  key?: string;
}

/**
 * What the scheduler reads of an engine. The cluster keeps these as running aggregates and
 * indexes, updated as containers come and go, so a decision never scans containers.
 * Reservations include stopped containers and containers being created.
 */
export interface PlacementEngine {
  readonly id: string;
  readonly name: string;
  /** The engine-agent's address, host:port. */
  readonly address: string;
  /** The engine's IP, when it reports one; `node==` otherwise uses the host of `address` if it is an IP. */
  readonly ip?: string;
  readonly labels: Readonly<Record<string, string>>;
  /** 0 to 100; 0 unless the engine is healthy (never placed); the strategies prefer higher. */
  healthScore(): number;
  /**
   * The engine's health in the cluster's one word ("healthy", "flapping", "unhealthy", ...) with
   * what lowered it, for explanations; engines that do not say are "not healthy" at 0.
   */
  healthText?(): string;
  /** Total CPUs in units of 1e-9 CPUs, and bytes of memory, before overcommit. */
  readonly totalNanoCpus: number;
  readonly totalMemoryBytes: number;
  readonly reservedNanoCpus: number;
  readonly reservedMemoryBytes: number;
  readonly containerCount: number;
  /** Host IPs bound to a host port (key `port/protocol`), by containers in any state or being created. */
  hostPortUsers(key: string): readonly string[] | undefined;
  /** Whether the engine holds a container with this ID, ID prefix (12+) or name. */
  hasContainer(ref: string): boolean;
  /** Whether the engine holds a volume with this name. */
  hasVolume(name: string): boolean;
  /** Whether the engine holds a network with this name or ID. */
  hasNetwork(ref: string): boolean;
  /** Whether the engine holds this image (by ID, ID prefix, or repo:tag; a bare repo means :latest). */
  hasImage(ref: string): boolean;
  /** Image IDs and repo:tags on the engine, for image affinities with globs. */
  imageRefs(): Iterable<string>;
  /** Distinct values of a container label on the engine, for affinities. */
  containerLabelValues(key: string): Iterable<string>;
  /** Names and IDs of containers, for affinities such as `container==web*`. */
  containerRefs(): Iterable<string>;
}

export function portKey(hostPort: number, protocol: string): string {
  return `${hostPort}/${protocol || 'tcp'}`;
}
