/**
 * Read UDP datagrams (and the RTP inside them) out of a classic libpcap file: the files this folder
 * writes, the SIPp bundled ones in /usr/share/sip-tester, and tshark captures written with `-F pcap`.
 * Ethernet and Linux cooked (SLL) links, IPv4 and IPv6; anything else is skipped, never thrown on.
 */

/** One UDP datagram from the capture. */
export interface PcapUdpRecord {
  /** Capture time in microseconds since the epoch. */
  readonly timeUs: number;
  readonly srcIp: string;
  readonly dstIp: string;
  readonly srcPort: number;
  readonly dstPort: number;
  readonly payload: Uint8Array;
}

/** The RTP header fields and payload of a datagram. */
export interface PcapRtpPacket {
  readonly record: PcapUdpRecord;
  readonly marker: boolean;
  readonly payloadType: number;
  readonly sequenceNumber: number;
  readonly timestamp: number;
  readonly ssrc: number;
  readonly payload: Uint8Array;
}

const LINKTYPE_ETHERNET = 1;
const LINKTYPE_LINUX_SLL = 113;

function ip4(b: Uint8Array, at: number): string {
  return `${b[at]}.${b[at + 1]}.${b[at + 2]}.${b[at + 3]}`;
}

function ip6(b: Uint8Array, at: number): string {
  const parts: string[] = [];
  for (let i = 0; i < 16; i += 2) parts.push((((b[at + i] as number) << 8) | (b[at + i + 1] as number)).toString(16));
  return parts.join(':');
}

/**
 * Every UDP datagram in a classic pcap file.
 * @throws Error when the bytes are not a classic pcap file (pcapng included: write captures with `-F pcap`).
 */
export function readPcapUdp(bytes: Uint8Array): PcapUdpRecord[] {
  if (bytes.length < 24) throw new Error('not a pcap file: too short');
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const magicLe = v.getUint32(0, true);
  let little: boolean;
  let nanos: boolean;
  if (magicLe === 0xa1b2c3d4 || magicLe === 0xa1b23c4d) {
    little = true;
    nanos = magicLe === 0xa1b23c4d;
  } else if (v.getUint32(0, false) === 0xa1b2c3d4 || v.getUint32(0, false) === 0xa1b23c4d) {
    little = false;
    nanos = v.getUint32(0, false) === 0xa1b23c4d;
  } else {
    throw new Error('not a classic pcap file (pcapng? write it with -F pcap)');
  }
  const link = v.getUint32(20, little);
  const out: PcapUdpRecord[] = [];
  let at = 24;
  while (at + 16 <= bytes.length) {
    const sec = v.getUint32(at, little);
    const frac = v.getUint32(at + 4, little);
    const incl = v.getUint32(at + 8, little);
    const body = at + 16;
    at = body + incl;
    if (at > bytes.length) break; // truncated file: keep what is whole
    const timeUs = sec * 1e6 + (nanos ? Math.floor(frac / 1000) : frac);
    let l3: number;
    let etherType: number;
    if (link === LINKTYPE_ETHERNET) {
      if (incl < 14) continue;
      etherType = v.getUint16(body + 12);
      l3 = body + 14;
      if (etherType === 0x8100 && incl >= 18) {
        etherType = v.getUint16(body + 16); // one VLAN tag
        l3 = body + 18;
      }
    } else if (link === LINKTYPE_LINUX_SLL) {
      if (incl < 16) continue;
      etherType = v.getUint16(body + 14);
      l3 = body + 16;
    } else {
      continue;
    }
    let udp: number;
    let srcIp: string;
    let dstIp: string;
    if (etherType === 0x0800 && l3 + 20 <= at) {
      const ihl = ((bytes[l3] as number) & 0x0f) * 4;
      if (bytes[l3 + 9] !== 17) continue;
      // Later fragments carry no UDP header.
      if ((v.getUint16(l3 + 6) & 0x1fff) !== 0) continue;
      srcIp = ip4(bytes, l3 + 12);
      dstIp = ip4(bytes, l3 + 16);
      udp = l3 + ihl;
    } else if (etherType === 0x86dd && l3 + 40 <= at) {
      if (bytes[l3 + 6] !== 17) continue; // extension headers are not followed
      srcIp = ip6(bytes, l3 + 8);
      dstIp = ip6(bytes, l3 + 24);
      udp = l3 + 40;
    } else {
      continue;
    }
    if (udp + 8 > at) continue;
    const udpLen = v.getUint16(udp + 4);
    const end = Math.min(at, udp + Math.max(8, udpLen));
    out.push({
      timeUs,
      srcIp,
      dstIp,
      srcPort: v.getUint16(udp),
      dstPort: v.getUint16(udp + 2),
      payload: bytes.subarray(udp + 8, end),
    });
  }
  return out;
}

/** The datagram as RTP version 2 (fixed header, CSRCs and extension skipped, padding removed), or null. */
export function rtpOf(record: PcapUdpRecord): PcapRtpPacket | null {
  const b = record.payload;
  if (b.length < 12 || (b[0] as number) >> 6 !== 2) return null;
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  let at = 12 + ((b[0] as number) & 0x0f) * 4;
  if (((b[0] as number) & 0x10) !== 0) {
    if (at + 4 > b.length) return null;
    at += 4 + v.getUint16(at + 2) * 4;
  }
  let end = b.length;
  if (((b[0] as number) & 0x20) !== 0) end -= b[b.length - 1] as number;
  if (at > end) return null;
  const pt = (b[1] as number) & 0x7f;
  // RTCP packet types 200-204 show up as payload types 72-76 with the marker set.
  if (pt >= 72 && pt <= 76) return null;
  return {
    record,
    marker: ((b[1] as number) & 0x80) !== 0,
    payloadType: pt,
    sequenceNumber: v.getUint16(2),
    timestamp: v.getUint32(4),
    ssrc: v.getUint32(8),
    payload: b.subarray(at, end),
  };
}

/** Every RTP packet in a pcap file, optionally only those sent to `dstPort`. */
export function readPcapRtp(bytes: Uint8Array, filter: { dstPort?: number; srcPort?: number } = {}): PcapRtpPacket[] {
  const out: PcapRtpPacket[] = [];
  for (const rec of readPcapUdp(bytes)) {
    if (filter.dstPort !== undefined && rec.dstPort !== filter.dstPort) continue;
    if (filter.srcPort !== undefined && rec.srcPort !== filter.srcPort) continue;
    const rtp = rtpOf(rec);
    if (rtp !== null) out.push(rtp);
  }
  return out;
}
