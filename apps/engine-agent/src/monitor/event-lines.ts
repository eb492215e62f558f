import type { DockerEvent } from '@flotilla/proto';

/** A raw event as Docker writes it on `GET /events`. */
interface RawDockerEvent {
  Type?: unknown;
  Action?: unknown;
  Actor?: { ID?: unknown; Attributes?: unknown } | null;
  scope?: unknown;
  time?: unknown;
  timeNano?: unknown;
  // Engines before API 1.22 wrote only these.
  status?: unknown;
  id?: unknown;
}

export type ParsedLine = { event: DockerEvent } | { error: string; line: string };

function attributes(value: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (typeof value !== 'object' || value === null) return out;
  for (const [k, v] of Object.entries(value)) if (typeof v === 'string') out[k] = v;
  return out;
}

/** Turns one line of Docker's event stream into a DockerEvent, or says why it cannot. */
export function parseEventLine(line: string): ParsedLine {
  let raw: RawDockerEvent;
  try {
    raw = JSON.parse(line) as RawDockerEvent;
  } catch (err) {
    return { error: `not JSON: ${(err as Error).message}`, line };
  }
  if (typeof raw !== 'object' || raw === null) return { error: 'not a JSON object', line };
  const type = typeof raw.Type === 'string' ? raw.Type : '';
  const action = typeof raw.Action === 'string' ? raw.Action : typeof raw.status === 'string' ? raw.status : '';
  const actorId = typeof raw.Actor?.ID === 'string' ? raw.Actor.ID : typeof raw.id === 'string' ? raw.id : '';
  if (!type || !action) return { error: 'event without Type or Action', line };
  let timeNano: bigint;
  if (typeof raw.timeNano === 'number' || typeof raw.timeNano === 'string') timeNano = BigInt(Math.trunc(Number(raw.timeNano)));
  else if (typeof raw.time === 'number') timeNano = BigInt(Math.trunc(raw.time)) * 1_000_000_000n;
  else return { error: 'event without time', line };
  // JSON numbers lose precision past 2^53; re-read timeNano from the text when it is there.
  const exact = /"timeNano"\s*:\s*(\d+)/.exec(line);
  if (exact) timeNano = BigInt(exact[1]);
  return {
    event: {
      type,
      action,
      actorId,
      actorAttributes: attributes(raw.Actor?.Attributes),
      scope: typeof raw.scope === 'string' ? raw.scope : 'local',
      timeNano: timeNano.toString(),
    },
  };
}

/**
 * Splits Docker's event stream into lines. Chunks may end mid-event or hold several events, so
 * a partial line waits for the rest.
 */
export class EventLineSplitter {
  private partial = '';
  private readonly decoder = new TextDecoder('utf-8');

  push(chunk: Uint8Array | string): string[] {
    this.partial += typeof chunk === 'string' ? chunk : this.decoder.decode(chunk, { stream: true });
    const lines = this.partial.split('\n');
    this.partial = lines.pop() ?? '';
    return lines.map((l) => l.trim()).filter((l) => l.length > 0);
  }

  /** What is left when the stream ends. */
  end(): string[] {
    const rest = (this.partial + this.decoder.decode()).trim();
    this.partial = '';
    return rest ? [rest] : [];
  }
}

/** `seconds.nanoseconds`, as Docker's `since` takes it. */
export function sinceParameter(timeNano: bigint): string {
  const seconds = timeNano / 1_000_000_000n;
  const nanos = timeNano % 1_000_000_000n;
  return `${seconds}.${nanos.toString().padStart(9, '0')}`;
}
