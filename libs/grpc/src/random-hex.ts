import { randomFillSync } from 'node:crypto';

// Random bytes are drawn from the system's CSPRNG 4 KiB at a time and each byte is handed out once:
// one call into OpenSSL per 4 KiB instead of one per ID. A call of its own cost the manager 0.8 s
// of a 20 s B6 profile (a request ID and a cluster ID per create); from the pool an ID costs
// ≈ 0.1 µs against 1.5–1.8 µs (tools/bench/README.md, finding 9). Node's randomUUID pools the
// same way.
const poolSize = 4096;
const pool = Buffer.allocUnsafe(poolSize);
let next = poolSize;

/** `bytes` (1–256) random bytes from the system's CSPRNG, as 2 × `bytes` lowercase hex characters. */
export function randomHex(bytes: number): string {
  if (!Number.isInteger(bytes) || bytes < 1 || bytes > 256) throw new RangeError(`randomHex: bytes must be a whole number from 1 to 256, got ${bytes}`);
  if (next + bytes > poolSize) {
    randomFillSync(pool);
    next = 0;
  }
  const hex = pool.toString('hex', next, next + bytes);
  next += bytes;
  return hex;
}
