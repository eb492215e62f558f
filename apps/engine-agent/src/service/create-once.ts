import { ResourceExhaustedError } from '@flotilla/errors';
import { requestIdLabel } from '@flotilla/proto';

export interface Created {
  id: string;
  warnings: string[];
}

/**
 * Makes a create that carries a request ID (the `com.flotilla.request-id` label) at most once on
 * this engine. A manager that died while its create was in flight here, and the client's retry
 * through another manager, would otherwise make two containers: the retry joins a create still in
 * flight, and finds one already made on the engine itself (Docker's own list, not this agent's
 * model, which may not have heard of it yet).
 */
export class CreateOnce {
  private readonly inFlight = new Map<string, Promise<Created>>();

  constructor(
    /** IDs of the containers on the engine that carry `label` (`key=value`). */
    private readonly containersWith: (label: string) => Promise<string[]>,
    private readonly maxInFlight = 1024,
  ) {}

  create(labels: Record<string, string>, create: () => Promise<Created>): Promise<Created> {
    const requestId = labels[requestIdLabel];
    if (!requestId) return create();
    const pending = this.inFlight.get(requestId);
    if (pending) return pending;
    if (this.inFlight.size >= this.maxInFlight) throw new ResourceExhaustedError(`${this.maxInFlight} creates with a request ID are in flight on this agent; try again`);
    const once = (async () => {
      const [existing] = await this.containersWith(`${requestIdLabel}=${requestId}`);
      return existing ? { id: existing, warnings: [] } : create();
    })().finally(() => this.inFlight.delete(requestId));
    this.inFlight.set(requestId, once);
    return once;
  }

  get pending(): number {
    return this.inFlight.size;
  }
}
