import { Metadata, status, type ServiceError } from '@grpc/grpc-js';
import { clip, errorClassFor, FlotillaError, type ErrorDetail, type FieldViolation } from '@flotilla/errors';
import { Status } from 'nice-grpc-error-details/lib/proto/google/rpc/status';
import { Any, BadRequest, ErrorInfo } from 'nice-grpc-error-details';

/**
 * The one place where domain errors (@flotilla/errors) meet gRPC. A server answers a thrown
 * FlotillaError with its status and, in `grpc-status-details-bin`, a google.rpc.Status whose
 * details are an ErrorInfo (the stable reason, domain `flotilla`, metadata) and, when fields are at
 * fault, a BadRequest with one violation per field, so a client in any language reads them without
 * parsing the text, and the error's own details (e.g. a PlacementExplanation) as further Any
 * entries. A client turns such a status back into the same FlotillaError class.
 */

export const errorDomain = 'flotilla';
const statusDetailsKey = 'grpc-status-details-bin';
const typeUrlPrefix = 'type.googleapis.com/';

export function isServiceError(err: unknown): err is ServiceError {
  return err instanceof Error && !(err instanceof FlotillaError) && typeof (err as Partial<ServiceError>).code === 'number' && (err as Partial<ServiceError>).metadata instanceof Metadata;
}

/**
 * What one status may carry. Its message travels in the `grpc-message` trailer (percent-encoded: up
 * to 9 bytes a character) and its details in `grpc-status-details-bin` (base64), and Node's HTTP/2
 * takes at most 64 KiB of headers by default: past that the receiving side drops the whole
 * connection as a protocol error, and every other call on it fails too. A message can quote what a
 * caller or an engine sent, and a placement explanation lists every engine, so each part is bounded
 * here, where every answer passes.
 */
export const statusLimits = {
  messageChars: 2_048,
  fieldChars: 256,
  violationChars: 1_024,
  /** The field violations together, in UTF-8; the first is always sent. */
  violationBytes: 6 * 1024,
  metadataValueChars: 512,
  /** The encoded google.rpc.Status; a further detail that would pass it is left out and named in the ErrorInfo. */
  statusBytes: 12 * 1024,
} as const;

function bounded(text: string, chars: number): string {
  return text.length <= chars ? text : `${clip(text, chars)} (${text.length} characters in all)`;
}

function errorInfoAny(err: FlotillaError, metadata: Record<string, string>): Any {
  return Any.fromPartial({
    typeUrl: `${typeUrlPrefix}${ErrorInfo.$type}`,
    value: ErrorInfo.encode(ErrorInfo.fromPartial({ reason: err.reason, domain: errorDomain, metadata })).finish(),
  });
}

function badRequestAny(violations: readonly FieldViolation[]): Any {
  const kept: FieldViolation[] = [];
  let bytes = 0;
  for (const v of violations) {
    const entry = { field: bounded(v.field, statusLimits.fieldChars), description: bounded(v.description, statusLimits.violationChars) };
    const size = Buffer.byteLength(entry.field) + Buffer.byteLength(entry.description) + 8;
    if (kept.length > 0 && bytes + size > statusLimits.violationBytes) break;
    kept.push(entry);
    bytes += size;
  }
  const more = violations.length - kept.length;
  if (more > 0) kept.push({ field: '', description: `${more} more violations not shown` });
  return Any.fromPartial({ typeUrl: `${typeUrlPrefix}${BadRequest.$type}`, value: BadRequest.encode(BadRequest.fromPartial({ fieldViolations: kept })).finish() });
}

/** The google.rpc.Status a domain error is answered with, within statusLimits (exported for tests and docs). */
export function statusDetailsOf(err: FlotillaError): Status {
  const message = bounded(err.message, statusLimits.messageChars);
  const metadata = Object.fromEntries(Object.entries(err.metadata).map(([key, value]) => [key, bounded(value, statusLimits.metadataValueChars)]));
  const fixed = err.violations.length > 0 ? [badRequestAny(err.violations)] : [];
  const extra: Any[] = [];
  const omitted: string[] = [];
  let bytes = Status.encode(Status.fromPartial({ code: err.code, message, details: [errorInfoAny(err, metadata), ...fixed] })).finish().length;
  for (const detail of err.details) {
    const any = Any.fromPartial({ typeUrl: `${typeUrlPrefix}${detail.type}`, value: detail.value });
    // Its own bytes, the field's tag and its length.
    const size = Any.encode(any).finish().length + 6;
    if (bytes + size > statusLimits.statusBytes) {
      omitted.push(`${detail.type} (${detail.value.length} bytes)`);
      continue;
    }
    extra.push(any);
    bytes += size;
  }
  // Named where a program looks for facts, so a caller knows to ask for them another way (e.g. ExplainPlacement).
  if (omitted.length > 0) metadata.omittedDetails = bounded(`${omitted.join(', ')}: past the ${statusLimits.statusBytes} bytes a status may carry`, statusLimits.metadataValueChars);
  return Status.fromPartial({ code: err.code, message, details: [errorInfoAny(err, metadata), ...fixed, ...extra] });
}

/** The status a thrown value is answered with: domain errors keep theirs, anything else is INTERNAL. Every part within statusLimits. */
export function toServiceError(err: unknown): Partial<ServiceError> & { code: status; details: string } {
  if (err instanceof FlotillaError) {
    const metadata = new Metadata();
    const details = statusDetailsOf(err);
    metadata.set(statusDetailsKey, Buffer.from(Status.encode(details).finish()));
    // Canonical codes and gRPC status codes are the same numbers (both are google.rpc.Code).
    return { code: err.code as number as status, details: details.message, metadata };
  }
  if (isServiceError(err)) {
    // A downstream call's status, passed on: its details only while they fit.
    const metadata = err.metadata.clone();
    const raw = metadata.get(statusDetailsKey)[0];
    if (raw !== undefined && raw.length > statusLimits.statusBytes) metadata.remove(statusDetailsKey);
    return { code: err.code, details: bounded(err.details, statusLimits.messageChars), metadata };
  }
  const message = err instanceof Error ? err.message : String(err);
  return { code: status.INTERNAL, details: `internal error: ${bounded(message, statusLimits.messageChars)}`, metadata: new Metadata() };
}

interface DecodedDetails {
  reason?: string;
  metadata?: Record<string, string>;
  violations: FieldViolation[];
  details: ErrorDetail[];
}

/** Reads the google.rpc details of a status; a malformed detail is ignored, never fatal. */
function decodeStatusDetails(metadata: Metadata | undefined): DecodedDetails {
  const decoded: DecodedDetails = { violations: [], details: [] };
  const raw = metadata?.get(statusDetailsKey)[0];
  if (!Buffer.isBuffer(raw)) return decoded;
  try {
    for (const any of Status.decode(raw).details) {
      if (any.typeUrl.endsWith(`/${ErrorInfo.$type}`)) {
        const info = ErrorInfo.decode(any.value);
        decoded.reason = info.reason;
        decoded.metadata = info.metadata;
      } else if (any.typeUrl.endsWith(`/${BadRequest.$type}`)) {
        decoded.violations.push(...BadRequest.decode(any.value).fieldViolations.map((v) => ({ field: v.field, description: v.description })));
      } else {
        decoded.details.push({ type: any.typeUrl.slice(any.typeUrl.lastIndexOf('/') + 1), value: any.value });
      }
    }
  } catch {
    // A peer that sends undecodable details still sent a status and a message; keep those.
  }
  return decoded;
}

/** The domain error for a status a call ended with. */
export function fromServiceError(err: ServiceError): FlotillaError {
  const ErrorType = errorClassFor(err.code);
  const { reason, metadata, violations, details } = decodeStatusDetails(err.metadata);
  return new ErrorType(err.details || err.message, { cause: err, details, reason, metadata, violations });
}

/** The status code of any thrown value, as the server would answer it. */
export function codeOf(err: unknown): status {
  return toServiceError(err).code;
}
