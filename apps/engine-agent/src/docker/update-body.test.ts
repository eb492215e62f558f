import { updateBodyFrom } from './update-body';

const MiB = 1024 * 1024;

describe('updateBodyFrom', () => {
  it('sends only what changes, in Docker names', () => {
    expect(updateBodyFrom({ pidsLimit: -1, cpusetCpus: '0', restartPolicy: { name: 'always', maximumRetryCount: 0 } })).toEqual({ PidsLimit: -1, CpusetCpus: '0', RestartPolicy: { Name: 'always', MaximumRetryCount: 0 } });
  });

  it.each([
    ['a container made without a limit: Docker default, twice the memory', { Memory: 0, MemorySwap: 0 }, 128 * MiB],
    ['Docker default before: follows the new limit', { Memory: 32 * MiB, MemorySwap: 64 * MiB }, 128 * MiB],
    ['unlimited swap stays unlimited', { Memory: 32 * MiB, MemorySwap: -1 }, -1],
    ['no swap stays none', { Memory: 32 * MiB, MemorySwap: 32 * MiB }, 64 * MiB],
    ['an explicit memory+swap is left to Docker', { Memory: 32 * MiB, MemorySwap: 40 * MiB }, undefined],
  ])('brings the swap along with a memory limit given alone: %s', (_why, current, swap) => {
    expect(updateBodyFrom({ memoryBytes: 64 * MiB }, current).MemorySwap).toBe(swap);
  });

  it('keeps a memory+swap the caller gave', () => {
    expect(updateBodyFrom({ memoryBytes: 64 * MiB, memorySwapBytes: -1 }, { Memory: 0, MemorySwap: 0 })).toEqual({ Memory: 64 * MiB, MemorySwap: -1 });
  });
});
