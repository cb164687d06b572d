/**
 * Wrap-around arithmetic for RTP sequence numbers (16 bit) and timestamps (32 bit), RFC 3550 §A.1.
 * Comparisons are "serial number" style: the shorter way round the circle wins.
 */

/** Signed distance `a - b` between two sequence numbers, in [-32768, 32767]. */
export function seqDiff(a: number, b: number): number {
  return ((((a - b) & 0xffff) + 0x8000) & 0xffff) - 0x8000;
}

/** True when sequence number `a` comes after `b` (across the 65535 -> 0 wrap). */
export function seqNewer(a: number, b: number): boolean {
  return seqDiff(a, b) > 0;
}

/** Sequence number `n` steps after `seq`, wrapped to 16 bits. */
export function seqAdd(seq: number, n: number): number {
  return (seq + n) & 0xffff;
}

/** Signed distance `a - b` between two RTP timestamps, as a 32-bit signed integer. */
export function tsDiff(a: number, b: number): number {
  return (a - b) | 0;
}

/** Timestamp `n` ticks after `ts`, wrapped to an unsigned 32-bit value. */
export function tsAdd(ts: number, n: number): number {
  return (ts + n) >>> 0;
}
