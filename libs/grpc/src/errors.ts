import { Metadata, status, type ServiceError } from '@grpc/grpc-js';
import { errorClassFor, FlotillaError, type ErrorDetail, type FieldViolation } from '@flotilla/errors';
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

/** The google.rpc.Status a domain error is answered with (exported for tests and docs). */
export function statusDetailsOf(err: FlotillaError): Status {
  const details: Any[] = [
    Any.fromPartial({
      typeUrl: `${typeUrlPrefix}${ErrorInfo.$type}`,
      value: ErrorInfo.encode(ErrorInfo.fromPartial({ reason: err.reason, domain: errorDomain, metadata: { ...err.metadata } })).finish(),
    }),
  ];
  if (err.violations.length > 0) {
    details.push(
      Any.fromPartial({
        typeUrl: `${typeUrlPrefix}${BadRequest.$type}`,
        value: BadRequest.encode(BadRequest.fromPartial({ fieldViolations: err.violations.map((v) => ({ field: v.field, description: v.description })) })).finish(),
      }),
    );
  }
  for (const detail of err.details) details.push(Any.fromPartial({ typeUrl: `${typeUrlPrefix}${detail.type}`, value: detail.value }));
  return Status.fromPartial({ code: err.code, message: err.message, details });
}

/** The status a thrown value is answered with: domain errors keep theirs, anything else is INTERNAL. */
export function toServiceError(err: unknown): Partial<ServiceError> & { code: status; details: string } {
  if (err instanceof FlotillaError) {
    const metadata = new Metadata();
    metadata.set(statusDetailsKey, Buffer.from(Status.encode(statusDetailsOf(err)).finish()));
    // Canonical codes and gRPC status codes are the same numbers (both are google.rpc.Code).
    return { code: err.code as number as status, details: err.message, metadata };
  }
  if (isServiceError(err)) {
    return { code: err.code, details: err.details, metadata: err.metadata };
  }
  const message = err instanceof Error ? err.message : String(err);
  return { code: status.INTERNAL, details: `internal error: ${message}`, metadata: new Metadata() };
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
