import { errorCodeName, type ErrorCode } from './error-code';

/** One bad field of a request: its path (`spec.memory_bytes`, `labels[zone]`) and what is wrong with it. */
export interface FieldViolation {
  field: string;
  description: string;
}

export interface FlotillaErrorOptions {
  cause?: unknown;
  /**
   * A stable, UPPER_SNAKE_CASE name of the cause (`ENGINE_NOT_FOUND`, `NO_ENGINE_FITS`), for
   * callers to branch on instead of the text. Defaults to the code's name.
   */
  reason?: string;
  /** Facts about this occurrence (`engine: "node-1"`), sent beside the reason. */
  metadata?: Record<string, string>;
  /** The request fields at fault; an INVALID_ARGUMENT answer carries them as structured details. */
  violations?: readonly FieldViolation[];
  /** Named binary details, e.g. `flotilla-placement-bin` (an encoded PlacementExplanation). */
  details?: Record<string, Buffer>;
}

/**
 * A domain error: a canonical code, a message for people, and structured facts for programs. It
 * knows no transport; the gRPC edge (`@flotilla/grpc`) turns it into a status with google.rpc
 * details, and clients turn such a status back into the same class.
 */
export abstract class FlotillaError extends Error {
  abstract readonly code: ErrorCode;
  readonly #reason: string;
  readonly metadata: Readonly<Record<string, string>>;
  readonly violations: readonly FieldViolation[];
  readonly details: Record<string, Buffer>;
  constructor(message: string, options: FlotillaErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.#reason = options.reason ?? '';
    this.metadata = options.metadata ?? {};
    this.violations = options.violations ?? [];
    this.details = options.details ?? {};
  }

  /** The stable reason: the one given, else the code's name. */
  get reason(): string {
    return this.#reason || errorCodeName(this.code);
  }
}
