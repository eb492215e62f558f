import type { Container, PortBinding } from '@flotilla/proto';

/**
 * Distinct strings a pool holds. A cluster's containers repeat few values (B2: about 30 across
 * 300,000 containers; a real cluster: its images, commands, label values and states, hundreds to a
 * few thousand), so this is far above what sharing needs, and it bounds what values seen only
 * once (a unique label value, a container's own status) can cost: at most 20,000 map entries and
 * their strings, ≤ 5 MiB with `defaultMaxPooledChars`, well under 1 % of the manager's memory at
 * 10,000 engines. Reaching it empties the pool (see `intern`).
 */
export const defaultMaxPooledStrings = 20_000;
/**
 * Longest string pooled. Repeated values are short (an image reference, a "sha256:" image ID of
 * 71 characters, a command word, a label); a longer string is kept as decoded, so a few values of
 * megabytes cannot fill the pool's memory.
 */
export const defaultMaxPooledChars = 256;

/**
 * One copy of each string that many containers repeat. Each string an agent's message decodes is
 * a fresh copy: at 10,000 engines of 30 containers the same image, image ID, command, state and
 * labels were held 300,000 times over. Values a container keeps are taken through `intern`, so
 * equal values share one string. Bounded in entries and in the length of what it holds.
 */
export class StringPool {
  private readonly strings = new Map<string, string>();

  constructor(
    readonly maxEntries = defaultMaxPooledStrings,
    readonly maxChars = defaultMaxPooledChars,
  ) {}

  /**
   * The pool's string equal to `value` (`value` itself when the pool takes it now, or when it is
   * longer than `maxChars`). A full pool is emptied before it takes a new value: the strings it
   * gave out stay shared where they are, and the values in use come back into it as they recur.
   */
  intern(value: string): string {
    if (value.length > this.maxChars) return value;
    const held = this.strings.get(value);
    if (held !== undefined) return held;
    if (this.strings.size >= this.maxEntries) this.strings.clear();
    this.strings.set(value, value);
    return value;
  }

  /** Distinct strings held now, for tests and metrics. */
  get size(): number {
    return this.strings.size;
  }
}

/**
 * The container as an engine keeps it: equal to `c` field by field, with the strings containers
 * repeat taken from `pool` and each list exactly as long as it is (a decoded list is grown one
 * push at a time, with room for 17 items: 152 bytes for one name). The container's ID, names and
 * times are its own and are kept as they are.
 */
export function pooledContainer(c: Container, pool: StringPool): Container {
  const s = (value: string) => pool.intern(value);
  const labels: Record<string, string> = {};
  for (const [key, value] of Object.entries(c.labels)) labels[s(key)] = s(value);
  return {
    id: c.id,
    names: c.names.slice(),
    image: s(c.image),
    imageId: s(c.imageId),
    command: c.command.map(s),
    state: s(c.state),
    status: s(c.status),
    labels,
    nanoCpus: s(c.nanoCpus),
    cpuShares: s(c.cpuShares),
    memoryBytes: s(c.memoryBytes),
    portBindings: c.portBindings.map((p): PortBinding => ({ ...p, hostIp: s(p.hostIp), protocol: s(p.protocol) })),
    networkMode: s(c.networkMode),
    created: c.created,
    exitCode: c.exitCode,
    startedAt: c.startedAt,
    finishedAt: c.finishedAt,
    restartPolicy: s(c.restartPolicy),
  };
}
