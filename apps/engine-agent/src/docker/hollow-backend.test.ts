import type { Readable } from 'node:stream';
import { HollowDockerBackend } from './hollow-backend';

/** The actor IDs a `since` subscription replays at once (a PassThrough holds what was written to it). */
async function replayed(backend: HollowDockerBackend, since: string): Promise<string[]> {
  const stream: Readable = await backend.events(since);
  const text = String(stream.read() ?? '');
  stream.destroy();
  return text
    .split('\n')
    .filter(Boolean)
    .map((line) => (JSON.parse(line) as { Actor: { ID: string } }).Actor.ID);
}

function emitVolumes(backend: HollowDockerBackend, n: number): string[] {
  const names = Array.from({ length: n }, (_, i) => `v${i}`);
  for (const name of names) backend.emit('volume', 'create', name);
  return names;
}

describe('HollowDockerBackend event buffer', () => {
  it("keeps dockerd's 256 events for `since` replay by default, the newest", async () => {
    const backend = new HollowDockerBackend({ images: [] });
    const names = emitVolumes(backend, 300);
    expect(await replayed(backend, '0.000000000')).toEqual(names.slice(-256));
  });

  it('keeps no more than eventBufferSize events', async () => {
    const backend = new HollowDockerBackend({ images: [], eventBufferSize: 4 });
    const names = emitVolumes(backend, 10);
    expect(await replayed(backend, '0.000000000')).toEqual(names.slice(-4));
  });

  it('keeps none with eventBufferSize 0, and still streams every event live', async () => {
    const backend = new HollowDockerBackend({ images: [], eventBufferSize: 0 });
    const stream = await backend.events(undefined);
    const names = emitVolumes(backend, 3);
    const live = String(stream.read() ?? '')
      .split('\n')
      .filter(Boolean)
      .map((line) => (JSON.parse(line) as { Actor: { ID: string } }).Actor.ID);
    stream.destroy();
    expect(live).toEqual(names);
    expect(await replayed(backend, '0.000000000')).toEqual([]);
  });

  it('refuses a buffer size that is not a whole number', () => {
    expect(() => new HollowDockerBackend({ eventBufferSize: -1 })).toThrow(RangeError);
    expect(() => new HollowDockerBackend({ eventBufferSize: 1.5 })).toThrow(RangeError);
  });
});
