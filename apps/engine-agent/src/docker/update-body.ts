import type { ResourceChange } from '@flotilla/policy';
import type { DockerUpdateBody } from './docker-backend';

/**
 * Docker's update body for a checked change: only the fields that change (a field sent as 0
 * means "none" to some Docker versions). Docker refuses a memory limit above the container's
 * current memory+swap unless both change, so a memory limit given alone brings the swap along,
 * keeping its kind (`current` is the container's HostConfig): unlimited stays unlimited, none
 * stays none, and Docker's default (twice the memory, also for a container made without a limit)
 * follows the new limit. An explicit memory+swap is left as it is, for Docker to judge.
 */
export function updateBodyFrom(change: ResourceChange, current?: { Memory?: number; MemorySwap?: number }): DockerUpdateBody {
  const body: DockerUpdateBody = {
    NanoCpus: change.nanoCpus,
    Memory: change.memoryBytes,
    CpuShares: change.cpuShares,
    CpuQuota: change.cpuQuota,
    CpuPeriod: change.cpuPeriod,
    CpusetCpus: change.cpusetCpus,
    MemoryReservation: change.memoryReservationBytes,
    MemorySwap: change.memorySwapBytes ?? (change.memoryBytes === undefined ? undefined : swapFollowing(current, change.memoryBytes)),
    PidsLimit: change.pidsLimit,
    RestartPolicy: change.restartPolicy && { Name: change.restartPolicy.name, MaximumRetryCount: change.restartPolicy.maximumRetryCount },
  };
  for (const key of Object.keys(body) as Array<keyof DockerUpdateBody>) if (body[key] === undefined) delete body[key];
  return body;
}

function swapFollowing(current: { Memory?: number; MemorySwap?: number } | undefined, memory: number): number | undefined {
  const oldMemory = Number(current?.Memory) || 0;
  const swap = Number(current?.MemorySwap) || 0;
  if (swap === -1) return -1;
  if (swap === 0 || swap === 2 * oldMemory) return 2 * memory;
  if (swap === oldMemory) return memory;
  return undefined;
}
