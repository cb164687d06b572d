/**
 * RTP fixed header, CSRC list, header extension and padding (RFC 3550 §5.1, §5.3.1).
 * Parsing never throws and never copies the payload; serializing writes into a caller-owned buffer.
 */

export { seqDiff, seqNewer, seqAdd, tsDiff, tsAdd } from './sequence.ts';
export { classifyDatagram, isRtpOrRtcp, type DatagramKind } from './demux.ts';

/** RTP header extension (RFC 3550 §5.3.1): a 16-bit profile field and whole 32-bit words of data. */
export interface RtpExtension {
  readonly profile: number;
  /** Extension data (length is a multiple of 4); a view into the datagram when parsed. */
  readonly data: Uint8Array;
}

/** One RTP packet. Fields of a parsed packet are views into the datagram it came from. */
export interface RtpPacket {
  readonly marker: boolean;
  readonly payloadType: number;
  readonly sequenceNumber: number;
  readonly timestamp: number;
  readonly ssrc: number;
  readonly csrc: readonly number[];
  readonly extension: RtpExtension | null;
  /** Padding octets after the payload, counting the final count octet; 0 when the P bit is clear. */
  readonly paddingLength: number;
  readonly payload: Uint8Array;
}

/** What `serializeRtp` needs; optional fields default to "absent". */
export interface RtpPacketInit {
  readonly marker?: boolean;
  readonly payloadType: number;
  readonly sequenceNumber: number;
  readonly timestamp: number;
  readonly ssrc: number;
  readonly csrc?: readonly number[];
  readonly extension?: RtpExtension | null;
  /** Padding to append, 1..255 octets including the count octet (used for SRTP/block alignment). */
  readonly paddingLength?: number;
  readonly payload: Uint8Array;
}

/** Why a datagram is not a valid RTP packet. */
export type RtpParseError =
  | 'too-short'
  | 'bad-version'
  | 'truncated-csrc'
  | 'truncated-extension'
  | 'bad-padding';

export const RTP_HEADER_SIZE = 12;

const NO_CSRC: readonly number[] = Object.freeze([]);

/**
 * Parse a datagram as RTP, returning the packet or the reason it is not one.
 * Returns a string (never throws) so the receive path can count reasons without allocating a result wrapper.
 */
export function parseRtpDetailed(buf: Uint8Array): RtpPacket | RtpParseError {
  const len = buf.length;
  if (len < RTP_HEADER_SIZE) return 'too-short';
  const b0 = buf[0] as number;
  if (b0 >> 6 !== 2) return 'bad-version';
  const hasPadding = (b0 & 0x20) !== 0;
  const hasExtension = (b0 & 0x10) !== 0;
  const cc = b0 & 0x0f;
  const b1 = buf[1] as number;
  const sequenceNumber = ((buf[2] as number) << 8) | (buf[3] as number);
  const timestamp = readU32(buf, 4);
  const ssrc = readU32(buf, 8);

  let offset = RTP_HEADER_SIZE;
  let csrc = NO_CSRC;
  if (cc > 0) {
    if (len < offset + cc * 4) return 'truncated-csrc';
    const list: number[] = new Array<number>(cc);
    for (let i = 0; i < cc; i++) list[i] = readU32(buf, offset + i * 4);
    csrc = list;
    offset += cc * 4;
  }

  let extension: RtpExtension | null = null;
  if (hasExtension) {
    if (len < offset + 4) return 'truncated-extension';
    const profile = ((buf[offset] as number) << 8) | (buf[offset + 1] as number);
    const words = ((buf[offset + 2] as number) << 8) | (buf[offset + 3] as number);
    const end = offset + 4 + words * 4;
    if (len < end) return 'truncated-extension';
    extension = { profile, data: buf.subarray(offset + 4, end) };
    offset = end;
  }

  let paddingLength = 0;
  if (hasPadding) {
    // The last octet counts the padding including itself (§5.1), so 0 is invalid and it may not eat into the header.
    paddingLength = buf[len - 1] as number;
    if (paddingLength === 0 || offset + paddingLength > len) return 'bad-padding';
  }

  return {
    marker: (b1 & 0x80) !== 0,
    payloadType: b1 & 0x7f,
    sequenceNumber,
    timestamp,
    ssrc,
    csrc,
    extension,
    paddingLength,
    payload: buf.subarray(offset, len - paddingLength),
  };
}

/** Parse a datagram as RTP; null for anything invalid or truncated. Never throws. */
export function parseRtp(buf: Uint8Array): RtpPacket | null {
  const r = parseRtpDetailed(buf);
  return typeof r === 'string' ? null : r;
}

/** Octets `serializeRtp` will write for `pkt`. */
export function rtpSize(pkt: RtpPacketInit): number {
  const cc = pkt.csrc?.length ?? 0;
  const ext = pkt.extension ? 4 + pkt.extension.data.length : 0;
  return RTP_HEADER_SIZE + cc * 4 + ext + pkt.payload.length + (pkt.paddingLength ?? 0);
}

/**
 * Write `pkt` into `out` (reused across packets on the send path) or a new buffer.
 * Returns the view of `out` holding the packet. Throws RangeError for field values that cannot be encoded
 * or an `out` that is too small: both are programming errors, not network input.
 */
export function serializeRtp(pkt: RtpPacketInit, out?: Uint8Array): Uint8Array {
  const buf = out ?? new Uint8Array(rtpSize(pkt));
  const end = serializeRtpInto(pkt, buf, 0);
  return buf.length === end ? buf : buf.subarray(0, end);
}

/**
 * Write `pkt` into `out` at `offset` (a shared send area: no view per packet) and return the offset just past
 * it. The same octets as `serializeRtp`; the same RangeErrors.
 */
export function serializeRtpInto(pkt: RtpPacketInit, buf: Uint8Array, offset: number): number {
  const csrc = pkt.csrc ?? NO_CSRC;
  const ext = pkt.extension ?? null;
  const pad = pkt.paddingLength ?? 0;
  if (!isUint(pkt.payloadType, 0x7f)) throw new RangeError('payloadType must be 0..127');
  if (!isUint(pkt.sequenceNumber, 0xffff)) throw new RangeError('sequenceNumber must be 0..65535');
  if (!isUint(pkt.timestamp, 0xffffffff)) throw new RangeError('timestamp must be a uint32');
  if (!isUint(pkt.ssrc, 0xffffffff)) throw new RangeError('ssrc must be a uint32');
  if (csrc.length > 15) throw new RangeError('at most 15 CSRCs');
  if (!isUint(pad, 0xff)) throw new RangeError('paddingLength must be 0..255');
  if (ext !== null && (ext.data.length % 4 !== 0 || ext.data.length > 0xffff * 4 || !isUint(ext.profile, 0xffff))) {
    throw new RangeError('extension data must be whole 32-bit words and profile 0..65535');
  }
  const size = rtpSize(pkt);
  if (buf.length - offset < size) throw new RangeError(`output buffer too small: need ${size}, have ${buf.length - offset}`);

  buf[offset] = 0x80 | (pad > 0 ? 0x20 : 0) | (ext !== null ? 0x10 : 0) | csrc.length;
  buf[offset + 1] = (pkt.marker === true ? 0x80 : 0) | pkt.payloadType;
  buf[offset + 2] = pkt.sequenceNumber >> 8;
  buf[offset + 3] = pkt.sequenceNumber & 0xff;
  writeU32(buf, offset + 4, pkt.timestamp);
  writeU32(buf, offset + 8, pkt.ssrc);
  let at = offset + RTP_HEADER_SIZE;
  for (const c of csrc) {
    if (!isUint(c, 0xffffffff)) throw new RangeError('csrc must be a uint32');
    writeU32(buf, at, c);
    at += 4;
  }
  if (ext !== null) {
    const words = ext.data.length / 4;
    buf[at] = ext.profile >> 8;
    buf[at + 1] = ext.profile & 0xff;
    buf[at + 2] = words >> 8;
    buf[at + 3] = words & 0xff;
    buf.set(ext.data, at + 4);
    at += 4 + ext.data.length;
  }
  buf.set(pkt.payload, at);
  at += pkt.payload.length;
  if (pad > 0) {
    buf.fill(0, at, at + pad - 1);
    buf[at + pad - 1] = pad;
    at += pad;
  }
  return at;
}

function isUint(v: number, max: number): boolean {
  return Number.isInteger(v) && v >= 0 && v <= max;
}

function readU32(buf: Uint8Array, i: number): number {
  return (
    (((buf[i] as number) << 24) | ((buf[i + 1] as number) << 16) | ((buf[i + 2] as number) << 8) | (buf[i + 3] as number)) >>>
    0
  );
}

function writeU32(buf: Uint8Array, i: number, v: number): void {
  buf[i] = v >>> 24;
  buf[i + 1] = (v >>> 16) & 0xff;
  buf[i + 2] = (v >>> 8) & 0xff;
  buf[i + 3] = v & 0xff;
}
