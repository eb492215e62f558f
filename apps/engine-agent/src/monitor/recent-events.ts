import { createHash } from 'node:crypto';
import type { DockerEvent } from '@flotilla/proto';

/**
 * An event's identity: everything Docker writes in it. Two deliveries of one event (a `since`
 * replay) have the same key; two distinct events differ in at least one field — often only in an
 * attribute, e.g. two containers joining one network in the same nanosecond. Hashed, because an
 * event's attributes carry a container's labels and can be large.
 */
export function eventKey(e: DockerEvent): string {
  const attributes = Object.entries(e.actorAttributes ?? {}).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return createHash('sha256')
    .update(JSON.stringify([e.type, e.action, e.actorId, e.scope, e.timeNano, attributes]))
    .digest('base64');
}

/** Docker keeps (and replays) its last 256 events; this remembers many more than that. */
export const defaultRecentEvents = 4096;

/** The keys of the last `capacity` events seen, oldest forgotten first. */
export class RecentEvents {
  private readonly keys = new Set<string>();

  constructor(readonly capacity = defaultRecentEvents) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError(`capacity must be a positive integer, not ${capacity}`);
  }

  get size(): number {
    return this.keys.size;
  }

  /** Remembers the event; false if it was already remembered (a repeat). */
  add(event: DockerEvent): boolean {
    const key = eventKey(event);
    if (this.keys.has(key)) return false;
    this.keys.add(key);
    // A Set iterates in insertion order: the first key is the oldest.
    if (this.keys.size > this.capacity) this.keys.delete(this.keys.values().next().value!);
    return true;
  }
}
