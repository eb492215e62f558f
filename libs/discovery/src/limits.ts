/**
 * Documented limits. An entry is one line of a file or one item of a list; its ranges may expand
 * to at most MAX_ADDRESSES_PER_ENTRY addresses, and a whole set to MAX_ADDRESSES_PER_SET. They keep
 * a typo such as `10.0.[0:255].[0:255]:2375` from flooding the cluster-manager with 65,536
 * pending engines.
 */
export const MAX_ADDRESSES_PER_ENTRY = 4096;
export const MAX_ADDRESSES_PER_SET = 4096;
/** A range bound has at most this many digits (a port or an octet needs five). */
export const MAX_BOUND_DIGITS = 9;
/** A discovery file larger than this is refused (4,096 addresses need about 100 KiB). */
export const MAX_FILE_BYTES = 4 * 1024 * 1024;
/** Problems kept per read; the rest are summed up in one last problem. */
export const MAX_PROBLEMS = 100;
/** Entry text kept in a problem. */
export const MAX_PROBLEM_ENTRY_CHARS = 200;
