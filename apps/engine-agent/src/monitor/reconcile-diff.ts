import { Container, Image, Network, Volume, type DockerEvent } from '@flotilla/proto';

/*
 * The pieces of the monitor's periodic reconcile that need no engine: comparing what the model
 * holds with what Docker lists, and the event a correction carries.
 */

/** The reconcile interval when none is given (classic Swarm refreshed its engines as often). */
export const defaultReconcileIntervalMs = 30_000;

/** The action of the event a reconcile correction carries, so a receiver can tell it from Docker's. */
export const reconcileAction = 'reconcile';

type Kind = 'container' | 'image' | 'network' | 'volume';

function bytes(kind: Kind, item: Container | Image | Network | Volume): Buffer {
  switch (kind) {
    // A container's status text ("Up 5 minutes") changes with the clock alone; it is no difference.
    case 'container':
      return Buffer.from(Container.encode({ ...(item as Container), status: '' }).finish());
    case 'image':
      return Buffer.from(Image.encode(item as Image).finish());
    case 'network':
      return Buffer.from(Network.encode(item as Network).finish());
    case 'volume':
      return Buffer.from(Volume.encode(item as Volume).finish());
  }
}

/** True when two items of a kind say the same (as they would on the wire). */
export function sameItem<T extends Container | Image | Network | Volume>(kind: Kind, a: T, b: T): boolean {
  return bytes(kind, a).equals(bytes(kind, b));
}

export interface Difference<T> {
  key: string;
  /** What the model holds; undefined when it lacks the item. */
  was: T | undefined;
  /** What the engine holds; undefined when the item is gone. */
  now: T | undefined;
}

/** The items that differ between the model and a fresh list of the engine's, by key. */
export function differences<T extends Container | Image | Network | Volume>(kind: Kind, model: ReadonlyMap<string, T>, engine: ReadonlyMap<string, T>): Array<Difference<T>> {
  const out: Array<Difference<T>> = [];
  for (const [key, now] of engine) {
    const was = model.get(key);
    if (!was || !sameItem(kind, was, now)) out.push({ key, was, now });
  }
  for (const [key, was] of model) if (!engine.has(key)) out.push({ key, was, now: undefined });
  return out;
}

/** What was wrong, for the log line of a correction. */
export function whatWasWrong(d: Difference<unknown>): string {
  if (!d.was) return 'missing from the model';
  if (!d.now) return 'gone from the engine but still in the model';
  return 'out of date in the model';
}

/** The event a correction carries: a removal needs the actor's ID on the receiving side. */
export function reconcileEvent(type: Kind, actorId: string, wrong: string, nowMs: number): DockerEvent {
  return { type, action: reconcileAction, actorId, actorAttributes: { reason: wrong }, scope: 'local', timeNano: String(BigInt(Math.max(0, Math.floor(nowMs))) * 1_000_000n) };
}
