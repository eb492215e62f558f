import { Container, EngineInfo, Image, Network, Volume } from '@flotilla/proto';
import type { Snapshot, SnapshotPart, WatchResponse } from '@flotilla/proto/agent';

type WatchMessage = NonNullable<WatchResponse['message']>;

/**
 * Most bytes one encoded WatchResponse of a snapshot may take. The contract keeps every Watch
 * message under 1 MiB; 1 KiB of headroom is left for the gRPC frame and anything counted loosely.
 */
export const maxWatchMessageBytes = 1024 * 1024 - 1024;

/*
 * The size of a message is bounded from its items' encoded sizes, which is exact up to the length
 * prefixes: a WatchResponse is `sequence` (1 tag byte + at most 10 varint bytes) and the oneof field
 * (1 tag byte + at most 5 length bytes), whose body is the engine and each item as a field (1 tag
 * byte, every field number is under 16, + at most 5 length bytes + the item) and `more` (2 bytes).
 * Each bound is the most the encoding can use, so the sum is an upper bound of the real size.
 */
const envelopeBytes = 1 + 10 + 1 + 5 + 2;
const fieldOverhead = 1 + 5;

interface Encoder<T> {
  encode(message: T): { finish(): Uint8Array };
}

// Items in the monitor's model are replaced, never changed, when the engine changes: their sizes
// can be remembered, so a watcher joining a big engine costs no re-encoding.
const sizes = new WeakMap<object, number>();

function encodedSize<T extends object>(item: T, type: Encoder<T>): number {
  let size = sizes.get(item);
  if (size === undefined) sizes.set(item, (size = type.encode(item).finish().length));
  return size;
}

export type SnapshotItemKind = 'container' | 'image' | 'network' | 'volume';

export interface SplitOptions {
  maxBytes?: number;
  /** Told about an item too large for any message; the item is left out, never sent whole. */
  onOversized?(kind: SnapshotItemKind, key: string, bytes: number): void;
}

type Items = Pick<SnapshotPart, 'containers' | 'images' | 'networks' | 'volumes'>;

function emptyItems(): Items {
  return { containers: [], images: [], networks: [], volumes: [] };
}

/**
 * The Watch messages of one snapshot: a Snapshot with the engine and the first items, then
 * SnapshotParts with the rest, each under `maxBytes` encoded (with any sequence number), `more`
 * set on every message but the last. A snapshot that fits in one message is one Snapshot, as before.
 * Items keep their order: containers, images, networks, volumes.
 */
export function snapshotMessages(snapshot: Omit<Snapshot, 'more'>, options: SplitOptions = {}): WatchMessage[] {
  const maxBytes = options.maxBytes ?? maxWatchMessageBytes;
  const engineBytes = snapshot.engine ? fieldOverhead + encodedSize(snapshot.engine, EngineInfo) : 0;
  if (envelopeBytes + engineBytes > maxBytes) throw new Error(`the engine's own information takes ${engineBytes} bytes, more than a Watch message may`);

  const messages: Items[] = [emptyItems()];
  let used = envelopeBytes + engineBytes;
  const place = <T extends object>(kind: SnapshotItemKind, item: T, type: Encoder<T>, key: string, into: (items: Items) => T[]) => {
    const bytes = fieldOverhead + encodedSize(item, type);
    if (envelopeBytes + bytes > maxBytes) {
      options.onOversized?.(kind, key, bytes);
      return;
    }
    if (used + bytes > maxBytes) {
      messages.push(emptyItems());
      used = envelopeBytes;
    }
    into(messages[messages.length - 1]).push(item);
    used += bytes;
  };
  for (const c of snapshot.containers) place('container', c, Container, c.id, (m) => m.containers);
  for (const i of snapshot.images) place('image', i, Image, i.id, (m) => m.images);
  for (const n of snapshot.networks) place('network', n, Network, n.id, (m) => m.networks);
  for (const v of snapshot.volumes) place('volume', v, Volume, v.name, (m) => m.volumes);

  return messages.map((items, i): WatchMessage => {
    const more = i < messages.length - 1;
    return i === 0 ? { $case: 'snapshot', value: { engine: snapshot.engine, ...items, more } } : { $case: 'snapshotPart', value: { ...items, more } };
  });
}
