/**
 * Numbered audio frames, to tell exactly which of a caller's frames an echo sent back: every 20 ms mu-law frame
 * carries its number in its first three code words (one nibble each, as mu-law codes 0x20..0x2f, which a G.711
 * decode -> PCM -> encode round trip gives back exactly), the rest of the frame is speech-like audio. A capture of
 * the echo then says, per call, which frames came back, in what order, and how far apart, whatever the
 * gateway adds of its own (concealment, a repeated frame), without correlating audio.
 */
import { mulawDecode, mulawEncode } from '../../../src/media/g711.ts';
import { readPcapUdp } from './pcap-reader.ts';

/** Frame numbers a tag can carry (three nibbles). */
export const MAX_FRAME_TAG = 4096;
const TAG_BASE = 0x20;

for (let c = TAG_BASE; c < TAG_BASE + 16; c++) {
  if (mulawEncode(mulawDecode(Uint8Array.of(c)))[0] !== c) throw new Error(`mu-law code ${c} does not survive decode/encode`);
}

/**
 * `count` mu-law frames of `frameBytes` octets (160: 20 ms at 8 kHz) numbered from `first`, their audio cut from
 * `samples` (8 kHz PCM, repeated if short).
 * @throws Error when a number does not fit a tag.
 */
export function taggedFrames(samples: Int16Array, first: number, count: number, frameBytes = 160): Uint8Array[] {
  if (first < 0 || first + count > MAX_FRAME_TAG) throw new Error(`frame numbers ${first}..${first + count - 1} do not fit a tag`);
  if (samples.length === 0) throw new Error('no audio to tag');
  const out: Uint8Array[] = [];
  for (let i = 0; i < count; i++) {
    const n = first + i;
    const frame = new Int16Array(frameBytes);
    for (let k = 0; k < frameBytes; k++) frame[k] = samples[(i * frameBytes + k) % samples.length] as number;
    const bytes = mulawEncode(frame);
    // 0x7f is mu-law's negative zero: it decodes to 0, which encodes as 0xff. Send 0xff so an echo is bit-exact.
    for (let k = 3; k < bytes.length; k++) if (bytes[k] === 0x7f) bytes[k] = 0xff;
    bytes[0] = TAG_BASE + ((n >> 8) & 0xf);
    bytes[1] = TAG_BASE + ((n >> 4) & 0xf);
    bytes[2] = TAG_BASE + (n & 0xf);
    out.push(bytes);
  }
  return out;
}

/** The number a payload carries, or -1 (concealment, silence, other audio). */
export function frameTag(payload: Uint8Array): number {
  if (payload.length < 3) return -1;
  let n = 0;
  for (let i = 0; i < 3; i++) {
    const nib = (payload[i] as number) - TAG_BASE;
    if (nib < 0 || nib > 15) return -1;
    n = (n << 4) | nib;
  }
  return n;
}

/** One RTP packet of a stream as captured: its tag (-1 for none) and capture time. */
export interface TaggedPacket {
  readonly tag: number;
  readonly timeUs: number;
  readonly sequenceNumber: number;
  readonly ssrc: number;
  readonly marker: boolean;
}

/**
 * RTP packets to `dstPort` (and from `srcPort`, if given) in a classic pcap, in capture order. A capture may keep
 * only the first 64 octets of each packet: the tag is right after the RTP header. Given the frames `sent` (by
 * number), a packet is tagged only when it carries one of them unchanged.
 */
export function taggedPackets(pcap: Uint8Array, dstPort: number, srcPort?: number, sent?: ReadonlyMap<number, Uint8Array>): TaggedPacket[] {
  const out: TaggedPacket[] = [];
  for (const rec of readPcapUdp(pcap)) {
    if (rec.dstPort !== dstPort || (srcPort !== undefined && rec.srcPort !== srcPort)) continue;
    const b = rec.payload;
    if (b.length < 12 || (b[0] as number) >> 6 !== 2) continue;
    const cc = ((b[0] as number) & 0x0f) * 4;
    const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
    const payload = b.subarray(12 + cc);
    let tag = frameTag(payload);
    // With the frames that were sent: only an intact copy counts (a concealment frame repeats the last one,
    // fading: it starts with the same tag).
    const original = sent?.get(tag);
    if (sent !== undefined && (original === undefined || !sameBytes(original, payload))) tag = -1;
    out.push({
      tag,
      timeUs: rec.timeUs,
      sequenceNumber: v.getUint16(2),
      ssrc: v.getUint32(8),
      marker: ((b[1] as number) & 0x80) !== 0,
    });
  }
  return out;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
