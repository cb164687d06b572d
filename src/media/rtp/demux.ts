/**
 * Tell apart what arrives on a media port (RFC 7983 §7 first-octet ranges, RFC 5761 §4 RTP/RTCP split):
 * peers such as linphone send STUN connectivity checks to the RTP port, and rtcp-mux peers send RTCP there.
 */

/** What a datagram on an RTP port looks like. */
export type DatagramKind = 'rtp' | 'rtcp' | 'stun' | 'dtls' | 'unknown';

const STUN_MAGIC_COOKIE = 0x2112a442;

/** Classify a datagram by its first octets. Never throws; does not validate beyond what is needed to decide. */
export function classifyDatagram(buf: Uint8Array): DatagramKind {
  if (buf.length < 1) return 'unknown';
  const b0 = buf[0] as number;
  if (b0 < 4) {
    // STUN: top two bits 00, 20-octet header, magic cookie at octets 4..7 (RFC 5389 §6).
    if (buf.length < 20) return 'unknown';
    const cookie =
      (((buf[4] as number) << 24) | ((buf[5] as number) << 16) | ((buf[6] as number) << 8) | (buf[7] as number)) >>> 0;
    return cookie === STUN_MAGIC_COOKIE ? 'stun' : 'unknown';
  }
  if (b0 >= 20 && b0 <= 63) return 'dtls';
  if (b0 >= 128 && b0 <= 191) {
    if (buf.length < 2) return 'unknown';
    // RFC 5761 §4: RTCP packet types 192..223 (SR 200, RR 201, SDES 202, BYE 203, APP 204, feedback, XR)
    // occupy the second octet where RTP has marker + PT, so RTP PTs 64..95 are not used on a muxed port.
    const b1 = buf[1] as number;
    if (b1 >= 192 && b1 <= 223) return buf.length >= 8 ? 'rtcp' : 'unknown';
    return buf.length >= 12 ? 'rtp' : 'unknown';
  }
  return 'unknown';
}

/** True for datagrams that look like RTP or RTCP (version 2 header), false for STUN, DTLS and garbage. */
export function isRtpOrRtcp(buf: Uint8Array): boolean {
  const k = classifyDatagram(buf);
  return k === 'rtp' || k === 'rtcp';
}
