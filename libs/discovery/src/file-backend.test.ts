import * as fs from 'node:fs';
import * as path from 'node:path';
import { makeTempDir, removeTempDir, waitFor } from '@flotilla/testing';
import type { DiscoveryUpdate } from './backend';
import { nodeFileAccess, type FileAccess } from './file-access';
import { FileBackend } from './file-backend';
import { MAX_FILE_BYTES } from './limits';
import { SourceState } from './source-state';

// The real file system: edits, atomic renames and deletes as editors and config tools do them.
let dir: string;
const backends: FileBackend[] = [];

beforeEach(() => {
  dir = makeTempDir('flotilla-file-backend-');
});

afterEach(async () => {
  await Promise.all(backends.splice(0).map((b) => b.close()));
  removeTempDir(dir);
});

function watchFile(file: string, options: { rereadIntervalMs?: number; files?: FileAccess } = {}) {
  const backend = new FileBackend({ source: `file://${file}`, path: file, rereadIntervalMs: options.rereadIntervalMs ?? 60_000, files: options.files });
  backends.push(backend);
  const state = new SourceState(backend.source);
  const updates: DiscoveryUpdate[] = [];
  backend.watch((update) => {
    updates.push(update);
    state.apply(update);
  });
  const addresses = (expected: string[], what: string) =>
    waitFor(() => JSON.stringify(state.snapshot().addresses) === JSON.stringify(expected) && state.snapshot().sourceError === '', { what: `${what}: ${expected.join(',')}`, timeoutMs: 10_000 });
  return { backend, state, updates, addresses };
}

it('reads the file, skipping comments and blank lines, and reports bad lines by number', async () => {
  const file = path.join(dir, 'engines');
  fs.writeFileSync(file, '# the engines\n\n127.0.0.1:4250   # first\n127.0.0.1:[4251:4252]\nengine-x:99999\n');
  const { state, addresses } = watchFile(file);
  await addresses(['127.0.0.1:4250', '127.0.0.1:4251', '127.0.0.1:4252'], 'the first read');
  expect(state.snapshot().problems).toEqual([{ position: 'line 5', entry: 'engine-x:99999', error: expect.stringMatching(/port must be 1 to 65535/) }]);
});

it('picks up edits in place promptly, through the directory watch', async () => {
  const file = path.join(dir, 'engines');
  fs.writeFileSync(file, 'a:1\n');
  const { addresses } = watchFile(file);
  await addresses(['a:1'], 'the first read');
  fs.appendFileSync(file, 'b:1\n');
  await addresses(['a:1', 'b:1'], 'an appended line');
  fs.writeFileSync(file, 'b:1\n');
  await addresses(['b:1'], 'a rewritten file');
});

it('picks up atomic renames over the file, as config tools write it', async () => {
  const file = path.join(dir, 'engines');
  fs.writeFileSync(file, 'a:1\n');
  const { addresses } = watchFile(file);
  await addresses(['a:1'], 'the first read');
  for (const [i, content] of ['a:1\nb:1\n', 'c:1\n', 'c:1\nd:[1:2]\n'].entries()) {
    const tmp = path.join(dir, `.engines.${i}.tmp`);
    fs.writeFileSync(tmp, content);
    fs.renameSync(tmp, file);
  }
  await addresses(['c:1', 'd:1', 'd:2'], 'the last rename');
});

it('keeps the last good set while the file is missing or unparseable, and follows it when it is back', async () => {
  const file = path.join(dir, 'engines');
  fs.writeFileSync(file, 'a:1\nb:1\n');
  const { state, addresses } = watchFile(file);
  await addresses(['a:1', 'b:1'], 'the first read');
  const generation = state.snapshot().generation;

  fs.unlinkSync(file);
  await waitFor(() => /cannot read .*engines: the file is missing/.test(state.snapshot().sourceError), { what: 'the missing file to be reported', timeoutMs: 10_000 });
  expect(state.snapshot()).toMatchObject({ addresses: ['a:1', 'b:1'], generation });

  fs.writeFileSync(file, Buffer.from([0, 1, 2, 3, 0xff, 0xfe, 10, 37, 37, 10]));
  await waitFor(() => /has 2 entries and not one usable address/.test(state.snapshot().sourceError), { what: 'the garbage file to be reported', timeoutMs: 10_000 });
  expect(state.snapshot()).toMatchObject({ addresses: ['a:1', 'b:1'], generation });

  fs.writeFileSync(file, 'b:1\nc:1\n');
  await addresses(['b:1', 'c:1'], 'the file back');
  expect(state.snapshot().generation).toBe(generation + 1n);
});

it('empties the set for a file with only comments (that is what it says)', async () => {
  const file = path.join(dir, 'engines');
  fs.writeFileSync(file, 'a:1\n');
  const { addresses } = watchFile(file);
  await addresses(['a:1'], 'the first read');
  fs.writeFileSync(file, '# all engines drained\n');
  await addresses([], 'a file of comments');
});

it('refuses a file larger than the limit', async () => {
  const file = path.join(dir, 'engines');
  fs.writeFileSync(file, 'a:1\n');
  const { state, addresses } = watchFile(file);
  await addresses(['a:1'], 'the first read');
  fs.writeFileSync(file, `a:1\n${'#'.repeat(MAX_FILE_BYTES)}\n`);
  await waitFor(() => /more than the limit of 4194304/.test(state.snapshot().sourceError), { what: 'the large file to be refused', timeoutMs: 10_000 });
  expect(state.snapshot().addresses).toEqual(['a:1']);
});

it('waits for a file whose directory does not exist yet, through the periodic re-read', async () => {
  const file = path.join(dir, 'later', 'engines');
  const { state, addresses } = watchFile(file, { rereadIntervalMs: 100 });
  await waitFor(() => state.snapshot().sourceError !== '', { what: 'the missing file to be reported', timeoutMs: 10_000 });
  fs.mkdirSync(path.dirname(file));
  fs.writeFileSync(file, 'a:1\n');
  await addresses(['a:1'], 'the file created later');
});

it('still follows the file with no directory watch at all, through the periodic re-read', async () => {
  const file = path.join(dir, 'engines');
  fs.writeFileSync(file, 'a:1\n');
  const noWatch: FileAccess = {
    readText: nodeFileAccess.readText,
    watchDirectory: () => {
      throw new Error('watches are not supported here');
    },
  };
  const { addresses } = watchFile(file, { rereadIntervalMs: 100, files: noWatch });
  await addresses(['a:1'], 'the first read');
  fs.writeFileSync(file, 'b:1\n');
  await addresses(['b:1'], 'the edit, by re-reading');
});
