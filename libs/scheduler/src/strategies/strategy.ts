import type { PlacementEngine } from '../placement-engine';
import type { PlacementRequest } from '../placement-request';

/** An engine that fits, with its weight. */
export interface Weighed {
  engine: PlacementEngine;
  weight: number;
}

export type Fit = { weight: number } | { reason: string };

export interface Strategy {
  readonly name: string;
  /**
   * Whether the best of some of the engines that fit serves as well as the best of all (spread,
   * random), so a decision may stop after `candidates` of them; binpack must see every engine to
   * fill the fullest first.
   */
  readonly sampleable: boolean;
  /** The engine's weight for the request, or why the request does not fit its CPU or memory. */
  weigh(engine: PlacementEngine, request: PlacementRequest, overcommitRatio: number): Fit;
  /** Whether `a` should be chosen over `b`. */
  better(a: Weighed, b: Weighed): boolean;
}

function cpus(nano: number): string {
  return `${+(nano / 1e9).toFixed(3)} CPUs`;
}

function mib(bytes: number): string {
  return `${Math.round(bytes / 1024 / 1024)} MiB`;
}

/**
 * Classic Swarm's weight: cpuScore + memoryScore + f·health, where a score is
 * (reserved + request)·100 / usable (100 when nothing is requested) and must be ≤ 100.
 */
export function weighResources(engine: PlacementEngine, request: PlacementRequest, overcommitRatio: number, healthFactor: number): Fit {
  const fit = resourceFit(engine, request.nanoCpus, request.memoryBytes, overcommitRatio);
  if ('reason' in fit) return fit;
  return { weight: fit.cpuScore + fit.memoryScore + healthFactor * engine.healthScore() };
}

/**
 * Whether `nanoCpus` and `memoryBytes` more fit the engine: each score is (reserved + more)·100 /
 * usable and must be ≤ 100 (100 when nothing more is asked); else why not, with what is free.
 */
export function resourceFit(engine: PlacementEngine, nanoCpus: number, memoryBytes: number, overcommitRatio: number): { cpuScore: number; memoryScore: number } | { reason: string } {
  const usableCpu = engine.totalNanoCpus * (1 + overcommitRatio);
  const usableMemory = engine.totalMemoryBytes * (1 + overcommitRatio);
  let cpuScore = 100;
  let memoryScore = 100;
  if (nanoCpus > 0) {
    cpuScore = ((engine.reservedNanoCpus + nanoCpus) * 100) / usableCpu;
    if (!(cpuScore <= 100)) return { reason: `needs ${cpus(nanoCpus)}; ${cpus(Math.max(0, usableCpu - engine.reservedNanoCpus))} of ${cpus(usableCpu)} free` };
  }
  if (memoryBytes > 0) {
    memoryScore = ((engine.reservedMemoryBytes + memoryBytes) * 100) / usableMemory;
    if (!(memoryScore <= 100)) return { reason: `needs ${mib(memoryBytes)} of memory; ${mib(Math.max(0, usableMemory - engine.reservedMemoryBytes))} of ${mib(usableMemory)} free` };
  }
  return { cpuScore, memoryScore };
}

/** Deterministic last resort between equals. */
export function byAddress(a: Weighed, b: Weighed): boolean {
  return a.engine.address < b.engine.address;
}
