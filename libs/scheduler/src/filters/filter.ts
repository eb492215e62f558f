import type { PlacementEngine } from '../placement-engine';
import type { PlacementRequest } from '../placement-request';

/** Whether soft expressions are enforced (the first pass) or dropped (the second). */
export interface Pass {
  soft: boolean;
}

/** One filter of the pipeline: null when the engine passes, otherwise why it cannot take the container. */
export interface Filter {
  readonly name: string;
  reject(engine: PlacementEngine, request: PlacementRequest, pass: Pass): string | null;
  /** Whether the filter has anything to say about this request; skipped in the hot loop when not. */
  applies(request: PlacementRequest): boolean;
}
