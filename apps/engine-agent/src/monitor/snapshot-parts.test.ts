import fc from 'fast-check';
import { Container, type EngineInfo, type Image } from '@flotilla/proto';
import { WatchResponse, type Snapshot } from '@flotilla/proto/agent';
import { containerFrom, itemCaps, truncatedLabel } from './docker-mapping';
import { maxWatchMessageBytes, snapshotMessages } from './snapshot-parts';

const MiB = 1024 * 1024;
/** The largest sequence number a stream could put on a message, so sizes are measured at their worst. */
const maxSequence = '18446744073709551615';

type Message = NonNullable<WatchResponse['message']>;

function encodedSize(message: Message): number {
  return WatchResponse.encode({ sequence: maxSequence, message }).finish().length;
}

const engine: EngineInfo = {
  id: 'AAAA:BBBB',
  name: 'node1',
  cpus: '4',
  memoryBytes: String(8 * 1024 ** 3),
  labels: { zone: 'a', ostype: 'linux' },
  serverVersion: '24.0.7',
  apiVersion: '1.41',
  engineMaxApiVersion: '1.43',
  operatingSystem: 'Debian',
  kernelVersion: '6.1',
  architecture: 'x86_64',
  storageDriver: 'overlay2',
  systemTime: new Date('2026-11-27T11:00:00Z'),
};

const now = Date.parse('2026-11-27T11:00:05Z');

function inspect(i: number, labels: Record<string, string>) {
  return {
    Id: i.toString(16).padStart(64, '0'),
    Name: `/c-${i}`,
    Created: '2026-11-27T11:00:00Z',
    Path: 'sleep',
    Args: ['300'],
    Image: 'sha256:1',
    State: { Status: 'running', ExitCode: 0, StartedAt: '2026-11-27T11:00:00Z' },
    Config: { Image: 'busybox:local', Labels: labels },
    HostConfig: { NanoCpus: 0, Memory: 0, NetworkMode: 'none' },
  };
}

function snapshotOf(containers: Container[], images: Image[] = []): Snapshot {
  return { engine, containers, images, networks: [], volumes: [], more: false };
}

/** Every item of the messages, in order, and checks of the messages' shape. */
function reassemble(messages: Message[]): Snapshot {
  expect(messages[0].$case).toBe('snapshot');
  const out: Snapshot = { engine: undefined, containers: [], images: [], networks: [], volumes: [], more: false };
  messages.forEach((m, i) => {
    if (i > 0) expect(m.$case).toBe('snapshotPart');
    expect(m.value).toHaveProperty('more', i < messages.length - 1);
    if (m.$case === 'snapshot') out.engine = m.value.engine;
    if (m.$case !== 'snapshot' && m.$case !== 'snapshotPart') throw new Error(`unexpected ${m.$case}`);
    out.containers.push(...m.value.containers);
    out.images.push(...m.value.images);
    out.networks.push(...m.value.networks);
    out.volumes.push(...m.value.volumes);
  });
  return out;
}

describe('snapshotMessages', () => {
  it('keeps a snapshot that fits in one message as one Snapshot without `more`', () => {
    const containers = [1, 2, 3].map((i) => containerFrom(inspect(i, { app: 'web' }), now));
    const messages = snapshotMessages(snapshotOf(containers));
    expect(messages).toHaveLength(1);
    expect(messages[0]).toEqual({ $case: 'snapshot', value: { ...snapshotOf(containers), more: false } });
  });

  it('splits 20,000 containers into a Snapshot and parts, each under 1 MiB, every item once and in order', () => {
    const containers = Array.from({ length: 20_000 }, (_, i) => containerFrom(inspect(i, { app: `web-${i}`, 'com.example.team': 'payments' }), now));
    const images: Image[] = Array.from({ length: 50 }, (_, i) => ({ id: `sha256:${i}`, repoTags: [`app:${i}`], repoDigests: [], sizeBytes: '1', created: undefined, labels: {} }));
    const messages = snapshotMessages(snapshotOf(containers, images));
    const sizes = messages.map(encodedSize);
    expect(messages.length).toBeGreaterThan(2);
    for (const size of sizes) expect(size).toBeLessThan(MiB);
    expect(Math.max(...sizes)).toBeLessThanOrEqual(maxWatchMessageBytes);
    const whole = reassemble(messages);
    expect(whole.engine).toBe(engine);
    expect(whole.containers).toEqual(containers);
    expect(whole.images).toEqual(images);
    // Each part decodes back to what was sent.
    const last = messages[messages.length - 1];
    expect(WatchResponse.decode(WatchResponse.encode({ sequence: '7', message: last }).finish()).message).toEqual(last);
  });

  it('sends 7 containers with 512 KiB of labels each, cut to the label cap and marked, in messages under 1 MiB', () => {
    const big = 'x'.repeat(8 * 1024);
    const labels: Record<string, string> = { app: 'big' };
    for (let i = 0; i < 64; i++) labels[`big.${String(i).padStart(2, '0')}`] = big;
    const containers = Array.from({ length: 7 }, (_, i) => containerFrom(inspect(i, labels), now));
    for (const c of containers) {
      expect(c.labels.app).toBe('big');
      expect(c.labels[truncatedLabel]).toBe('labels');
      const kept = Object.entries(c.labels).filter(([k]) => k !== truncatedLabel);
      expect(kept.reduce((n, [k, v]) => n + k.length + v.length + 16, 0)).toBeLessThanOrEqual(itemCaps.labelBytes);
      expect(kept.length).toBeGreaterThan(1);
    }
    // Seven of them at 64 KiB fit one message; 40 need several.
    const many = Array.from({ length: 40 }, (_, i) => containerFrom(inspect(i, labels), now));
    for (const set of [containers, many]) {
      const messages = snapshotMessages(snapshotOf(set));
      for (const m of messages) expect(encodedSize(m)).toBeLessThan(MiB);
      expect(reassemble(messages).containers.map((c) => c.id)).toEqual(set.map((c) => c.id));
    }
    expect(snapshotMessages(snapshotOf(many)).length).toBeGreaterThan(1);
  });

  it('leaves out an item too large for any message and reports it, never sending it whole', () => {
    const fine = containerFrom(inspect(1, {}), now);
    // Built by hand: the mapping's caps would never let such a container through.
    const huge: Container = { ...containerFrom(inspect(2, {}), now), labels: { blob: 'y'.repeat(2 * MiB) } };
    const reported: Array<[string, string, number]> = [];
    const messages = snapshotMessages(snapshotOf([fine, huge, fine]), { onOversized: (kind, key, bytes) => reported.push([kind, key, bytes]) });
    expect(reported).toEqual([['container', huge.id, expect.any(Number)]]);
    expect(reported[0][2]).toBeGreaterThan(2 * MiB);
    expect(reassemble(messages).containers.map((c) => c.id)).toEqual([fine.id, fine.id]);
    for (const m of messages) expect(encodedSize(m)).toBeLessThan(MiB);
  });

  it('never makes a message over the limit, whatever the item sizes and limit (property)', () => {
    const runs = 200;
    fc.assert(
      fc.property(
        fc.array(fc.record({ labels: fc.nat({ max: 40_000 }), images: fc.boolean() }), { maxLength: 60 }),
        fc.integer({ min: 2_000, max: 200_000 }),
        (items, maxBytes) => {
          const containers: Container[] = [];
          const images: Image[] = [];
          items.forEach((item, i) => {
            if (item.images) images.push({ id: `sha256:${i}`, repoTags: [], repoDigests: [], sizeBytes: '1', created: undefined, labels: { l: 'i'.repeat(item.labels) } });
            else containers.push(containerFrom(inspect(i, { l: 'c'.repeat(item.labels) }), now));
          });
          const dropped: string[] = [];
          const messages = snapshotMessages(snapshotOf(containers, images), { maxBytes, onOversized: (_kind, key) => dropped.push(key) });
          for (const m of messages) expect(encodedSize(m)).toBeLessThanOrEqual(maxBytes);
          const whole = reassemble(messages);
          expect([...whole.containers.map((c) => c.id), ...whole.images.map((i) => i.id)]).toEqual(
            [...containers.map((c) => c.id), ...images.map((i) => i.id)].filter((id) => !dropped.includes(id)),
          );
        },
      ),
      { numRuns: runs },
    );
    console.log(`snapshotMessages size property: ${runs} cases`);
  });
});
