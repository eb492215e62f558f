import { errorCodeName, type ErrorCode } from './error-code';

/** One bad field of a request: its path (`spec.memory_bytes`, `labels[zone]`) and what is wrong with it. */
export interface FieldViolation {
  field: string;
  description: string;
}

/**
 * A structured detail of an error: a protobuf message, encoded, and its full type name
 * (`flotilla.cluster.v1.PlacementExplanation`). The gRPC edge sends each as a google.rpc.Status
 * detail (an Any), so any client reads it with the contract's own generated code.
 */
export interface ErrorDetail {
  type: string;
  value: Uint8Array;
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
  /** Messages about this occurrence, e.g. the PlacementExplanation of a create no engine can take. */
  details?: readonly ErrorDetail[];
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
  readonly details: readonly ErrorDetail[];
  constructor(message: string, options: FlotillaErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.#reason = options.reason ?? '';
    this.metadata = options.metadata ?? {};
    this.violations = options.violations ?? [];
    this.details = options.details ?? [];
  }

  /** The detail of that full type name, if the error carries one. */
  detail(type: string): Uint8Array | undefined {
    return this.details.find((d) => d.type === type)?.value;
  }

  /** The stable reason: the one given, else the code's name. */
  get reason(): string {
    return this.#reason || errorCodeName(this.code);
  }
}
