/**
 * Write RTP streams as classic libpcap files (Ethernet / IPv4 / UDP / RTP records) that SIPp's
 * `play_pcap_audio` replays.
 *
 * What SIPp 3.6.1 needs (src/prepare_pcap.c, send_packets.c): link type Ethernet (or Linux SLL), every
 * record's captured length equal to its wire length, IPv4 or IPv6 then UDP. It replays each UDP payload
 * as is (our RTP header, sequence numbers, timestamps and SSRC go out unchanged), from the `-mp` port to
 * the port in the peer's SDP, shifting ports by (record's UDP dst port - lowest dst port in the file),
 * and spaces the packets by the capture timestamps. So loss and jitter go into the file: a dropped
 * packet leaves a sequence gap, and a jittered one is captured late.
 *
 * RFC 4733 events are laid on the same timeline (same SSRC and sequence space): while an event plays,
 * the audio packets of those 20 ms slots are not sent, the way a real endpoint switches to events.
 */
import { writeFile } from 'node:fs/promises';
import { mulawEncode } from '../../../src/media/g711.ts';
import { readWav, toMono, type WavAudio } from '../../../src/media/wav.ts';

/** One telephone-event (a key press) in the stream. */
export interface RtpPcapEvent {
  /** '0'-'9', '*', '#', 'A'-'D', or an event code 0..255. */
  readonly digit: string | number;
  /** When the event starts, from the start of the stream; rounded down to a packet slot. */
  readonly startMs: number;
  /** How long the tone lasts (the duration field of the end packets); rounded up to whole packets. */
  readonly durationMs: number;
  /** Power level as -dBm0 (0..63). Default 10. */
  readonly volume?: number;
}

/** What to put in the pcap. Every field but `payloads`/`events` has a default. */
export interface RtpPcapOptions {
  /** Encoded audio, one payload per packet, in order. */
  readonly payloads?: readonly Uint8Array[];
  /** Payload type of the audio. Default 0 (PCMU). */
  readonly payloadType?: number;
  /** Packet interval. Default 20. */
  readonly ptimeMs?: number;
  /** RTP clock rate (8000 for PCMU, PCMA, G.722 and telephone-event). Default 8000. */
  readonly clockRate?: number;
  readonly ssrc?: number;
  readonly initialSequence?: number;
  readonly initialTimestamp?: number;
  readonly srcIp?: string;
  readonly dstIp?: string;
  readonly srcPort?: number;
  readonly dstPort?: number;
  /** RFC 4733 events laid onto the stream. */
  readonly events?: readonly RtpPcapEvent[];
  /** Payload type of telephone-event. Default 101. */
  readonly eventPayloadType?: number;
  /** How many end packets (E bit) each event sends. Default 3 (RFC 4733 §2.5.1.4). */
  readonly endPackets?: number;
  /** Capture time of the first packet, microseconds since the epoch. Fixed default for reproducible files. */
  readonly startTimeUs?: number;
  /** Return true to leave packet `index` (in sending order) out: network loss. Its sequence number is used up. */
  readonly drop?: (index: number) => boolean;
  /** Extra delay in microseconds for packet `index`: network jitter (SIPp sends in file order). */
  readonly jitterUs?: (index: number) => number;
}

/** A summary of what was written. */
export interface RtpPcapInfo {
  readonly packets: number;
  readonly audioPackets: number;
  readonly eventPackets: number;
  /** Time from the first to the last record plus one packet interval. */
  readonly durationMs: number;
}

const DIGITS = '0123456789*#ABCD';
const PCAP_MAGIC = 0xa1b2c3d4;
const LINKTYPE_ETHERNET = 1;
const ETH = 14;
const IP = 20;
const UDP = 8;
const RTP = 12;

function eventCode(d: string | number): number {
  if (typeof d === 'number') {
    if (!Number.isInteger(d) || d < 0 || d > 255) throw new Error(`event code ${d} out of 0..255`);
    return d;
  }
  const i = d.length === 1 ? DIGITS.indexOf(d.toUpperCase()) : -1;
  if (i < 0) throw new Error(`'${d}' is not a DTMF digit`);
  return i;
}

function ipv4(s: string): number[] {
  const parts = s.split('.').map(Number);
  if (parts.length !== 4 || parts.some((p) => !Number.isInteger(p) || p < 0 || p > 255)) throw new Error(`bad IPv4 address ${s}`);
  return parts;
}

function onesComplementSum(bytes: Uint8Array, start: number, end: number, init = 0): number {
  let sum = init;
  for (let i = start; i + 1 < end; i += 2) sum += ((bytes[i] as number) << 8) | (bytes[i + 1] as number);
  if ((end - start) & 1) sum += (bytes[end - 1] as number) << 8;
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return sum;
}

interface Packet {
  readonly timeUs: number;
  readonly marker: boolean;
  readonly payloadType: number;
  readonly timestamp: number;
  readonly payload: Uint8Array;
}

/** Lay audio and events onto slots of one ptime each. */
function schedule(opts: RtpPcapOptions): { packets: Packet[]; audio: number; events: number } {
  const ptimeMs = opts.ptimeMs ?? 20;
  const clockRate = opts.clockRate ?? 8000;
  if (!(ptimeMs > 0)) throw new Error('ptimeMs must be positive');
  const samplesPerPacket = Math.round((clockRate * ptimeMs) / 1000);
  const payloads = opts.payloads ?? [];
  const endPackets = opts.endPackets ?? 3;
  const ts0 = opts.initialTimestamp ?? 0;
  const t0 = opts.startTimeUs ?? 1_700_000_000_000_000;
  const byslot = new Map<number, Packet>();
  let events = 0;
  const sorted = [...(opts.events ?? [])].sort((a, b) => a.startMs - b.startMs);
  let lastEventSlot = -1;
  for (const ev of sorted) {
    const first = Math.floor(ev.startMs / ptimeMs);
    if (first <= lastEventSlot) throw new Error(`event at ${ev.startMs} ms overlaps the previous one`);
    const toneSlots = Math.max(1, Math.ceil(ev.durationMs / ptimeMs));
    const code = eventCode(ev.digit);
    const volume = ev.volume ?? 10;
    if (!Number.isInteger(volume) || volume < 0 || volume > 63) throw new Error(`volume ${volume} out of 0..63`);
    const evTs = (ts0 + first * samplesPerPacket) >>> 0;
    for (let k = 0; k < toneSlots + endPackets - 1; k++) {
      const end = k >= toneSlots - 1;
      const duration = Math.min(0xffff, Math.min(k + 1, toneSlots) * samplesPerPacket);
      const payload = new Uint8Array([code, (end ? 0x80 : 0) | volume, duration >> 8, duration & 0xff]);
      // One RTP timestamp for the whole event (RFC 4733 §2.5.1.2); the marker starts it.
      byslot.set(first + k, { timeUs: 0, marker: k === 0, payloadType: opts.eventPayloadType ?? 101, timestamp: evTs, payload });
      events++;
    }
    lastEventSlot = first + toneSlots + endPackets - 2;
  }
  let audio = 0;
  let audioStarted = false;
  const lastSlot = Math.max(payloads.length - 1, lastEventSlot);
  const packets: Packet[] = [];
  for (let slot = 0; slot <= lastSlot; slot++) {
    const timeUs = t0 + Math.round(slot * ptimeMs * 1000);
    const ev = byslot.get(slot);
    if (ev !== undefined) {
      packets.push({ ...ev, timeUs });
      continue;
    }
    const payload = payloads[slot];
    if (payload === undefined) continue;
    const timestamp = (ts0 + slot * samplesPerPacket) >>> 0;
    // Marker on the first audio packet, and on the first after an event (a talkspurt restarts).
    const prev = packets[packets.length - 1];
    const marker = !audioStarted || (prev !== undefined && prev.payloadType !== (opts.payloadType ?? 0));
    audioStarted = true;
    packets.push({ timeUs, marker, payloadType: opts.payloadType ?? 0, timestamp, payload });
    audio++;
  }
  return { packets, audio, events };
}

/**
 * Build the pcap file in memory.
 * @throws Error on an invalid option (digit, address, overlapping events).
 */
export function buildRtpPcap(opts: RtpPcapOptions): { bytes: Uint8Array; info: RtpPcapInfo } {
  const { packets, audio, events } = schedule(opts);
  const src = ipv4(opts.srcIp ?? '127.0.0.1');
  const dst = ipv4(opts.dstIp ?? '127.0.0.1');
  const srcPort = opts.srcPort ?? 6000;
  const dstPort = opts.dstPort ?? 6000;
  const ssrc = (opts.ssrc ?? 0x43a11e00) >>> 0;
  let seq = (opts.initialSequence ?? 1) & 0xffff;
  const records: Array<{ timeUs: number; frame: Uint8Array }> = [];
  packets.forEach((p, index) => {
    const mySeq = seq;
    seq = (seq + 1) & 0xffff;
    if (opts.drop?.(index) === true) return;
    const udpLen = UDP + RTP + p.payload.length;
    const frame = new Uint8Array(ETH + IP + udpLen);
    const v = new DataView(frame.buffer);
    // Ethernet: locally administered MACs; type IPv4.
    frame.set([0x02, 0, 0, 0, 0, 0x02, 0x02, 0, 0, 0, 0, 0x01], 0);
    v.setUint16(12, 0x0800);
    // IPv4 header, DF, TTL 64, UDP, DSCP EF as media usually carries.
    v.setUint8(ETH, 0x45);
    v.setUint8(ETH + 1, 0xb8);
    v.setUint16(ETH + 2, IP + udpLen);
    v.setUint16(ETH + 4, index & 0xffff);
    v.setUint16(ETH + 6, 0x4000);
    v.setUint8(ETH + 8, 64);
    v.setUint8(ETH + 9, 17);
    frame.set(src, ETH + 12);
    frame.set(dst, ETH + 16);
    v.setUint16(ETH + 10, ~onesComplementSum(frame, ETH, ETH + IP) & 0xffff);
    const u = ETH + IP;
    v.setUint16(u, srcPort);
    v.setUint16(u + 2, dstPort);
    v.setUint16(u + 4, udpLen);
    const r = u + UDP;
    v.setUint8(r, 0x80);
    v.setUint8(r + 1, (p.marker ? 0x80 : 0) | (p.payloadType & 0x7f));
    v.setUint16(r + 2, mySeq);
    v.setUint32(r + 4, p.timestamp);
    v.setUint32(r + 8, ssrc);
    frame.set(p.payload, r + RTP);
    // UDP checksum over the pseudo-header, so tshark shows the records as valid.
    let sum = onesComplementSum(frame, ETH + 12, ETH + 20);
    sum = onesComplementSum(frame, u, u + udpLen, sum + 17 + udpLen);
    while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
    const check = ~sum & 0xffff;
    v.setUint16(u + 6, check === 0 ? 0xffff : check);
    records.push({ timeUs: p.timeUs + Math.round(opts.jitterUs?.(index) ?? 0), frame });
  });
  const size = 24 + records.reduce((n, rec) => n + 16 + rec.frame.length, 0);
  const bytes = new Uint8Array(size);
  const v = new DataView(bytes.buffer);
  v.setUint32(0, PCAP_MAGIC, true);
  v.setUint16(4, 2, true);
  v.setUint16(6, 4, true);
  v.setUint32(16, 65535, true);
  v.setUint32(20, LINKTYPE_ETHERNET, true);
  let at = 24;
  for (const rec of records) {
    v.setUint32(at, Math.floor(rec.timeUs / 1e6), true);
    v.setUint32(at + 4, rec.timeUs % 1e6, true);
    // Captured length equals wire length: SIPp rejects truncated records.
    v.setUint32(at + 8, rec.frame.length, true);
    v.setUint32(at + 12, rec.frame.length, true);
    bytes.set(rec.frame, at + 16);
    at += 16 + rec.frame.length;
  }
  const ptimeMs = opts.ptimeMs ?? 20;
  const firstUs = records[0]?.timeUs ?? 0;
  const lastUs = records[records.length - 1]?.timeUs ?? 0;
  const durationMs = records.length === 0 ? 0 : (lastUs - firstUs) / 1000 + ptimeMs;
  return { bytes, info: { packets: records.length, audioPackets: audio, eventPackets: events, durationMs } };
}

/**
 * Merge classic pcap files built by `buildRtpPcap` (same link type) into one, records ordered by capture time
 * (stable): several streams on one timeline, e.g. a second stream with another SSRC or numbering after the first,
 * or duplicates and late copies of some packets as a separate file shifted in time.
 * @throws Error when a file is not a little-endian classic pcap.
 */
export function mergeRtpPcaps(files: readonly Uint8Array[]): Uint8Array {
  const records: Array<{ timeUs: number; order: number; bytes: Uint8Array }> = [];
  let header: Uint8Array | undefined;
  for (const f of files) {
    const v = new DataView(f.buffer, f.byteOffset, f.byteLength);
    if (f.length < 24 || v.getUint32(0, true) !== PCAP_MAGIC) throw new Error('not a little-endian classic pcap');
    header ??= f.subarray(0, 24);
    let at = 24;
    while (at + 16 <= f.length) {
      const len = v.getUint32(at + 8, true);
      const timeUs = v.getUint32(at, true) * 1e6 + v.getUint32(at + 4, true);
      records.push({ timeUs, order: records.length, bytes: f.subarray(at, at + 16 + len) });
      at += 16 + len;
    }
  }
  records.sort((a, b) => a.timeUs - b.timeUs || a.order - b.order);
  const out = new Uint8Array(24 + records.reduce((n, r) => n + r.bytes.length, 0));
  out.set(header ?? buildRtpPcap({}).bytes.subarray(0, 24), 0);
  let at = 24;
  for (const r of records) {
    out.set(r.bytes, at);
    at += r.bytes.length;
  }
  return out;
}

/** Build the pcap and write it to `file`. */
export async function writeRtpPcap(opts: RtpPcapOptions, file: string): Promise<RtpPcapInfo> {
  const { bytes, info } = buildRtpPcap(opts);
  await writeFile(file, bytes);
  return info;
}

/**
 * Mu-law payloads of one packet each from 8 kHz audio (a WAV file's bytes or decoded audio); stereo is
 * mixed down, and the last packet is padded with silence.
 * @throws Error when the audio is not 8 kHz (resample it first; the RTP clock of PCMU is fixed).
 */
export function pcmuPayloadsFromWav(wav: Uint8Array | WavAudio, ptimeMs = 20): Uint8Array[] {
  const audio = wav instanceof Uint8Array ? readWav(wav) : wav;
  if (audio.sampleRate !== 8000) throw new Error(`PCMU needs 8000 Hz audio, got ${audio.sampleRate} Hz`);
  const mono = toMono(audio.samples, audio.channels);
  const n = Math.round((8000 * ptimeMs) / 1000);
  const out: Uint8Array[] = [];
  for (let at = 0; at < mono.length; at += n) {
    const frame = new Int16Array(n);
    frame.set(mono.subarray(at, Math.min(at + n, mono.length)));
    out.push(mulawEncode(frame));
  }
  return out;
}
