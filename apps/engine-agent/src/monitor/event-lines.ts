import type { DockerEvent } from '@flotilla/proto';
import { Cuts } from './docker-mapping';

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

const maxInt64 = 2n ** 63n - 1n;

/** The event's time in nanoseconds, or why it has none the int64 field can carry. */
function eventTime(raw: RawDockerEvent, line: string): bigint | string {
  let nano: bigint;
  if (typeof raw.timeNano === 'number' || typeof raw.timeNano === 'string') {
    const n = Number(raw.timeNano);
    if (!Number.isFinite(n) || n < 0) return `event time ${JSON.stringify(String(raw.timeNano).slice(0, 40))} is not a time`;
    nano = BigInt(Math.trunc(n));
    if (typeof raw.timeNano === 'string' && /^\d{1,19}$/.test(raw.timeNano)) nano = BigInt(raw.timeNano);
    else {
      // JSON numbers lose precision past 2^53: re-read timeNano from the text, taking only a
      // match that is the same number (the pattern could also match text elsewhere in the line).
      for (const m of line.matchAll(/"timeNano"\s*:\s*(\d{1,19})\b/g)) {
        if (Number(m[1]) === n) {
          nano = BigInt(m[1]);
          break;
        }
      }
    }
  } else if (typeof raw.time === 'number') {
    if (!Number.isFinite(raw.time) || raw.time < 0) return `event time ${raw.time} is not a time`;
    nano = BigInt(Math.trunc(raw.time)) * 1_000_000_000n;
  } else return 'event without time';
  return nano > maxInt64 ? `event time ${nano} is out of range` : nano;
}

/**
 * Turns one line of Docker's event stream into a DockerEvent, or says why it cannot. Never throws:
 * the line is outside input. Text fields and attributes are capped as items are (see `itemCaps`);
 * cut attributes are marked with the `com.flotilla.truncated` attribute.
 */
export function parseEventLine(line: string): ParsedLine {
  let raw: RawDockerEvent;
  try {
    raw = JSON.parse(line) as RawDockerEvent;
  } catch (err) {
    return { error: `not JSON: ${(err as Error).message}`, line };
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return { error: 'not a JSON object', line };
  const cuts = new Cuts();
  const actor = typeof raw.Actor === 'object' && raw.Actor !== null ? raw.Actor : undefined;
  const type = cuts.text(raw.Type);
  const action = cuts.text(typeof raw.Action === 'string' ? raw.Action : raw.status);
  const actorId = cuts.text(typeof actor?.ID === 'string' ? actor.ID : raw.id);
  if (!type || !action) return { error: 'event without Type or Action', line };
  const timeNano = eventTime(raw, line);
  if (typeof timeNano === 'string') return { error: timeNano, line };
  const actorAttributes = cuts.labels('attributes', actor?.Attributes);
  const scope = typeof raw.scope === 'string' ? cuts.text(raw.scope) : 'local';
  return { event: { type, action, actorId, actorAttributes: cuts.mark(actorAttributes), scope, timeNano: timeNano.toString() } };
}

/** Longest event line kept, in characters. Docker puts a container's labels in its events, so lines can be long. */
export const maxEventLineChars = 8 * 1024 * 1024;

/**
 * Splits Docker's event stream into lines. Chunks may end mid-event or hold several events, so
 * a partial line waits for the rest. A line longer than `maxLineChars` is dropped (and counted in
 * `dropped`) rather than held without bound; only the new chunk is scanned for line ends, so long
 * lines cost linear time.
 */
export class EventLineSplitter {
  private parts: string[] = [];
  private length = 0;
  private skipping = false;
  private readonly decoder = new TextDecoder('utf-8');
  /** Lines dropped for their length. */
  dropped = 0;

  constructor(private readonly maxLineChars = maxEventLineChars) {}

  push(chunk: Uint8Array | string): string[] {
    const text = typeof chunk === 'string' ? chunk : this.decoder.decode(chunk, { stream: true });
    const out: string[] = [];
    let start = 0;
    for (;;) {
      const nl = text.indexOf('\n', start);
      this.append(nl < 0 ? text.slice(start) : text.slice(start, nl));
      if (nl < 0) return out;
      this.finishLine(out);
      start = nl + 1;
    }
  }

  /** What is left when the stream ends. */
  end(): string[] {
    const out: string[] = [];
    this.append(this.decoder.decode());
    this.finishLine(out);
    return out;
  }

  private append(piece: string): void {
    if (this.skipping || piece === '') return;
    if (this.length + piece.length > this.maxLineChars) {
      this.skipping = true;
      this.parts = [];
      this.length = 0;
      return;
    }
    this.parts.push(piece);
    this.length += piece.length;
  }

  private finishLine(out: string[]): void {
    if (this.skipping) this.dropped++;
    else {
      const line = this.parts.join('').trim();
      if (line) out.push(line);
    }
    this.skipping = false;
    this.parts = [];
    this.length = 0;
  }
}

/** `seconds.nanoseconds`, as Docker's `since` takes it. */
export function sinceParameter(timeNano: bigint): string {
  const seconds = timeNano / 1_000_000_000n;
  const nanos = timeNano % 1_000_000_000n;
  return `${seconds}.${nanos.toString().padStart(9, '0')}`;
}
