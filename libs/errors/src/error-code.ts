/**
 * The canonical error codes (google.rpc.Code): a transport-neutral error space that gRPC statuses,
 * HTTP APIs and the CLI's exit codes all map from. Domain code names a code, never a transport.
 */
export const ErrorCode = {
  CANCELLED: 1,
  UNKNOWN: 2,
  INVALID_ARGUMENT: 3,
  DEADLINE_EXCEEDED: 4,
  NOT_FOUND: 5,
  ALREADY_EXISTS: 6,
  PERMISSION_DENIED: 7,
  RESOURCE_EXHAUSTED: 8,
  FAILED_PRECONDITION: 9,
  ABORTED: 10,
  UNIMPLEMENTED: 12,
  INTERNAL: 13,
  UNAVAILABLE: 14,
  UNAUTHENTICATED: 16,
} as const;

export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

const names = new Map<number, string>(Object.entries(ErrorCode).map(([name, code]) => [code, name]));

/** `NOT_FOUND` for 5; the number itself for a code outside the canonical space. */
export function errorCodeName(code: number): string {
  return names.get(code) ?? String(code);
}
